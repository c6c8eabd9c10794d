"""Read-side queries on the read model, always scoped to what the caller may see (models/visibility.py)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, Integer, Select, String, case, cast, func, literal, null, or_, tuple_, union_all
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import col, select
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
from domain.access import Actor
from domain.catalog import STAGE_ORDER
from domain.clock import Calendar, used_days_at
from domain.project import Project, StepView, step_view
from domain.status import DEPARTMENT_HOLDS, LIVE, OWNER_HOLDS
from models import totals
from models.tables import NO_DEADLINE, EventRow, ProblemRow, ProjectRow, RectificationRow, StepRow, UserRow
from models.types import UTCDateTime
from models.visibility import held_by, visible_to


async def visible_project(db: AsyncSession, actor: Actor, code: str) -> None:
    """404 unless the project exists and the caller may see it: the same answer for both."""
    found = (await db.exec(select(ProjectRow.code).where(col(ProjectRow.code) == code, visible_to(actor)))).first()
    if found is None:
        raise not_found(f"project {code}")


async def owner_revocation_open(db: AsyncSession, code: str) -> bool:
    """Whether the project's owner has a revoked commitment awaiting re-application, on any project."""
    owner = select(ProjectRow.owner_org).where(col(ProjectRow.code) == code).scalar_subquery()
    stmt = select(ProjectRow.code).where(col(ProjectRow.owner_org) == owner, col(ProjectRow.revocations_open) > 0)
    return (await db.exec(stmt.limit(1))).first() is not None


async def _visible_row(db: AsyncSession, actor: Actor, code: str) -> ProjectRow:
    row = (await db.exec(select(ProjectRow).where(col(ProjectRow.code) == code, visible_to(actor)))).first()
    if row is None:
        raise not_found(f"project {code}")
    return row


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


async def read_project(db: AsyncSession, actor: Actor, code: str, calendar: Calendar, now: datetime) -> ProjectReading:
    """Everything a page about one project reads (404 unless visible)."""
    project = await project_state(db, actor, code)
    events = await project_events(db, code)
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


def summary_out(row: Any) -> ProjectSummary:
    """One line of a project list, from a ProjectRow or a row of SUMMARY_COLUMNS."""
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
SUMMARY_COLUMNS = (
    col(ProjectRow.code),
    col(ProjectRow.name),
    col(ProjectRow.category),
    col(ProjectRow.status),
    col(ProjectRow.colour),
    col(ProjectRow.stage),
    col(ProjectRow.owner_org),
    col(ProjectRow.agent),
    col(ProjectRow.key_project),
    col(ProjectRow.created_at),
)


async def list_projects(
    db: AsyncSession, actor: Actor, filters: dict[str, str | None], q: str | None, limit: int, cursor: str | None
) -> tuple[list[ProjectSummary], str | None]:
    """Visible projects, filtered, in code order, one page at a time (the cursor is the last code shown).

    `q` is matched anywhere in the name or the code, ignoring case: on PostgreSQL through trigram
    indexes on both (migration 0007), elsewhere by scanning.
    """
    stmt = sa_select(*SUMMARY_COLUMNS).where(visible_to(actor))
    for field, value in filters.items():
        if value is not None:
            stmt = stmt.where(getattr(ProjectRow, field) == value)
    if q:
        pattern = f"%{q.lower()}%"
        stmt = stmt.where(or_(func.lower(ProjectRow.name).like(pattern), func.lower(ProjectRow.code).like(pattern)))
    if cursor:
        stmt = stmt.where(col(ProjectRow.code) > cursor)
    rows = (await db.execute(stmt.order_by(col(ProjectRow.code)).limit(limit + 1))).all()
    page = [summary_out(r) for r in rows[:limit]]
    return page, (page[-1].code if len(rows) > limit else None)


async def project_events(db: AsyncSession, code: str) -> list[EventOut]:
    """The audit timeline, oldest first."""
    rows = (await db.exec(select(EventRow).where(col(EventRow.code) == code).order_by(col(EventRow.seq)))).all()
    return [EventOut.model_validate(r, from_attributes=True) for r in rows]


async def list_problems(
    db: AsyncSession,
    actor: Actor,
    level: int | None,
    status: str | None,
    limit: int | None = None,
    cursor: str | None = None,
) -> list[ProblemOut]:
    """Problems of the projects the caller may see, oldest first; at most `limit` of them, after `cursor`."""
    stmt = select(ProblemRow).join(ProjectRow, col(ProjectRow.code) == col(ProblemRow.code)).where(visible_to(actor))
    if level is not None:
        stmt = stmt.where(col(ProblemRow.level) == level)
    if status is not None:
        stmt = stmt.where(col(ProblemRow.status) == status)
    if cursor:
        opened, after = read_problem_cursor(cursor)
        later = col(ProblemRow.opened_at) > opened
        stmt = stmt.where(later | ((col(ProblemRow.opened_at) == opened) & (col(ProblemRow.id) > after)))
    stmt = stmt.order_by(col(ProblemRow.opened_at), col(ProblemRow.id))
    rows = (await db.exec(stmt if limit is None else stmt.limit(limit))).all()
    return [problem_out(r.model_dump()) for r in rows]


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
    stmt = (
        select(col(model.code))
        .join(ProjectRow, col(ProjectRow.code) == col(model.code))
        .where(col(model.id) == item_id, visible_to(actor))
    )
    code = (await db.exec(stmt)).first()
    if code is None:
        raise not_found(f"{model.__tablename__.rstrip('s')} {item_id}")
    return code


async def display_names(db: AsyncSession, usernames: Iterable[str]) -> dict[str, str]:
    """The display name of each user that has one, by username."""
    wanted = set(usernames)
    if not wanted:
        return {}
    stmt = select(UserRow.username, UserRow.display_name).where(col(UserRow.username).in_(wanted))
    return {username: name for username, name in (await db.exec(stmt)).all() if name}


async def organisation_names(db: AsyncSession, organisations: Iterable[str]) -> dict[str, str]:
    """The name of each organisation (by credit code) as its owners' accounts give it."""
    wanted = set(organisations)
    if not wanted:
        return {}
    stmt = (
        select(UserRow.organisation, func.min(UserRow.display_name))
        .where(col(UserRow.organisation).in_(wanted), col(UserRow.role) == "owner", col(UserRow.display_name) != "")
        .group_by(col(UserRow.organisation))
    )
    return {str(org): str(name) for org, name in (await db.exec(stmt)).all()}


# What the inbox says each waiting step needs: a machine value, and the same in English.
STEP_TODO: dict[str, tuple[TaskTodo, str]] = {
    "awaiting_submission": ("submit", "submit the application"),
    "returned": ("resubmit", "correct and resubmit"),
    "rejected": ("apply_again", "apply again or withdraw"),
    "revoked": ("reapply_standard", "re-apply in standard mode"),
    "in_review": ("decide", "decide"),
    "granted": ("verify", "verify the commitment"),
}


def _task_sources(actor: Actor) -> list[tuple[Select[Any], tuple[Any, ...]]]:
    """One SELECT per kind of task waiting on the caller, all with the same columns (kind, code,
    project name, step, step name, id, status, deadline, due, level, score, summary), each with the
    columns it is ordered by: (due, code, step, id), the last ones it lacks left out."""
    mine = visible_to(actor)
    live = col(ProjectRow.status).in_(LIVE)
    sources: list[tuple[Select[Any], tuple[Any, ...]]] = []
    if actor.role in ("owner", "agent"):
        sources.append(_steps_waiting(mine & col(StepRow.status).in_(OWNER_HOLDS) & live))
    if actor.role == "owner":
        sources.append(_items_waiting(RectificationRow, mine & (col(RectificationRow.status) == "answered")))
    if actor.role == "reviewer":
        # The partial index ix_steps_department_due holds exactly these steps in this order.
        held = (col(StepRow.department) == actor.department) & col(StepRow.status).in_(DEPARTMENT_HOLDS) & live
        sources.append(_steps_waiting(held))
        department = col(RectificationRow.department) == actor.department
        sources.append(_items_waiting(RectificationRow, department & (col(RectificationRow.status) == "open")))
    sources.append(_items_waiting(ProblemRow, (col(ProblemRow.status) == "open") & held_by(actor) & mine))
    return sources


def _steps_waiting(where: ColumnElement[bool]) -> tuple[Select[Any], tuple[Any, ...]]:
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
    return found, (col(StepRow.inbox_due), col(StepRow.code), col(StepRow.key))


# The step a problem or rectification is about. One alias for the process: SQLAlchemy adapts a
# model's columns to an alias once per alias, and a new alias per request made that most of an
# inbox's cost.
ITEM_STEP = aliased(StepRow, name="item_step")


def _items_waiting(
    model: type[ProblemRow | RectificationRow], where: ColumnElement[bool]
) -> tuple[Select[Any], tuple[Any, ...]]:
    step = ITEM_STEP
    problem = model is ProblemRow
    due = func.coalesce(col(model.due_at), literal(NO_DEADLINE, UTCDateTime()))
    found: Select[Any] = (
        sa_select(  # type: ignore[assignment]  # twelve columns: past the typed overloads
            literal(model.__tablename__.rstrip("s")).label("kind"),
            col(model.code).label("code"),
            col(ProjectRow.name).label("project_name"),
            col(model.step).label("step"),
            col(step.name).label("step_name"),
            col(model.id).label("id"),
            col(model.status).label("status"),
            col(model.due_at).label("deadline"),
            due.label("due"),
            (col(ProblemRow.level) if problem else cast(null(), Integer)).label("level"),
            (cast(null(), Integer) if problem else col(RectificationRow.score)).label("score"),
            (col(ProblemRow.summary) if problem else cast(null(), String)).label("summary"),
        )
        .join(ProjectRow, col(ProjectRow.code) == col(model.code))
        .outerjoin(step, (col(step.code) == col(model.code)) & (col(step.key) == col(model.step)))
        .where(where)
    )
    return found, (due, col(model.code), _blank(col(model.step)), col(model.id))


@dataclass(frozen=True)
class TaskPlace:
    """A task's place in the inbox's order: (due, project code, step or "", item id or "")."""

    due: datetime
    code: str
    step: str
    item: str


async def inbox(db: AsyncSession, actor: Actor, limit: int | None = None, cursor: str | None = None) -> list[TaskOut]:
    """What waits on the caller: steps, verifications, rectifications and problems, soonest deadline
    first (then by project and step); at most `limit` of them, after `cursor` (`task_cursor`).

    Each kind is ordered and cut to `limit` on its own (an index range for a department's steps)
    before the kinds are merged, so a page costs about `limit` rows of each kind, not the whole list.
    """
    after = read_task_cursor(cursor) if cursor else None
    branches = []
    for source, key in _task_sources(actor):
        if after is not None:
            place = (after.due, after.code, after.step, after.item)[: len(key)]
            # A step's id is "", the smallest: a step after (due, code, step) is after the whole place.
            source = source.where(tuple_(*key) > tuple_(literal(place[0], UTCDateTime()), *place[1:]))
        source = source.order_by(*key)
        branches.append(sa_select(source.subquery() if limit is None else source.limit(limit).subquery()))
    tasks = union_all(*branches).subquery("tasks")
    stmt = sa_select(tasks).order_by(tasks.c.due, tasks.c.code, _blank(tasks.c.step), _blank(tasks.c.id))
    rows = (await db.execute(stmt if limit is None else stmt.limit(limit))).all()
    return [_task(r) for r in rows]


async def inbox_page(
    db: AsyncSession, actor: Actor, limit: int, cursor: str | None
) -> tuple[list[TaskOut], str | None]:
    """One page of the inbox, and the cursor of the next page (None on the last)."""
    found = await inbox(db, actor, limit + 1, cursor)
    page = found[:limit]
    return page, (task_cursor(page[-1]) if len(found) > limit else None)


async def inbox_count(db: AsyncSession, actor: Actor) -> int:
    """How many tasks wait on the caller, all pages together."""
    tasks = union_all(*(source for source, _ in _task_sources(actor))).subquery("tasks")
    return int((await db.execute(sa_select(func.count()).select_from(tasks))).scalar_one())


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
