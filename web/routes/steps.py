"""The step page (/p/{code}/steps/{key}), mainly for reviewers: the step's details, what was
submitted, its own timeline and the forms the caller may use on it now.

The forms are the project page's (web/templates/actions.html) and post to the same
/p/{code}/act route, which brings the caller back here (`next`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import Request
from fastapi.responses import Response

from api.deps import ServicesDep, SessionDep, actor_of
from api.queries import read_project
from web.actions import offer
from web.pages import Caller, PageCode, page, page_router
from web.uploads import documents_context

router = page_router()


@router.get("/p/{code}/steps/{key}")
async def step_page(
    request: Request, code: PageCode, key: str, user: Caller, svc: ServicesDep, db: SessionDep, done: str = ""
) -> Response:
    actor = actor_of(user)
    reading = await read_project(db, actor, code, await svc.calendar.calendar(db), datetime.now(UTC), step=key)
    reading.project.step(key)  # a step the project does not have is not found
    # After a form of this page: the caller's latest event on the step says what was done.
    mine = [e for e in reading.events if e.step == key and e.actor == user.username]
    return page(
        request,
        "step.html",
        **vars(reading) | {"events": list(reversed(reading.events))},
        **await documents_context(db, code, svc.settings),
        offer=offer(reading.project, actor, reading.revocation_elsewhere),
        step_key=key,
        next_page=request.url.path,
        done=mine[-1].action if done and mine else "",
    )
