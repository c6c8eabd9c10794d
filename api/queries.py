"""Read-side queries on the read model, always scoped to what the caller may see (models/visibility.py)."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, case, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.errors import ApiError, not_found
from api.schemas import (
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
from domain.status import DECIDED, DEPARTMENT_HOLDS, LIVE, OWNER_HOLDS
from models.figures import open_problems_by_level
from models.tables import EventRow, ProblemRow, ProjectRow, RectificationRow, StepRow, UserRow
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


def summary_out(row: ProjectRow) -> ProjectSummary:
    """One line of a project list."""
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


async def list_projects(
    db: AsyncSession, actor: Actor, filters: dict[str, str | None], q: str | None, limit: int, cursor: str | None
) -> tuple[list[ProjectSummary], str | None]:
    """Visible projects, filtered, in code order, one page at a time."""
    stmt = select(ProjectRow).where(visible_to(actor))
    for field, value in filters.items():
        if value is not None:
            stmt = stmt.where(getattr(ProjectRow, field) == value)
    if q:
        pattern = f"%{q.lower()}%"
        stmt = stmt.where(or_(func.lower(ProjectRow.name).like(pattern), func.lower(ProjectRow.code).like(pattern)))
    if cursor:
        stmt = stmt.where(col(ProjectRow.code) > cursor)
    rows = (await db.exec(stmt.order_by(col(ProjectRow.code)).limit(limit + 1))).all()
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
    """Where a page of problems ends: its last problem's opening instant and id, opaque to the reader."""
    return base64.urlsafe_b64encode(f"{problem.opened_at.isoformat()}|{problem.id}".encode()).decode()


def read_problem_cursor(cursor: str) -> tuple[datetime, str]:
    """The instant and id a cursor names (422 for a cursor this service did not give)."""
    try:
        opened, problem_id = base64.urlsafe_b64decode(cursor.encode("ascii")).decode().split("|", 1)
        instant = datetime.fromisoformat(opened)
    except (ValueError, UnicodeError):
        raise ApiError(422, "invalid_input", "the cursor is not one this service gave") from None
    if instant.tzinfo is None:
        raise ApiError(422, "invalid_input", "the cursor is not one this service gave")
    return instant, problem_id


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


async def inbox(db: AsyncSession, actor: Actor) -> list[TaskOut]:
    """What waits on the caller: steps, verifications, rectifications and problems, soonest deadline first."""
    tasks: list[TaskOut] = []
    mine = visible_to(actor)
    live = col(ProjectRow.status).in_(LIVE)
    if actor.role in ("owner", "agent"):
        waiting = mine & col(StepRow.status).in_(OWNER_HOLDS) & live
        tasks += [_step_task(s, name) for s, name, _ in await _with_names(db, StepRow, waiting)]
    if actor.role == "owner":
        answered = mine & (col(RectificationRow.status) == "answered")
        rects = await _with_names(db, RectificationRow, answered)
        tasks += [
            _item_task(
                "rectification", r, names, r.status, "judge_answer", _rect_todo(r, "judge the department's answer")
            )
            for r, *names in rects
        ]
    if actor.role == "reviewer":
        waiting = (col(StepRow.department) == actor.department) & col(StepRow.status).in_(DEPARTMENT_HOLDS) & live
        tasks += [_step_task(s, name) for s, name, _ in await _with_names(db, StepRow, waiting)]
        open_rects = (col(RectificationRow.department) == actor.department) & (col(RectificationRow.status) == "open")
        rects = await _with_names(db, RectificationRow, open_rects)
        tasks += [
            _item_task(
                "rectification", r, names, r.status, "answer_rectification", _rect_todo(r, "answer a bad rating")
            )
            for r, *names in rects
        ]
    held = (col(ProblemRow.status) == "open") & held_by(actor) & mine
    problems = await _with_names(db, ProblemRow, held)
    tasks += [_item_task("problem", p, names, f"level {p.level}", "problem", p.summary) for p, *names in problems]
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(tasks, key=lambda t: (t.deadline or far, t.project_code, t.step or ""))


async def _with_names(db: AsyncSession, model: Any, where: ColumnElement[bool]) -> list[tuple[Any, str, str | None]]:
    """The items with their project's name and their step's name (None for an item without a step)."""
    step = aliased(StepRow)
    on_step = (col(step.code) == col(model.code)) & (
        col(step.key) == col(model.key if model is StepRow else model.step)
    )
    stmt = (
        select(model, ProjectRow.name, step.name)
        .join(ProjectRow, col(ProjectRow.code) == col(model.code))
        .outerjoin(step, on_step)
        .where(where)
    )
    return [(item, name, step_name) for item, name, step_name in (await db.exec(stmt)).all()]


def _step_task(step: StepRow, project_name: str) -> TaskOut:
    verification = step.status == "granted"
    todo, summary = STEP_TODO[step.status]
    return TaskOut(
        kind="verification" if verification else "step",
        project_code=step.code,
        project_name=project_name,
        step=step.key,
        step_name=step.name,
        id=None,
        status=step.status,
        deadline=step.verify_deadline if verification else step.deadline,
        todo=todo,
        summary=f"{step.name}: {summary}",
    )


def _rect_todo(rect: RectificationRow, what: str) -> str:
    return f"rating {rect.score} on {rect.step}: {what}"


def _item_task(
    kind: Literal["rectification", "problem"],
    item: RectificationRow | ProblemRow,
    names: list[Any],
    status: str,
    todo: TaskTodo,
    summary: str,
) -> TaskOut:
    project_name, step_name = names
    return TaskOut(
        kind=kind,
        project_code=item.code,
        project_name=project_name,
        step=item.step,
        step_name=step_name,
        id=item.id,
        status=status,
        deadline=item.due_at,
        todo=todo,
        summary=summary,
    )


# The steps a department decided after a review (granted commitments are not reviewed).
REVIEWED = col(StepRow.status).in_(DECIDED) & col(StepRow.commitment).is_(False)


async def project_counts(db: AsyncSession) -> dict[str, dict[str, int]]:
    """How many projects stand at each stage, show each colour, have each status."""

    async def counts(column: Any) -> dict[str, int]:
        rows = (await db.exec(select(column, func.count()).group_by(column))).all()
        return {str(k): int(n) for k, n in rows}

    return {
        "by_stage": await counts(ProjectRow.stage),
        "by_colour": await counts(ProjectRow.colour),
        "by_status": await counts(ProjectRow.status),
    }


async def stage_durations(db: AsyncSession) -> dict[str, dict[str, Any]]:
    """For each stage, in chain order: the steps decided after a review, the mean working days they
    took and the mean of their limits."""
    rows = (
        await db.exec(
            select(col(StepRow.stage), func.count(), func.avg(StepRow.used_days), func.avg(StepRow.limit_days))
            .where(REVIEWED)
            .group_by(col(StepRow.stage))
        )
    ).all()
    found = {
        stage: {
            "decided_steps": n,
            "mean_working_days": round(float(mean_used or 0), 3),
            "mean_limit_working_days": round(float(mean_limit or 0), 3),
        }
        for stage, n, mean_used, mean_limit in rows
    }
    return {stage.value: found[stage.value] for stage in STAGE_ORDER if stage.value in found}


async def statistics(db: AsyncSession) -> dict[str, Any]:
    """Counts by stage, colour and status; department performance; stage durations; the ladder; satisfaction."""
    dept_rows = (
        await db.exec(
            select(  # type: ignore[call-overload]  # seven columns: past the typed overloads
                col(StepRow.department),
                func.count(),
                func.sum(case((col(StepRow.used_days) <= col(StepRow.limit_days), 1), else_=0)),
                func.avg(StepRow.used_days),
                func.avg(StepRow.limit_days),
                func.count(col(StepRow.rating)),
                func.sum(case((col(StepRow.rating) >= 4, 1), else_=0)),
            )
            .where(REVIEWED)
            .group_by(col(StepRow.department))
        )
    ).all()
    departments = {
        dept: {
            "decided_steps": n,
            "on_time_rate": round((on_time or 0) / n, 4) if n else None,
            "mean_working_days": round(float(mean_used or 0), 3),
            "mean_limit_working_days": round(float(mean_limit or 0), 3),
            "ratings": rated,
            "satisfaction_rate": round((good or 0) / rated, 4) if rated else None,
        }
        for dept, n, on_time, mean_used, mean_limit, rated, good in dept_rows
    }
    resolved = (
        await db.exec(select(ProblemRow.opened_at, ProblemRow.resolved_at).where(col(ProblemRow.status) == "resolved"))
    ).all()
    hours = [(r - o).total_seconds() / 3600 for o, r in resolved if o and r]
    return {
        "projects": await project_counts(db),
        "departments": departments,
        "stages": await stage_durations(db),
        "problems": {
            "open_by_level": await open_problems_by_level(db),
            "resolved": len(hours),
            "mean_hours_to_resolve": round(sum(hours) / len(hours), 3) if hours else None,
        },
    }
