"""Writes a project's published state into the read model: idempotent and ordered by version."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from domain.project import Project, Step
from models.tables import EventRow, ProblemRow, ProjectRow, RectificationRow, StepRow


def _insert(session: AsyncSession, table: Table) -> Any:
    dialect = session.bind.dialect.name if session.bind is not None else "postgresql"
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


async def _upsert(session: AsyncSession, model: Any, rows: list[dict[str, Any]]) -> None:
    # One statement executed with many rows (not VALUES built per call), so SQLAlchemy compiles
    # it once and caches it: compiling was half the cost of a publish.
    if not rows:
        return
    table: Table = model.__table__
    keys = [c.name for c in table.primary_key.columns]
    stmt = _insert(session, table)
    updates = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys}
    await session.execute(stmt.on_conflict_do_update(index_elements=keys, set_=updates), rows)


def _step_row(code: str, step: Step) -> dict[str, Any]:
    return {
        "code": code,
        "key": step.key,
        "name": step.name,
        "stage": step.stage.value,
        "department": step.department,
        "mode": step.mode,
        "status": step.status,
        "attempt": step.attempt,
        "commitment": step.commitment,
        "colour": step.colour,
        "limit_days": step.limit_working_days,
        "used_days": step.clock.used_days,
        "running_since": step.clock.running_since,
        "deadline": step.clock.deadline,
        "verify_deadline": step.verification.deadline if step.verification else None,
        "opened_at": step.opened_at,
        "ended_at": step.ended_at,
        "rating": step.rating,
    }


async def write_project(session: AsyncSession, project: Project, now: datetime) -> bool:
    """Store the project at its version; a stale (older or equal) version changes nothing but events.

    Returns whether the project rows were written.
    """
    table: Table = ProjectRow.__table__  # type: ignore[attr-defined]
    row = {
        "code": project.code,
        "name": project.name,
        "category": project.category,
        "status": project.status,
        "colour": project.colour,
        "stage": project.current_stage.value,
        "owner_org": project.owner_org,
        "agent": project.agent,
        "key_project": project.key_project,
        "revocations_open": sum(1 for s in project.steps if s.revocation_open),
        "version": project.version,
        "created_at": project.created_at,
        "updated_at": now,
        "state": project.model_dump(mode="json", exclude={"pending_events"}),
    }
    stmt = _insert(session, table).values(row)
    newer = stmt.on_conflict_do_update(
        index_elements=["code"],
        set_={k: stmt.excluded[k] for k in row if k not in ("code", "created_at")},
        where=table.c.version < stmt.excluded.version,
    )
    # RETURNING rather than rowcount: drivers disagree on rowcount for an upsert.
    written = (await session.execute(newer.returning(table.c.version))).first() is not None
    events = [
        {**e.model_dump(exclude={"detail"}), "code": project.code, "detail": e.model_dump(mode="json")["detail"]}
        for e in project.pending_events
    ]
    if not written:
        return False
    # This version is the newest: its events replace any a lost, retried attempt wrote under
    # the same numbers, and rows that attempt created and this state lacks are removed.
    await _upsert(session, EventRow, events)
    await session.execute(
        delete(EventRow).where(col(EventRow.code) == project.code, col(EventRow.seq) > project.event_seq)
    )
    problem_ids = [p.id for p in project.problems]
    await session.execute(
        delete(ProblemRow).where(col(ProblemRow.code) == project.code, col(ProblemRow.id).not_in(problem_ids))
    )
    rect_ids = [r.id for r in project.rectifications]
    await session.execute(
        delete(RectificationRow).where(
            col(RectificationRow.code) == project.code, col(RectificationRow.id).not_in(rect_ids)
        )
    )
    await _upsert(session, StepRow, [_step_row(project.code, s) for s in project.steps])
    await _upsert(
        session,
        ProblemRow,
        [
            {
                "id": p.id,
                "code": project.code,
                "step": p.step,
                "stage": p.stage.value,
                "level": p.level,
                "status": p.status,
                "origin": p.origin,
                "summary": p.summary,
                "raised_by": p.raised_by,
                "reminders": p.reminders,
                "opened_at": p.opened_at,
                "due_at": p.clock.deadline if p.status == "open" else None,
                "resolved_at": p.resolved_at,
                "resolved_by": p.resolved_by,
                "resolution": p.resolution,
            }
            for p in project.problems
        ],
    )
    await _upsert(
        session,
        RectificationRow,
        [
            {
                "id": r.id,
                "code": project.code,
                "step": r.step,
                "department": r.department,
                "status": r.status,
                "score": r.score,
                "opened_at": r.opened_at,
                "due_at": r.clock.deadline if r.status == "open" else None,
                "answer": r.answer,
            }
            for r in project.rectifications
        ],
    )
    return True


async def forget_project(session: AsyncSession, code: str) -> None:
    """Remove a project from the read model (tests and rebuilds only)."""
    for model in (EventRow, StepRow, ProblemRow, RectificationRow, ProjectRow):
        await session.execute(delete(model).where(col(model.code) == code))
