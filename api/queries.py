"""Read-side queries on the read model, always scoped to what the caller may see (models/visibility.py)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from types import SimpleNamespace
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Executable,
    Integer,
    Result,
    Select,
    String,
    bindparam,
    case,
    cast,
    func,
    literal,
    null,
    tuple_,
    union,
    union_all,
)
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import SQLModel, col
from sqlmodel.ext.asyncio.session import AsyncSession

from api.errors import ApiError, not_found
from api.schemas import (
    PROBLEM_CURSOR,
    TASK_CURSOR,
    EventOut,
    ProblemOut,
    ProjectOut,
    ProjectSummary,
    RectificationOut,
    SectionOut,
    StageOut,
    TaskOut,
    TaskTodo,
)
from domain.access import LEVEL_OF, Actor
from domain.catalog import STAGE_ORDER
from domain.clock import Calendar, used_days_at
from domain.codes import code_head
from domain.project import Project, StepView, step_view
from domain.status import DEPARTMENT_HOLDS, LIVE, OWNER_HOLDS
from models import totals
from models.tables import NO_DEADLINE, SUMMARY, EventRow, ProblemRow, ProjectRow, RectificationRow, StepRow, UserRow
from models.types import UTCDateTime
from models.visibility import held_by, visible_to

# Statements are built once and kept, the request's values bound when they run (`CODE` and the
# like), the caller's scope written in (one statement per caller, as `_inbox_statement`): building
# a statement and its cache key cost more of a request than running it (about 0.25 ms each, and
# twice that through the ORM's session, for a query of a millisecond).
CODE = bindparam("code", type_=String())


async def visible_project(db: AsyncSession, actor: Actor, code: str) -> None:
    """404 unless the project exists and the caller may see it: the same answer for both."""
    if (await _core(db, _visible_code_statement(_fields(actor)), {"code": code})).first() is None:
        raise not_found(f"project {code}")


@lru_cache(maxsize=512)
def _visible_code_statement(actor: tuple[tuple[str, Any], ...]) -> Select[Any]:
    return sa_select(col(ProjectRow.code)).where(col(ProjectRow.code) == CODE, _visible(actor))


def _visible(actor: tuple[tuple[str, Any], ...]) -> ColumnElement[bool]:
    return visible_to(Actor.model_validate(dict(actor)))


async def owner_revocation_open(db: AsyncSession, code: str) -> bool:
    """Whether the project's owner has a revoked commitment awaiting re-application, on any project."""
    return (await _core(db, REVOCATION_OPEN, {"code": code})).first() is not None


REVOCATION_OPEN = (
    sa_select(col(ProjectRow.code))
    .where(
        col(ProjectRow.owner_org)
        == sa_select(col(ProjectRow.owner_org)).where(col(ProjectRow.code) == CODE).scalar_subquery(),
        col(ProjectRow.revocations_open) > 0,
    )
    .limit(1)
)


async def _visible_row(db: AsyncSession, actor: Actor, code: str) -> Any:
    """The project's summary columns and its state (plain columns: loading a ProjectRow cost more)."""
    row = (await _core(db, _visible_row_statement(_fields(actor)), {"code": code})).first()
    if row is None:
        raise not_found(f"project {code}")
    return row


@lru_cache(maxsize=512)
def _visible_row_statement(actor: tuple[tuple[str, Any], ...]) -> Select[Any]:
    return sa_select(*SUMMARY_COLUMNS, col(ProjectRow.state)).where(col(ProjectRow.code) == CODE, _visible(actor))


async def project_state(db: AsyncSession, actor: Actor, code: str) -> Project:
    """The project as its workflow last published it (404 unless visible)."""
    return Project.model_validate((await _visible_row(db, actor, code)).state)


def step_views(project: Project, calendar: Calendar, now: datetime) -> dict[str, StepView]:
    """Every step as shown at `now`, by key: its clock counted on the calendar up to now."""
    return {s.key: step_view(s, used_days_at(calendar, s.clock, now)) for s in project.steps}


async def project_view(db: AsyncSession, actor: Actor, code: str, calendar: Calendar, now: datetime) -> ProjectOut:
    """The full project view from its published state (404 unless visible)."""
    row = await _visible_row(db, actor, code)
    project = Project.model_validate(row.state)
    views = step_views(project, calendar, now)
    stages = [
        StageOut(stage=stage.value, steps=[views[s.key] for s in project.steps if s.stage == stage])
        for stage in STAGE_ORDER
        if any(s.stage == stage for s in project.steps)
    ]
    return ProjectOut(
        **summary_out(row).model_dump(),
        region_code=project.region_code,
        investment_wan=project.investment_wan,
        version=project.version,
        stages=stages,
        sections=[SectionOut(id=s.id, name=s.name, accepted_at=s.accepted_at) for s in project.sections if s.id],
        open_problems=[
            problem_out(p.model_dump() | {"code": project.code, "stage": p.stage.value, "due_at": p.clock.deadline})
            for p in project.problems
            if p.status == "open"
        ],
        rectifications=[
            RectificationOut(
                **r.model_dump(include=set(RectificationOut.model_fields) - {"due_at"}), due_at=r.clock.deadline
            )
            for r in project.rectifications
        ],
    )


@dataclass
class ProjectReading:
    """A project as a page shows it: its published state, each step as shown now, the timeline, and
    the names of the people and the enterprise in it."""

    project: Project
    views: dict[str, StepView]
    events: list[EventOut]
    people: dict[str, str]  # display names by username
    organisations: dict[str, str]  # enterprise names by credit code
    revocation_elsewhere: bool  # the owner has a revoked commitment unresolved (on any project)


async def read_project(
    db: AsyncSession,
    actor: Actor,
    code: str,
    calendar: Calendar,
    now: datetime,
    latest_events: int | None = None,
    step: str | None = None,
) -> ProjectReading:
    """Everything a page about one project reads (404 unless visible); of the timeline, all or its
    `latest_events` events, of one `step` or all."""
    project = await project_state(db, actor, code)
    events = await project_events(db, code, latest_events, step)
    return ProjectReading(
        project=project,
        views=step_views(project, calendar, now),
        events=events,
        people=await display_names(db, {project.agent, *(e.actor for e in events)}),
        organisations=await organisation_names(db, [project.owner_org]),
        revocation_elsewhere=await owner_revocation_open(db, code),
    )


def problem_out(fields: dict[str, Any]) -> ProblemOut:
    """A problem from a row or a domain dump."""
    return ProblemOut(
        project_code=fields["code"], **{k: fields.get(k) for k in ProblemOut.model_fields if k != "project_code"}
    )


async def _core(db: AsyncSession, stmt: Executable, params: dict[str, Any] | None = None) -> Result[Any]:
    """A statement of columns run on the session's connection: through the session it would also pay
    for the ORM's handling of entities it does not select (about 0.08 ms of a 50-row page's 1.1)."""
    return await (await db.connection()).execute(stmt, params)


async def _plain(db: AsyncSession, stmt: Executable, params: dict[str, Any] | None = None) -> list[SimpleNamespace]:
    """The statement's rows as plain objects: a Row looks a column up by name about twice as slowly
    as a plain attribute is read (a list's page of 50 projects put in words: 0.19 ms from Rows, 0.10
    ms so)."""
    result = await _core(db, stmt, params)
    keys = tuple(result.keys())
    return [SimpleNamespace(**dict(zip(keys, row, strict=True))) for row in result.all()]


def summary_out(row: Any) -> ProjectSummary:
    """One line of a project list, from a row of SUMMARY_COLUMNS (first)."""
    return ProjectSummary(
        code=row.code,
        name=row.name,
        category=row.category,
        status=row.status,
        colour=row.colour,
        stage=row.stage,
        owner=row.owner_org,
        agent=row.agent,
        key_project=row.key_project,
        created_at=row.created_at,
    )


# What a list shows of a project: never its state, which a list does not need (18 to 27 KB a row).
# ix_projects_code_summary holds exactly these (migration 0008).
SUMMARY_COLUMNS = (col(ProjectRow.code), *(getattr(ProjectRow, name) for name in SUMMARY))


def _table_columns(model: type[SQLModel]) -> list[Any]:
    """Every column of a table, to read plain rows (an ORM object a row costs several times more)."""
    return list(model.__table__.columns)  # type: ignore[attr-defined]


async def list_projects(
    db: AsyncSession, actor: Actor, filters: dict[str, str | None], q: str | None, limit: int, cursor: str | None
) -> tuple[list[ProjectSummary], str | None]:
    """Visible projects, filtered, in code order, one page at a time (the cursor is the last code shown).

    `q` is matched anywhere in the name or the code, ignoring case: on PostgreSQL through trigram
    indexes on both (migrations 0007 and 0010), elsewhere by scanning (`_matching`).
    """
    given = tuple(field for field, value in filters.items() if value is not None)
    head = code_head(q) if q else None
    stmt = _list_statement(_fields(actor), given, bool(cursor), "" if not q else "range" if head else "any")
    params = {f"given_{field}": filters[field] for field in given} | {"cursor": cursor, "limit": limit + 1}
    if q:
        params |= {"in_name": f"%{q.lower()}%", "in_code": f"%{q.upper()}%"}
    if head:
        params |= {"head": head, "head_end": head + "Z"}
    rows = await _plain(db, stmt, params)
    page = [summary_out(r) for r in rows[:limit]]
    return page, (page[-1].code if len(rows) > limit else None)


LIMIT = bindparam("limit", type_=Integer())


@lru_cache(maxsize=512)
def _list_statement(
    actor: tuple[tuple[str, Any], ...], given: tuple[str, ...], paged: bool, matching: Literal["", "any", "range"]
) -> Select[Any]:
    """`list_projects`'s statement: the filters `given` (their values bound as `given_<field>`), after
    the `cursor` when `paged`, `q` matched (`_matching`) unless `matching` is empty."""
    stmt = sa_select(*SUMMARY_COLUMNS).where(_visible(actor))
    for field in given:
        stmt = stmt.where(getattr(ProjectRow, field) == bindparam(f"given_{field}"))
    if paged:
        stmt = stmt.where(col(ProjectRow.code) > bindparam("cursor", type_=String()))
    if matching:
        stmt = _matching(stmt, in_range=matching == "range")
    return stmt.order_by(stmt.selected_columns.code).limit(LIMIT)


def _matching(stmt: Select[Any], in_range: bool) -> Select[Any]:
    """The projects of `stmt` that hold `q` in their name (`in_name`, lower case) or their code
    (`in_code`, upper case).

    The head of a code (the year, the region and more, as people type it) is held by a great many
    codes, all in one range of them, and by no name: the codes are then read from that range
    (`head` to `head_end`), in code order, and the names apart, each cut to the page before the two
    are merged. Otherwise the server picks between the trigram indexes and a walk in code order. A
    code holds only digits, hyphens and an upper-case X, so it is matched as stored against `q` in
    upper case.
    """
    in_name = func.lower(ProjectRow.name).like(bindparam("in_name", type_=String()))
    in_code = col(ProjectRow.code).like(bindparam("in_code", type_=String()))
    if not in_range:
        return stmt.where(in_name | in_code)
    # Every code starting with `head` sorts from it and before it followed by a letter.
    head, head_end = bindparam("head", type_=String()), bindparam("head_end", type_=String())
    in_range_of_codes = in_code & (col(ProjectRow.code) >= head) & (col(ProjectRow.code) < head_end)
    each = [
        stmt.where(where).order_by(col(ProjectRow.code)).limit(LIMIT).subquery()
        for where in (in_name, in_range_of_codes)
    ]
    return sa_select(union(*(sa_select(page) for page in each)).subquery("found"))


async def project_events(
    db: AsyncSession, code: str, latest: int | None = None, step: str | None = None
) -> list[EventOut]:
    """The audit timeline, oldest first: all of it or its `latest` events, of one `step` or all."""
    stmt = _events_statement(latest is not None, step is not None)
    rows = await _plain(db, stmt, {"code": code, "latest": latest, "step": step})
    return [EventOut.model_validate(r, from_attributes=True) for r in (rows if latest is None else rows[::-1])]


@cache
def _events_statement(latest: bool, one_step: bool) -> Select[Any]:
    """Oldest first; the latest ones newest first (`project_events` turns them round)."""
    stmt = sa_select(*_table_columns(EventRow)).where(col(EventRow.code) == CODE)
    if one_step:
        stmt = stmt.where(col(EventRow.step) == bindparam("step", type_=String()))
    if latest:
        return stmt.order_by(col(EventRow.seq).desc()).limit(bindparam("latest", type_=Integer()))
    return stmt.order_by(col(EventRow.seq))


async def return_reasons(db: AsyncSession, code: str) -> dict[str, str]:
    """Why each step was last returned or failed its inspection, from the whole timeline."""
    return {
        row.step: str(row.detail.get("comment", "")) for row in await _plain(db, RETURNS, {"code": code}) if row.step
    }


RETURNS = (
    sa_select(col(EventRow.step), col(EventRow.detail))
    .where(col(EventRow.code) == CODE, col(EventRow.action).in_(("returned", "inspection_failed")))
    .order_by(col(EventRow.seq))
)


async def list_problems(
    db: AsyncSession,
    actor: Actor,
    level: int | None,
    status: str | None,
    limit: int | None = None,
    cursor: str | None = None,
) -> list[ProblemOut]:
    """Problems of the projects the caller may see, oldest first; at most `limit` of them, after `cursor`."""
    stmt = _problems_statement(_fields(actor), level is not None, status is not None, bool(cursor), limit is not None)
    params: dict[str, Any] = {"level": level, "status": status, "limit": limit}
    if cursor:
        params["after_opened"], params["after_id"] = read_problem_cursor(cursor)
    return [problem_out(vars(r)) for r in await _plain(db, stmt, params)]


@lru_cache(maxsize=512)
def _problems_statement(
    actor: tuple[tuple[str, Any], ...], by_level: bool, by_status: bool, paged: bool, limited: bool
) -> Select[Any]:
    stmt = sa_select(*_table_columns(ProblemRow)).join(ProjectRow, col(ProjectRow.code) == col(ProblemRow.code))
    stmt = stmt.where(_visible(actor))
    if by_level:
        stmt = stmt.where(col(ProblemRow.level) == bindparam("level"))
    if by_status:
        stmt = stmt.where(col(ProblemRow.status) == bindparam("status"))
    if paged:
        opened, after = bindparam("after_opened", type_=UTCDateTime()), bindparam("after_id", type_=String())
        later = col(ProblemRow.opened_at) > opened
        stmt = stmt.where(later | ((col(ProblemRow.opened_at) == opened) & (col(ProblemRow.id) > after)))
    stmt = stmt.order_by(col(ProblemRow.opened_at), col(ProblemRow.id))
    return stmt.limit(LIMIT) if limited else stmt


async def problems_page(
    db: AsyncSession, actor: Actor, level: int | None, status: str | None, limit: int, cursor: str | None
) -> tuple[list[ProblemOut], str | None]:
    """One page of `list_problems`, and the cursor of the next page (None on the last)."""
    found = await list_problems(db, actor, level, status, limit + 1, cursor)
    page = found[:limit]
    return page, (problem_cursor(page[-1]) if len(found) > limit else None)


def problem_cursor(problem: ProblemOut) -> str:
    """Where a page of problems ends: its last problem's opening instant and id."""
    return f"{_micros(problem.opened_at)}~{problem.id}"


def read_problem_cursor(cursor: str) -> tuple[datetime, str]:
    """The instant and id a problem cursor names; any text matching PROBLEM_CURSOR names them."""
    micros, problem_id = _parts(cursor, PROBLEM_CURSOR)
    return _instant(micros), problem_id


async def owning_project(
    db: AsyncSession, actor: Actor, model: type[ProblemRow | RectificationRow], item_id: str
) -> str:
    """The code of the project a visible problem or rectification belongs to (404 otherwise)."""
    code = (await _core(db, _owning_statement(model, _fields(actor)), {"item_id": item_id})).scalar_one_or_none()
    if code is None:
        raise not_found(f"{model.__tablename__.rstrip('s')} {item_id}")
    return str(code)


@lru_cache(maxsize=512)
def _owning_statement(model: type[ProblemRow | RectificationRow], actor: tuple[tuple[str, Any], ...]) -> Select[Any]:
    return (
        sa_select(col(model.code))
        .join(ProjectRow, col(ProjectRow.code) == col(model.code))
        .where(col(model.id) == bindparam("item_id", type_=String()), _visible(actor))
    )


async def display_names(db: AsyncSession, usernames: Iterable[str]) -> dict[str, str]:
    """The display name of each user that has one, by username."""
    wanted = list(set(usernames))
    if not wanted:
        return {}
    return {r.username: r.display_name for r in await _plain(db, DISPLAY_NAMES, {"wanted": wanted}) if r.display_name}


DISPLAY_NAMES = sa_select(col(UserRow.username), col(UserRow.display_name)).where(
    col(UserRow.username).in_(bindparam("wanted", expanding=True))
)


async def organisation_names(db: AsyncSession, organisations: Iterable[str]) -> dict[str, str]:
    """The name of each organisation (by credit code) as its owners' accounts give it."""
    wanted = list(set(organisations))
    if not wanted:
        return {}
    return {str(r.organisation): str(r.name) for r in await _plain(db, ORGANISATION_NAMES, {"wanted": wanted})}


ORGANISATION_NAMES = (
    sa_select(col(UserRow.organisation), func.min(UserRow.display_name).label("name"))
    .where(
        col(UserRow.organisation).in_(bindparam("wanted", expanding=True)),
        col(UserRow.role) == "owner",
        col(UserRow.display_name) != "",
    )
    .group_by(col(UserRow.organisation))
)


# What the inbox says each waiting step needs: a machine value, and the same in English.
STEP_TODO: dict[str, tuple[TaskTodo, str]] = {
    "awaiting_submission": ("submit", "submit the application"),
    "returned": ("resubmit", "correct and resubmit"),
    "rejected": ("apply_again", "apply again or withdraw"),
    "revoked": ("reapply_standard", "re-apply in standard mode"),
    "in_review": ("decide", "decide"),
    "granted": ("verify", "verify the commitment"),
}


@dataclass(frozen=True)
class TaskSource:
    """One kind of task waiting on the caller: its rows, all kinds with the same columns (kind, code,
    project name, step, step name, id, status, deadline, due, level, score, summary) but for the
    step's name where `named` is false (it is joined to the page, not to every row), and the columns
    they are ordered by: (due, code, step, id), the last ones a kind lacks left out."""

    rows: Select[Any]
    key: tuple[Any, ...]
    named: bool = True


# A task without a deadline sorts after every real one. Written into the SQL rather than bound, so
# that the expression indexes on it (migration 0008) match whatever plan the server caches.
NO_DUE = literal(NO_DEADLINE, UTCDateTime(), literal_execute=True)
# The step a problem or rectification is about. One alias for the process: SQLAlchemy adapts a
# model's columns to an alias once per alias, and a new alias per request made that most of an
# inbox's cost.
ITEM_STEP = aliased(StepRow, name="item_step")


def _task_sources(actor: Actor) -> list[TaskSource]:
    """One source per kind of task waiting on the caller."""
    mine = visible_to(actor)
    live = col(ProjectRow.status).in_(LIVE)
    sources: list[TaskSource] = []
    if actor.role in ("owner", "agent"):
        sources.append(_steps_waiting(mine & col(StepRow.status).in_(OWNER_HOLDS) & live))
    if actor.role == "owner":
        sources.append(_items_waiting(RectificationRow, mine & (col(RectificationRow.status) == "answered")))
    if actor.role == "reviewer":
        # The partial index ix_steps_department_due holds exactly these steps in this order,
        # ix_rectifications_department_due these rectifications (migrations 0007, 0008).
        held = (col(StepRow.department) == actor.department) & col(StepRow.status).in_(DEPARTMENT_HOLDS) & live
        sources.append(_steps_waiting(held))
        department = col(RectificationRow.department) == actor.department
        sources.append(_items_waiting(RectificationRow, department & (col(RectificationRow.status) == "open")))
    # ix_problems_level_due holds the open problems by level in this order (migration 0008). Only a
    # rung of the ladder holds problems: for anyone else the branch would be empty, yet planning it
    # was half of the planning of a reviewer's inbox (0.9 of 1.7 ms, at every page).
    if actor.role in LEVEL_OF:
        sources.append(_items_waiting(ProblemRow, (col(ProblemRow.status) == "open") & held_by(actor) & mine))
    return sources


def _steps_waiting(where: ColumnElement[bool]) -> TaskSource:
    granted = col(StepRow.status) == "granted"
    deadline = case((granted, col(StepRow.verify_deadline)), else_=col(StepRow.deadline))
    found = (
        sa_select(
            literal("step").label("kind"),
            col(StepRow.code).label("code"),
            col(ProjectRow.name).label("project_name"),
            col(StepRow.key).label("step"),
            col(StepRow.name).label("step_name"),
            cast(null(), String).label("id"),
            col(StepRow.status).label("status"),
            deadline.label("deadline"),
            col(StepRow.inbox_due).label("due"),
            cast(null(), Integer).label("level"),
            cast(null(), Integer).label("score"),
            cast(null(), String).label("summary"),
        )
        .join(ProjectRow, col(ProjectRow.code) == col(StepRow.code))
        .where(where)
    )
    return TaskSource(found, (col(StepRow.inbox_due), col(StepRow.code), col(StepRow.key)))


def _items_waiting(model: type[ProblemRow | RectificationRow], where: ColumnElement[bool]) -> TaskSource:
    """Problems or rectifications, with their project's name (the project row also answers the
    caller's scope, when `where` asks it); their step's name is joined to the page (`_named`)."""
    problem = model is ProblemRow
    due = func.coalesce(col(model.due_at), NO_DUE)
    # A rectification always names its step; a problem may not, and sorts as if its step were "".
    step = _blank(col(model.step)) if problem else col(model.step)
    found: Select[Any] = (
        sa_select(  # type: ignore[assignment]  # eleven columns: past the typed overloads
            literal(model.__tablename__.rstrip("s")).label("kind"),
            col(model.code).label("code"),
            col(ProjectRow.name).label("project_name"),
            col(model.step).label("step"),
            col(model.id).label("id"),
            col(model.status).label("status"),
            col(model.due_at).label("deadline"),
            due.label("due"),
            (col(ProblemRow.level) if problem else cast(null(), Integer)).label("level"),
            (cast(null(), Integer) if problem else col(RectificationRow.score)).label("score"),
            (col(ProblemRow.summary) if problem else cast(null(), String)).label("summary"),
        )
        .join(ProjectRow, col(ProjectRow.code) == col(model.code))
        .where(where)
    )
    return TaskSource(found, (due, col(model.code), step, col(model.id)), named=False)


def _named(page: Any) -> Select[Any]:
    """A page of problems or rectifications with the name of each one's step."""
    step = (col(ITEM_STEP.code) == page.c.code) & (col(ITEM_STEP.key) == page.c.step)
    columns: list[Any] = []
    for column in page.c:
        columns.append(column)
        if column.name == "step":
            columns.append(col(ITEM_STEP.name).label("step_name"))
    return sa_select(*columns).select_from(page.outerjoin(ITEM_STEP, step))


@dataclass(frozen=True)
class TaskPlace:
    """A task's place in the inbox's order: (due, project code, step or "", item id or "")."""

    due: datetime
    code: str
    step: str
    item: str


# Where the page before ended, as bound values: a statement serves every page of its caller.
AFTER = (
    bindparam("after_due", type_=UTCDateTime()),
    bindparam("after_code", type_=String()),
    bindparam("after_step", type_=String()),
    bindparam("after_item", type_=String()),
)


async def inbox(db: AsyncSession, actor: Actor, limit: int | None = None, cursor: str | None = None) -> list[TaskOut]:
    """What waits on the caller: steps, verifications, rectifications and problems, soonest deadline
    first (then by project and step); at most `limit` of them, after `cursor` (`task_cursor`)."""
    stmt = _inbox_statement(_fields(actor), limit, cursor is not None)
    places: dict[str, Any] = {}
    if cursor:
        after = read_task_cursor(cursor)
        places = dict(zip((p.key for p in AFTER), (after.due, after.code, after.step, after.item), strict=True))
    return [_task(r) for r in await _plain(db, stmt, places)]


def _fields(actor: Actor) -> tuple[tuple[str, Any], ...]:
    return tuple(actor.model_dump().items())


@lru_cache(maxsize=512)
def _inbox_statement(actor: tuple[tuple[str, Any], ...], limit: int | None, paged: bool) -> Select[Any]:
    """The inbox's statement for a caller (kept: building it took more of a request than running it).

    Each kind is ordered and cut to `limit` on its own (an index range: migrations 0007 and 0008)
    before the kinds are merged and the steps' names joined, so a page costs about `limit` rows of
    each kind, not the whole list.
    """
    branches = []
    for source in _task_sources(Actor.model_validate(dict(actor))):
        rows = source.rows
        if paged:
            # A step's id is "", the smallest: a step after (due, code, step) is after the whole place.
            rows = rows.where(tuple_(*source.key) > tuple_(*AFTER[: len(source.key)]))
        page = (rows if limit is None else rows.order_by(*source.key).limit(limit)).subquery()
        branches.append(sa_select(page) if source.named else _named(page))
    tasks = union_all(*branches).subquery("tasks")
    stmt = sa_select(tasks).order_by(tasks.c.due, tasks.c.code, _blank(tasks.c.step), _blank(tasks.c.id))
    return stmt if limit is None else stmt.limit(limit)


async def inbox_page(
    db: AsyncSession, actor: Actor, limit: int, cursor: str | None
) -> tuple[list[TaskOut], str | None]:
    """One page of the inbox, and the cursor of the next page (None on the last)."""
    found = await inbox(db, actor, limit + 1, cursor)
    page = found[:limit]
    return page, (task_cursor(page[-1]) if len(found) > limit else None)


async def inbox_count(db: AsyncSession, actor: Actor) -> int:
    """How many tasks wait on the caller, all pages together."""
    return int((await _core(db, _count_statement(_fields(actor)))).scalar_one())


@lru_cache(maxsize=512)
def _count_statement(actor: tuple[tuple[str, Any], ...]) -> Select[Any]:
    sources = _task_sources(Actor.model_validate(dict(actor)))
    tasks = union_all(*(sa_select(literal(1)).select_from(s.rows.subquery()) for s in sources)).subquery("tasks")
    return sa_select(func.count()).select_from(tasks)


def _blank(column: Any) -> Any:
    return func.coalesce(column, "")


# Cursors name a place in a list's order as text a query parameter's pattern describes exactly
# (api/schemas.py: TASK_CURSOR, PROBLEM_CURSOR): an instant in microseconds since 1970, then the
# rest of the place, joined by "~" (which no code, step key or id holds).
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def _micros(instant: datetime) -> str:
    return str((instant - EPOCH) // MICROSECOND)


def _instant(micros: str) -> datetime:
    """The instant of a cursor's first part; one beyond NO_DEADLINE is NO_DEADLINE (after everything)."""
    return EPOCH + min(int(micros), (NO_DEADLINE - EPOCH) // MICROSECOND) * MICROSECOND


def task_cursor(task: TaskOut) -> str:
    """Where a page of tasks ends: its last task's place in the order."""
    return "~".join([_micros(task.deadline or NO_DEADLINE), task.project_code, task.step or "", task.id or ""])


def _parts(cursor: str, pattern: str) -> list[str]:
    """A cursor's parts; 422 for a text its parameter's pattern refuses (already, where declared)."""
    if re.fullmatch(pattern, cursor) is None:
        raise ApiError(422, "invalid_input", "the cursor is not one this service gives")
    return cursor.split("~")


def read_task_cursor(cursor: str) -> TaskPlace:
    """The place a task cursor names; any text matching TASK_CURSOR names one."""
    micros, code, step, item = _parts(cursor, TASK_CURSOR)
    return TaskPlace(_instant(micros), code, step, item)


def _task(row: Any) -> TaskOut:
    """A task from a row of the inbox's union."""
    if row.kind == "step":
        todo, what = STEP_TODO[row.status]
        kind: Literal["step", "verification", "rectification", "problem"] = (
            "verification" if row.status == "granted" else "step"
        )
        status, summary = row.status, f"{row.step_name}: {what}"
    elif row.kind == "rectification":
        kind, status = "rectification", row.status
        judge = row.status == "answered"
        todo = "judge_answer" if judge else "answer_rectification"
        what = "judge the department's answer" if judge else "answer a bad rating"
        summary = f"rating {row.score} on {row.step}: {what}"
    else:
        kind, status, todo, summary = "problem", f"level {row.level}", "problem", row.summary
    return TaskOut(
        kind=kind,
        project_code=row.code,
        project_name=row.project_name,
        step=row.step,
        step_name=row.step_name,
        id=row.id,
        status=status,
        deadline=row.deadline,
        todo=todo,
        summary=summary,
    )


async def project_counts(db: AsyncSession) -> dict[str, dict[str, int]]:
    """How many projects stand at each stage, show each colour, have each status."""
    return _project_counts(await totals.read(db))


def _project_counts(kept: totals.Totals) -> dict[str, dict[str, int]]:
    found: dict[str, dict[str, int]] = {f"by_{d}": {} for d in totals.PROJECT_DIMENSIONS}
    for (name, key), value in kept.items():
        if name.startswith("projects.") and value:
            found[f"by_{name.removeprefix('projects.')}"][key] = int(value)
    return found


def _sums(kept: totals.Totals, part: int) -> dict[str, dict[str, float]]:
    """The reviewed steps' sums by department (part 0) or by stage (part 1)."""
    found: dict[str, dict[str, float]] = {}
    for (name, key), value in kept.items():
        if name.startswith("reviewed."):
            into = found.setdefault(key.split("~")[part], dict.fromkeys(totals.REVIEWED_SUMS, 0.0))
            into[name.removeprefix("reviewed.")] += value
    return {k: t for k, t in found.items() if t["decided"]}


async def stage_durations(db: AsyncSession) -> dict[str, dict[str, Any]]:
    """For each stage, in chain order: the steps decided after a review, the mean working days they
    took and the mean of their limits."""
    return _stage_durations(await totals.read(db))


def _stage_durations(kept: totals.Totals) -> dict[str, dict[str, Any]]:
    found = _sums(kept, 1)
    return {
        stage.value: {
            "decided_steps": int(t["decided"]),
            "mean_working_days": round(t["used"] / t["decided"], 3),
            "mean_limit_working_days": round(t["limit"] / t["decided"], 3),
        }
        for stage in STAGE_ORDER
        if (t := found.get(stage.value))
    }


async def statistics(db: AsyncSession) -> dict[str, Any]:
    """Counts by stage, colour and status; department performance; stage durations; the ladder;
    satisfaction: all from the totals the projection keeps (models/totals.py)."""
    return statistics_of(await totals.read(db))


def statistics_of(kept: totals.Totals) -> dict[str, Any]:
    """The statistics from totals (as kept, or as `totals.from_rows` computes them)."""
    departments = {
        dept: {
            "decided_steps": int(t["decided"]),
            "on_time_rate": round(t["on_time"] / t["decided"], 4),
            "mean_working_days": round(t["used"] / t["decided"], 3),
            "mean_limit_working_days": round(t["limit"] / t["decided"], 3),
            "ratings": int(t["rated"]),
            "satisfaction_rate": round(t["good"] / t["rated"], 4) if t["rated"] else None,
        }
        for dept, t in _sums(kept, 0).items()
    }
    resolved = int(kept.get(("problems.resolved", ""), 0))
    hours = kept.get(("problems.resolved_hours", ""), 0.0)
    levels = {key: int(n) for (name, key), n in sorted(kept.items()) if name == "problems.open" and n}
    return {
        "projects": _project_counts(kept),
        "departments": departments,
        "stages": _stage_durations(kept),
        "problems": {
            "open_by_level": levels,
            "resolved": resolved,
            "mean_hours_to_resolve": round(hours / resolved, 3) if resolved else None,
        },
    }
