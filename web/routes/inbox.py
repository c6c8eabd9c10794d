"""The caller's to-do list (/inbox, /inbox.csv) and the menu's live count of it (/inbox/count).

The list is `api.queries.inbox`, the same as `GET /tasks`: what waits on the caller, soonest
deadline first, a page at a time (the CSV has every task). Each row says in words what to do and
how many working days are left, or that it is overdue (逾期), and links to where the work is done.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import Response

from api.deps import ServicesDep, SessionDep, actor_of
from api.queries import inbox, inbox_count, inbox_page
from api.schemas import TaskCursor, TaskOut
from domain.clock import Calendar
from models.tables import UserRow
from web.export import csv_response
from web.i18n import Language
from web.labels import LEVEL, N_
from web.pages import Caller, page, page_router
from web.render import caller_language, render

router = page_router()
PAGE_SIZE = 50
TITLES = {"reviewer": N_("Department inbox")}
INTROS = {
    "owner": N_("Steps waiting for your application, and answers of departments to judge."),
    "agent": N_("Steps waiting for an application, on behalf of the enterprises you shepherd, and problems you hold."),
    "reviewer": N_("Your department's steps in review, commitments to verify and bad ratings to answer."),
}
# What each task asks, in words (api.schemas.TaskTodo).
TODO = {
    "submit": N_("Submit the application"),
    "resubmit": N_("Correct and resubmit"),
    "apply_again": N_("Apply again, or withdraw the project"),
    "reapply_standard": N_("Apply again in standard review: the commitment was revoked"),
    "decide": N_("Review and decide"),
    "verify": N_("Verify the commitment"),
    "answer_rectification": N_("Answer the bad rating"),
    "judge_answer": N_("Judge the department's answer"),
    "problem": N_("Resolve the problem, or raise it"),
}


@dataclass
class Row:
    """One task as the list shows it."""

    task: TaskOut
    href: str  # where the work is done
    overdue: bool
    due: str  # the deadline in words: working days left, or overdue by how many
    todo: str
    step: str
    detail: str  # a problem's own words, its level


def where(task: TaskOut) -> str:
    """A step's own page for a step or a verification; the project page at the item otherwise."""
    if task.kind in ("step", "verification") and task.step:
        return f"/p/{task.project_code}/steps/{task.step}"
    return f"/p/{task.project_code}#{task.id}"


def due_words(lang: Language, calendar: Calendar, deadline: datetime | None, now: datetime) -> tuple[bool, str]:
    """Whether the deadline has passed, and the working days left or overdue, in words."""
    if deadline is None:
        return False, lang.gettext(N_("No deadline"))
    if deadline <= now:
        days = round(calendar.working_days_between(deadline, now))
        if days < 1:
            return True, lang.gettext(N_("Overdue: less than a working day"))
        return True, lang.ngettext("Overdue by %(n)d working day", "Overdue by %(n)d working days", days) % {"n": days}
    days = round(calendar.working_days_between(now, deadline))
    if days < 1:
        return False, lang.gettext(N_("Less than a working day left"))
    return False, lang.ngettext("%(n)d working day left", "%(n)d working days left", days) % {"n": days}


def detail(lang: Language, task: TaskOut) -> str:
    if task.kind != "problem":
        return ""
    level = task.status.removeprefix("level ")
    named = LEVEL.get(int(level)) if level.isdigit() else None
    return f"{lang.gettext(named)} · {task.summary}" if named else task.summary


async def rows(request: Request, svc: ServicesDep, db: SessionDep, tasks: list[TaskOut]) -> list[Row]:
    lang = caller_language(request)
    calendar = await svc.calendar.calendar(db)
    now = datetime.now(UTC)
    found = []
    for task in tasks:
        overdue, due = due_words(lang, calendar, task.deadline, now)
        step = lang.words(task.step_name) if task.step_name else ""
        todo = lang.gettext(TODO[task.todo])
        found.append(Row(task, where(task), overdue, due, todo, step, detail(lang, task)))
    return found


@router.get("/inbox")
async def inbox_list(
    request: Request, user: Caller, svc: ServicesDep, db: SessionDep, cursor: TaskCursor = None
) -> Response:
    tasks, next_cursor = await inbox_page(db, actor_of(user), PAGE_SIZE, cursor)
    return page(
        request,
        "inbox.html",
        title=TITLES.get(user.role, N_("To do")),
        intro=INTROS.get(user.role, N_("The problems held at your level of the ladder.")),
        rows=await rows(request, svc, db, tasks),
        total=await todo_count(request, db, user),
        next_url=f"/inbox?{urlencode({'cursor': next_cursor})}" if next_cursor else None,
        first_url="/inbox" if cursor else None,
    )


async def todo_count(request: Request, db: SessionDep, user: UserRow) -> int:
    """The whole list's count: the menu's (web/pages.py), counted once per page."""
    counted = getattr(request.state, "todo_count", None)
    return counted if counted is not None else await inbox_count(db, actor_of(user))


@router.get("/inbox.csv")
async def inbox_csv(request: Request, user: Caller, svc: ServicesDep, db: SessionDep) -> Response:
    lang = caller_language(request)
    _ = lang.gettext
    tz = svc.settings.timezone
    header = [_("Deadline"), _("Time left"), _("Project code"), _("Project"), _("Step"), _("What to do"), _("Details")]
    table = [
        [
            lang.datetime(row.task.deadline, tz) if row.task.deadline else "",
            row.due,
            row.task.project_code,
            row.task.project_name,
            row.step,
            row.todo,
            row.detail,
        ]
        for row in await rows(request, svc, db, await inbox(db, actor_of(user)))
    ]
    today = datetime.now(ZoneInfo(tz)).date()
    return csv_response(_(TITLES.get(user.role, N_("To do"))), today, header, table)


@router.get("/inbox/count")
async def menu_count(request: Request, user: Caller, db: SessionDep) -> Response:
    """The menu's count of the to-do list, swapped in place by htmx every 15 seconds."""
    return render(request, "inbox_count.html", count=await inbox_count(db, actor_of(user)))
