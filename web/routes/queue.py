"""The problems queue (/queue): problems on the escalation ladder, oldest first, open ones unless
asked otherwise, a page at a time. Each shows its project, step, level and holder, how long it has
waited, when it climbs by itself (at level 4: the next reminder), and the resolve and raise forms
the project's own rules accept from this caller; they post to the project page's action route,
which comes back here after a success."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlmodel import col, select

from api.deps import ServicesDep, SessionDep, actor_of
from api.queries import display_names, list_problems, problems_page
from api.schemas import ProblemCursor, ProblemOut
from domain import project as rules
from domain.access import LADDER, Actor, require_role
from domain.clock import Calendar
from models.tables import ProjectRow
from web import labels
from web.actions import offer
from web.export import csv_response
from web.i18n import Language
from web.labels import N_
from web.pages import Caller, page, page_router
from web.render import caller_language

router = page_router()


async def may_read_statistics(user: Caller) -> None:
    """Section chiefs, the office and leaders (the 403 page for anyone else)."""
    require_role(actor_of(user), "read_statistics")


router.dependencies.append(Depends(may_read_statistics))
PAGE_SIZE = 50
DONE = {"resolve": N_("The problem was resolved."), "raise": N_("The problem went up one level.")}


@dataclass
class Filters:
    """The queue's filters, from the query: a level (empty: all) and a status (open unless asked)."""

    level: Literal["", "1", "2", "3", "4"] = ""
    status: Literal["open", "resolved", "all"] = "open"

    @property
    def query(self) -> tuple[int | None, str | None]:
        """The level and status as `list_problems` takes them (None: any)."""
        return (int(self.level) if self.level else None, None if self.status == "all" else self.status)


FiltersDep = Annotated[Filters, Depends()]


@dataclass
class QueueItem:
    """One problem as the queue shows it."""

    problem: ProblemOut
    project_name: str
    step: rules.Step | None
    holder: str
    age: str
    due: datetime | None
    until: str
    can: list[str] = field(default_factory=list)  # raise, resolve: what the rules accept from the caller now


def span_words(lang: Language, calendar: Calendar, start: datetime, end: datetime) -> str:
    """How long from `start` to `end` as an office reads it: hours within a day, else working days."""
    seconds = (end - start).total_seconds()
    if seconds < 3600:
        return lang.gettext("less than an hour")
    if seconds < 24 * 3600:
        hours = int(seconds // 3600)
        return lang.ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours}
    days = int(calendar.working_days_between(start, end))
    if days < 1:
        return lang.gettext("less than a working day")
    return lang.ngettext("%(n)d working day", "%(n)d working days", days) % {"n": days}


def holder_words(lang: Language, problem: ProblemOut, deputy: str) -> str:
    """Who holds the problem: the project's deputy (by name), the stage's section chief, the office
    or the leaders."""
    role = lang.gettext(labels.ROLE[LADDER[problem.level]])
    if problem.level == 1:
        return f"{role} · {deputy}"
    if problem.level == 2:
        return f"{role} · {lang.gettext(labels.STAGE[problem.stage])}"
    return role


async def queue_items(
    request: Request, svc: ServicesDep, db: SessionDep, actor: Actor | None, problems: Sequence[ProblemOut]
) -> list[QueueItem]:
    """The problems with what the queue shows of each; the actions offered only when `actor` is given."""
    codes = {p.project_code for p in problems}
    rows = (await db.exec(select(ProjectRow.code, ProjectRow.state).where(col(ProjectRow.code).in_(codes)))).all()
    projects = {code: rules.Project.model_validate(state) for code, state in rows}
    offers = {code: offer(project, actor, False) for code, project in projects.items()} if actor else {}
    people = await display_names(db, {project.agent for project in projects.values()})
    lang, calendar, now = caller_language(request), await svc.calendar.calendar(db), datetime.now(UTC)
    items = []
    for problem in problems:
        project = projects[problem.project_code]
        ended = problem.resolved_at or now
        due = problem.due_at if problem.status == "open" else None
        until = "" if due is None else span_words(lang, calendar, now, due) if due > now else lang.gettext("now")
        items.append(
            QueueItem(
                problem=problem,
                project_name=project.name,
                step=next((s for s in project.steps if s.key == problem.step), None),
                holder=holder_words(lang, problem, lang.words(people.get(project.agent, project.agent))),
                age=span_words(lang, calendar, problem.opened_at, ended),
                due=due,
                until=until,
                can=offers[problem.project_code].problems.get(problem.id, []) if actor else [],
            )
        )
    return items


def queue_url(path: str = "/queue", **params: str | None) -> str:
    """The queue (or its CSV) with these filters; empty ones left out."""
    given = {k: v for k, v in params.items() if v}
    return path + ("?" + urlencode(given) if given else "")


@router.get("/queue")
async def queue(
    request: Request,
    user: Caller,
    svc: ServicesDep,
    db: SessionDep,
    filters: FiltersDep,
    cursor: ProblemCursor = None,
    done: str | None = None,
) -> Response:
    found, next_cursor = await problems_page(db, actor_of(user), *filters.query, PAGE_SIZE, cursor)
    level, status = filters.level, filters.status
    items = await queue_items(request, svc, db, actor_of(user), found)
    return page(
        request,
        "queue.html",
        title=N_("Problems"),
        flash=DONE.get(done or ""),
        items=items,
        level=level,
        status=status,
        back={kind: queue_url(level=level, status=status, cursor=cursor, done=kind) for kind in DONE},
        next_url=queue_url(level=level, status=status, cursor=next_cursor) if next_cursor else None,
        first_url=queue_url(level=level, status=status) if cursor else None,
        csv_url=queue_url("/queue.csv", level=level, status=status),
    )


@router.get("/queue.csv")
async def queue_csv(
    request: Request,
    user: Caller,
    svc: ServicesDep,
    db: SessionDep,
    filters: FiltersDep,
) -> Response:
    """Every problem the filters select (not only one page)."""
    found = await list_problems(db, actor_of(user), *filters.query)
    items = await queue_items(request, svc, db, None, found)
    lang, tz = caller_language(request), svc.settings.timezone
    _ = lang.gettext
    header = (
        _("Problem"),
        _("Project code"),
        _("Project"),
        _("Step"),
        _("Level"),
        _("Status"),
        _("Held by"),
        _("Raised"),
        _("Waiting for"),
        _("Moves up (or next reminder) at"),
        _("Origin"),
        _("What is the problem?"),
        _("Resolution"),
    )
    rows = [
        (
            item.problem.id,
            item.problem.project_code,
            item.project_name,
            lang.name(item.step) if item.step else "",
            _(labels.LEVEL[item.problem.level]),
            _(labels.PROBLEM_STATUS[item.problem.status]),
            item.holder,
            lang.datetime(item.problem.opened_at, tz),
            item.age,
            lang.datetime(item.due, tz) if item.due else "",
            _(labels.ORIGIN[item.problem.origin]),
            item.problem.summary,
            item.problem.resolution,
        )
        for item in items
    ]
    today = datetime.now(ZoneInfo(tz)).date()
    return csv_response(_("problems"), today, header, rows)
