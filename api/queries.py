"""Read-side queries on the read model, always scoped to what the caller may see."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, case, exists, false, func, or_, true
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.errors import not_found
from api.schemas import (
    EventOut,
    ProblemOut,
    ProjectOut,
    ProjectSummary,
    RectificationOut,
    SectionOut,
    StageOut,
    StepOut,
    TaskOut,
)
from domain.catalog import STAGE_ORDER
from domain.clock import Calendar
from domain.project import Project, Step
from models.tables import EventRow, ProblemRow, ProjectRow, RectificationRow, StepRow, UserRow

SEE_ALL = frozenset({"section_chief", "office", "leader"})


def visible(user: UserRow) -> ColumnElement[bool]:
    """The condition on ProjectRow for projects this caller may see (section 2 of the design)."""
    if user.role in SEE_ALL:
        return true()
    if user.role == "owner":
        return col(ProjectRow.owner_org) == user.organisation
    if user.role == "agent":
        return col(ProjectRow.agent) == user.username
    if user.role == "reviewer":
        reached = select(StepRow.code).where(
            col(StepRow.code) == col(ProjectRow.code),
            col(StepRow.department) == user.department,
            col(StepRow.status) != "pending",
        )
        return exists(reached)
    return false()


async def visible_project(db: AsyncSession, user: UserRow, code: str) -> ProjectRow:
    """The project row, or 404 whether it is missing or hidden from the caller."""
    row = (await db.exec(select(ProjectRow).where(col(ProjectRow.code) == code, visible(user)))).first()
    if row is None:
        raise not_found(f"project {code}")
    return row


def step_out(step: Step, clock: Calendar, now: datetime) -> StepOut:
    """A step as the API shows it, with the fraction of its limit used up to now."""
    used = step.clock.used_days
    if step.clock.running_since is not None:
        used += clock.working_days_between(step.clock.running_since, now)
    return StepOut(
        key=step.key,
        name=step.name,
        stage=step.stage.value,
        department=step.department,
        mode=step.mode,
        status=step.status,
        limit_working_days=step.limit_working_days,
        deadline=step.clock.deadline,
        used_fraction=round(used / step.limit_working_days, 4),
        colour=step.colour,
        attempt=step.attempt,
        commitment=step.commitment,
        phase=step.phase,
        section=step.section,
        verification_deadline=step.verification.deadline if step.verification else None,
        provisional=step.clock.provisional or bool(step.verification and step.verification.provisional),
        rating=step.rating,
    )


def project_out(row: ProjectRow, clock: Calendar, now: datetime) -> ProjectOut:
    """The full project view from its published state."""
    project = Project.model_validate(row.state)
    stages = [
        StageOut(stage=stage.value, steps=[step_out(s, clock, now) for s in project.steps if s.stage == stage])
        for stage in STAGE_ORDER
        if any(s.stage == stage for s in project.steps)
    ]
    return ProjectOut(
        code=project.code,
        name=project.name,
        category=project.category,
        status=project.status,
        colour=project.colour,
        stage=project.current_stage.value,
        owner=project.owner_org,
        agent=project.agent,
        key_project=project.key_project,
        region_code=project.region_code,
        investment_wan=project.investment_wan,
        created_at=project.created_at,
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
    db: AsyncSession, user: UserRow, filters: dict[str, str | None], q: str | None, limit: int, cursor: str | None
) -> tuple[list[ProjectSummary], str | None]:
    """Visible projects, filtered, in code order, one page at a time."""
    stmt = select(ProjectRow).where(visible(user))
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


async def list_problems(db: AsyncSession, user: UserRow, level: int | None, status: str | None) -> list[ProblemOut]:
    """Problems of the projects the caller may see."""
    stmt = select(ProblemRow).join(ProjectRow, col(ProjectRow.code) == col(ProblemRow.code)).where(visible(user))
    if level is not None:
        stmt = stmt.where(col(ProblemRow.level) == level)
    if status is not None:
        stmt = stmt.where(col(ProblemRow.status) == status)
    rows = (await db.exec(stmt.order_by(col(ProblemRow.opened_at)))).all()
    return [problem_out(r.model_dump()) for r in rows]


async def owning_project(
    db: AsyncSession, user: UserRow, model: type[ProblemRow | RectificationRow], item_id: str
) -> str:
    """The code of the project a visible problem or rectification belongs to (404 otherwise)."""
    stmt = (
        select(col(model.code))
        .join(ProjectRow, col(ProjectRow.code) == col(model.code))
        .where(col(model.id) == item_id, visible(user))
    )
    code = (await db.exec(stmt)).first()
    if code is None:
        raise not_found(f"{model.__tablename__.rstrip('s')} {item_id}")
    return code


LEVEL_OF_ROLE = {"agent": 1, "section_chief": 2, "office": 3, "leader": 4}


async def inbox(db: AsyncSession, user: UserRow) -> list[TaskOut]:
    """What waits on the caller: steps, verifications, rectifications and problems, oldest deadline first."""
    tasks: list[TaskOut] = []
    mine = visible(user)
    if user.role in ("owner", "agent"):
        rows = (
            await db.exec(
                select(StepRow, ProjectRow.name)
                .join(ProjectRow, col(ProjectRow.code) == col(StepRow.code))
                .where(mine, col(StepRow.status).in_(["awaiting_submission", "returned", "rejected", "revoked"]))
                .where(col(ProjectRow.status).in_(["active", "suspended"]))
            )
        ).all()
        tasks += [_step_task(s, name, "step") for s, name in rows]
        answered = (
            await db.exec(
                select(RectificationRow, ProjectRow.name)
                .join(ProjectRow, col(ProjectRow.code) == col(RectificationRow.code))
                .where(mine, col(RectificationRow.status) == "answered")
            )
        ).all()
        if user.role == "owner":
            tasks += [_rect_task(r, name, "judge the department's answer") for r, name in answered]
    if user.role == "reviewer":
        rows = (
            await db.exec(
                select(StepRow, ProjectRow.name)
                .join(ProjectRow, col(ProjectRow.code) == col(StepRow.code))
                .where(col(StepRow.department) == user.department, col(StepRow.status).in_(["in_review", "granted"]))
                .where(col(ProjectRow.status).in_(["active", "suspended"]))
            )
        ).all()
        tasks += [_step_task(s, name, "verification" if s.status == "granted" else "step") for s, name in rows]
        rects = (
            await db.exec(
                select(RectificationRow, ProjectRow.name)
                .join(ProjectRow, col(ProjectRow.code) == col(RectificationRow.code))
                .where(col(RectificationRow.department) == user.department, col(RectificationRow.status) == "open")
            )
        ).all()
        tasks += [_rect_task(r, name, "answer a bad rating") for r, name in rects]
    level = LEVEL_OF_ROLE.get(user.role)
    if level is not None:
        stmt = (
            select(ProblemRow, ProjectRow.name)
            .join(ProjectRow, col(ProjectRow.code) == col(ProblemRow.code))
            .where(col(ProblemRow.status) == "open", col(ProblemRow.level) == level, mine)
        )
        if user.role == "section_chief":
            stmt = stmt.where(col(ProblemRow.stage) == user.stage)
        for p, name in (await db.exec(stmt)).all():
            tasks.append(
                TaskOut(
                    kind="problem",
                    project_code=p.code,
                    project_name=name,
                    step=p.step,
                    id=p.id,
                    status=f"level {p.level}",
                    deadline=p.due_at,
                    summary=p.summary,
                )
            )
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(tasks, key=lambda t: (t.deadline or far, t.project_code, t.step or ""))


def _step_task(step: StepRow, project_name: str, kind: Literal["step", "verification"]) -> TaskOut:
    deadline = step.verify_deadline if kind == "verification" else step.deadline
    summary = {
        "awaiting_submission": "submit the application",
        "returned": "correct and resubmit",
        "rejected": "apply again or withdraw",
        "revoked": "re-apply in standard mode",
        "in_review": "decide",
        "granted": "verify the commitment",
    }.get(step.status, step.status)
    return TaskOut(
        kind=kind,
        project_code=step.code,
        project_name=project_name,
        step=step.key,
        id=None,
        status=step.status,
        deadline=deadline,
        summary=f"{step.name}: {summary}",
    )


def _rect_task(rect: RectificationRow, project_name: str, what: str) -> TaskOut:
    return TaskOut(
        kind="rectification",
        project_code=rect.code,
        project_name=project_name,
        step=rect.step,
        id=rect.id,
        status=rect.status,
        deadline=rect.due_at,
        summary=f"rating {rect.score} on {rect.step}: {what}",
    )


async def statistics(db: AsyncSession) -> dict[str, Any]:
    """Counts by stage, colour and status; department performance; the ladder; satisfaction."""

    async def counts(column: Any) -> dict[str, int]:
        rows = (await db.exec(select(column, func.count()).group_by(column))).all()
        return {str(k): int(n) for k, n in rows}

    ended = ["approved", "verified", "rejected"]
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
            .where(col(StepRow.status).in_(ended), col(StepRow.mode) != "commitment")
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
    open_by_level = (
        await db.exec(
            select(col(ProblemRow.level), func.count())
            .where(col(ProblemRow.status) == "open")
            .group_by(col(ProblemRow.level))
        )
    ).all()
    return {
        "projects": {
            "by_stage": await counts(ProjectRow.stage),
            "by_colour": await counts(ProjectRow.colour),
            "by_status": await counts(ProjectRow.status),
        },
        "departments": departments,
        "problems": {
            "open_by_level": {str(level): int(n) for level, n in open_by_level},
            "resolved": len(hours),
            "mean_hours_to_resolve": round(sum(hours) / len(hours), 3) if hours else None,
        },
    }
