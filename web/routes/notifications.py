"""The caller's notifications (/my/notifications), the bell's live count of the unread ones, and
marking them read: the same queries and commands as `GET /notifications`,
`POST /notifications/{id}/read` and `POST /notifications/read-all` (api/notifications.py).

The JSON API keeps the paths /notifications and /me; the pages of the caller's own things live
under /my.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, Request
from fastapi.responses import Response

from api import notifications
from api.deps import SessionDep
from api.notifications import CURSOR, MAX_ID
from web.labels import N_
from web.pages import Caller, FormChecked, local_path, page, page_router, see_other
from web.render import render

router = page_router()
PAGE_SIZE = 20
HOME = "/my/notifications"
NotificationId = Annotated[int, Path(ge=1, le=MAX_ID)]
DONE = {"read": N_("Marked as read."), "read-all": N_("Every notification is marked as read.")}


@router.get("/my/notifications")
async def notifications_page(
    request: Request,
    user: Caller,
    db: SessionDep,
    cursor: Annotated[str | None, Query(pattern=CURSOR)] = None,
    unread: bool = False,
    done: str = "",
) -> Response:
    """Newest first, PAGE_SIZE a page; the unread ones marked in words."""
    found = await notifications.notification_page(db, user.username, PAGE_SIZE, cursor, unread)
    request.state.unread = found.unread_count  # the bell agrees with the page
    return page(
        request,
        "notifications.html",
        title=N_("Notifications"),
        found=found,
        unread_only=unread,
        first_page=cursor is None,
        here=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        flash=DONE.get(done),
    )


@router.get("/my/notifications/count")
async def bell(request: Request, user: Caller, db: SessionDep) -> Response:
    """The bell, swapped in place by htmx every 15 seconds."""
    return render(request, "bell.html", unread=await notifications.unread_count(db, user.username))


def back_to(target: str, done: str) -> Response:
    """The list the form was sent from (a path of this site only), told what was done."""
    path = local_path(target) if target.startswith(HOME) else ""
    path = (path or HOME).split("#")[0]
    return see_other(f"{path}{'&' if '?' in path else '?'}done={done}" if "done=" not in path else path)


@router.post("/my/notifications/read-all", dependencies=[FormChecked])
async def read_all(request: Request, user: Caller, db: SessionDep) -> Response:
    await notifications.read_all(db, user.username)
    return see_other(f"{HOME}?done=read-all")


@router.post("/my/notifications/{notification_id}/read", dependencies=[FormChecked])
async def read_one(request: Request, notification_id: NotificationId, user: Caller, db: SessionDep) -> Response:
    """Mark one read (someone else's: the 404 page); back to the page of the list it was on."""
    await notifications.read_one(db, user.username, notification_id)
    target = (await request.form()).get("next")
    return back_to(target if isinstance(target, str) else "", "read")
