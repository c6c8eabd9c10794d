"""Publishing a project: its clocks timed on the working-day calendar, then its state written to the
read model, idempotently and in version order.

Two local activities, called in this order by the workflow: `time_clocks` answers timings, which
the workflow stores; `store_project` writes the project as the workflow now holds it. Nothing
travels back from the write. `publish_project` is the single activity of projects started
before that split, kept for them (it times, applies the timings to its copy, writes, and answers
the timings).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog
from pydantic import BaseModel
from sqlalchemy import Table, and_, delete, or_
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity

from domain.clock import ClockQuery, ClockTiming, compute_timing
from domain.notices import notices
from domain.project import Event, Problem, Project, Rectification, Step
from domain.project.timing import horizon
from models import totals
from models.calendar_store import CalendarSource
from models.db import insert
from models.notification_store import write_notifications
from models.tables import NO_DEADLINE, EventRow, NotificationRow, ProblemRow, ProjectRow, RectificationRow, StepRow

log = structlog.get_logger("approvals.publish")


class TimeClocks(BaseModel):
    """Clocks whose spans changed; `fresh_calendar` after the office changed the calendar."""

    clocks: list[ClockQuery]
    fresh_calendar: bool = False


class Timings(BaseModel):
    """The timing of each clock asked for."""

    timings: list[ClockTiming]


class StoreProject(BaseModel):
    """The project as the workflow holds it, at the workflow's `now`."""

    project: Project
    now: datetime


class LegacyPublishInput(BaseModel):
    """`publish_project`'s input: the project, the clocks to time, the workflow's `now`."""

    project: Project
    clocks: list[ClockQuery]
    now: datetime


class LegacyPublishResult(BaseModel):
    """`publish_project`'s answer: timings for the workflow to store, the last event written."""

    timings: list[ClockTiming]
    last_event_seq: int


class Publisher:
    """Holds the read model's sessions, the calendar and the notice channels configured; the worker wires them."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], calendar: CalendarSource, channels: tuple[str, ...] = ()
    ) -> None:
        self._sessions = sessions
        self._calendar = calendar
        self._channels = channels

    @activity.defn(name="time_clocks")
    async def time_clocks(self, inp: TimeClocks) -> Timings:
        """Deadlines, warnings and used days of each clock, on the calendar in force."""
        async with self._sessions() as session:
            calendar = await self._calendar.calendar(session, fresh=inp.fresh_calendar)
        return Timings(timings=[compute_timing(calendar, query) for query in inp.clocks])

    @activity.defn(name="store_project")
    async def store_project(self, inp: StoreProject) -> None:
        """Write the project at its version; a stale write changes nothing (see write_project)."""
        async with self._sessions() as session:
            written = await write_project(session, inp.project, inp.now, self._channels)
            await session.commit()
        self._logged(inp.project, written)

    @activity.defn(name="publish_project")
    async def publish_project(self, inp: LegacyPublishInput) -> LegacyPublishResult:
        """Projects started before the split: time, apply as the workflow will, write, answer the timings."""
        project = inp.project
        async with self._sessions() as session:
            calendar = await self._calendar.calendar(session)
            timings = [compute_timing(calendar, q) for q in inp.clocks]
            project.apply_timings(timings, inp.now)
            written = await write_project(session, project, inp.now, self._channels)
            await session.commit()
        self._logged(project, written)
        return LegacyPublishResult(timings=timings, last_event_seq=project.event_seq)

    @staticmethod
    def _logged(project: Project, written: bool) -> None:
        log.debug(
            "project_published",
            project_code=project.code,
            workflow_id=activity.info().workflow_id,
            version=project.version,
            written=written,
            events=len(project.pending_events),
        )


async def write_project(session: AsyncSession, project: Project, now: datetime, channels: tuple[str, ...] = ()) -> bool:
    """Store the project at its version; a stale write (an older version, or the same version at the
    same or an earlier `now`) changes nothing.

    Returns whether the project was written. The newest version's events replace any that a
    lost, retried attempt wrote under the same numbers, and rows that attempt created and this
    state lacks are removed. The notices of the new events are written with them (the outbox:
    a notification exists exactly when its event does), with a delivery per channel in `channels`.
    """
    table: Table = ProjectRow.__table__  # type: ignore[attr-defined]
    row = project_row(project, now)
    stmt = insert(session, table).values(row)
    # Newer: a higher version, or the same version published later. A workflow task lost with the
    # Temporal server (an update's, which the history never records) is retried at the same
    # history length, so at the same version, but at a later workflow time: the retry must win.
    newer = stmt.on_conflict_do_update(
        index_elements=["code"],
        set_={k: stmt.excluded[k] for k in row if k not in ("code", "created_at")},
        where=or_(
            table.c.version < stmt.excluded.version,
            and_(table.c.version == stmt.excluded.version, table.c.updated_at < stmt.excluded.updated_at),
        ),
    )
    code = project.code
    # Read (and lock) what the stored rows count for before they change: the totals move by the difference.
    before = await totals.stored_contributions(session, code)
    # RETURNING rather than rowcount: drivers disagree on rowcount for an upsert.
    if (await session.execute(newer.returning(table.c.version))).first() is None:
        return False
    await _upsert(session, EventRow, [event_row(code, e) for e in project.pending_events])
    await session.execute(delete(EventRow).where(col(EventRow.code) == code, col(EventRow.seq) > project.event_seq))
    await session.execute(
        delete(NotificationRow).where(
            col(NotificationRow.project_code) == code, col(NotificationRow.event_seq) > project.event_seq
        )
    )
    await write_notifications(session, notices(project, project.pending_events), code, channels, now)
    problem_ids = [p.id for p in project.problems]
    await session.execute(
        delete(ProblemRow).where(col(ProblemRow.code) == code, col(ProblemRow.id).not_in(problem_ids))
    )
    rect_ids = [r.id for r in project.rectifications]
    await session.execute(
        delete(RectificationRow).where(col(RectificationRow.code) == code, col(RectificationRow.id).not_in(rect_ids))
    )
    steps = [step_row(code, s) for s in project.steps]
    problems = [problem_row(code, p) for p in project.problems]
    await _upsert(session, StepRow, steps)
    await _upsert(session, ProblemRow, problems)
    await _upsert(session, RectificationRow, [rectification_row(code, r) for r in project.rectifications])
    # Last, so that the shared totals' rows stay locked for as short a time as possible.
    await totals.add(session, totals.difference(totals.contributions(row, steps, problems), before))
    return True


async def forget_project(session: AsyncSession, code: str) -> None:
    """Remove a project from the read model (tests and rebuilds only), and from the totals."""
    await totals.add(session, totals.difference({}, await totals.stored_contributions(session, code)))
    await session.execute(delete(NotificationRow).where(col(NotificationRow.project_code) == code))
    for model in (EventRow, StepRow, ProblemRow, RectificationRow, ProjectRow):
        await session.execute(delete(model).where(col(model.code) == code))


async def _upsert(session: AsyncSession, model: Any, rows: list[dict[str, Any]]) -> None:
    # One statement executed with many rows (not VALUES built per call), so SQLAlchemy compiles
    # it once and caches it: compiling was half the cost of a publish.
    if not rows:
        return
    table: Table = model.__table__
    keys = [c.name for c in table.primary_key.columns]
    stmt = insert(session, table)
    updates = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys}
    await session.execute(stmt.on_conflict_do_update(index_elements=keys, set_=updates), rows)


def project_row(project: Project, now: datetime) -> dict[str, Any]:
    """The project's row: what lists filter on, and its whole state."""
    return {
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
        "live": not project.finished,
        "horizon": horizon(project),
        "version": project.version,
        "created_at": project.created_at,
        "updated_at": now,
        "state": project.model_dump(mode="json", exclude={"pending_events"}),
    }


def event_row(code: str, event: Event) -> dict[str, Any]:
    """One line of the timeline."""
    return {**event.model_dump(exclude={"detail"}), "code": code, "detail": event.model_dump(mode="json")["detail"]}


def step_row(code: str, step: Step) -> dict[str, Any]:
    """One step, for inboxes and statistics."""
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
        "inbox_due": step_deadline(step) or NO_DEADLINE,
        "opened_at": step.opened_at,
        "ended_at": step.ended_at,
        "rating": step.rating,
    }


def step_deadline(step: Step) -> datetime | None:
    """The deadline of whoever holds the step now: the verification's once a commitment is granted."""
    if step.status == "granted":
        return step.verification.deadline if step.verification else None
    return step.clock.deadline


def problem_row(code: str, problem: Problem) -> dict[str, Any]:
    """One problem and where it sits on the ladder; `due_at` while it is open."""
    fields = ("id", "step", "level", "status", "origin", "summary", "raised_by", "reminders", "opened_at")
    return {
        **{name: getattr(problem, name) for name in fields},
        "code": code,
        "stage": problem.stage.value,
        "due_at": problem.clock.deadline if problem.status == "open" else None,
        "resolved_at": problem.resolved_at,
        "resolved_by": problem.resolved_by,
        "resolution": problem.resolution,
    }


def rectification_row(code: str, rect: Rectification) -> dict[str, Any]:
    """One rectification; `due_at` while it is open."""
    fields = ("id", "step", "department", "status", "score", "opened_at", "answer")
    return {
        **{name: getattr(rect, name) for name in fields},
        "code": code,
        "due_at": rect.clock.deadline if rect.status == "open" else None,
    }
