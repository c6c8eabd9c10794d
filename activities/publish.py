"""Publishing a project: its clocks timed on the working-day calendar, then its state written to the
read model, idempotently and in version order.

One local activity, `publish`, does both: it times the project's stale clocks, applies the
timings to its copy of the project (the domain's `apply_timings` is pure), writes that copy and
answers the timings, which the workflow applies to its own state, so both hold the same project.
Projects started before it keep theirs: `time_clocks` then `store_project` (nothing travels back
from the write), or, older still, `publish_project` (which times, writes and answers the timings
and the last event written).
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any, Literal

import structlog
from pydantic import BaseModel
from sqlalchemy import Boolean, Table, and_, bindparam, delete, literal_column, or_, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity

from activities.written import NOTHING, Rows, Written, WrittenRows
from domain.clock import ClockQuery, ClockTiming, compute_timing
from domain.notices import notices
from domain.project import Event, Problem, Project, Rectification, Step
from domain.project.timing import horizon
from models import totals
from models.batch import Answer, Batch
from models.calendar_store import CalendarSource
from models.db import dialect_insert, dialect_of
from models.notification_store import ask_recipients, people_of, write_notifications
from models.tables import NO_DEADLINE, EventRow, NotificationRow, ProblemRow, ProjectRow, RectificationRow, StepRow

log = structlog.get_logger("approvals.publish")
Stored = Literal["stale", "new", "replaced"]


class TimeClocks(BaseModel):
    """Clocks whose spans changed; `fresh_calendar` after the office changed the calendar."""

    clocks: list[ClockQuery]
    fresh_calendar: bool = False


class Timings(BaseModel):
    """The timing of each clock asked for."""

    timings: list[ClockTiming]
    # `Publish.rebuilt` given back, so that it is in the history and the run's choices replay the same.
    rebuilt: bool = False


class Publish(BaseModel):
    """The project as the workflow holds it, before its stale clocks are timed, at the workflow's
    `now`; `reason` when the office changed the calendar (moved deadlines say so)."""

    project: Project
    now: datetime
    reason: str | None = None
    # The worker rebuilt the run from its history: it had lost it from its cache.
    rebuilt: bool = False


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
        self._written = WrittenRows()  # what this worker last committed of each project

    @activity.defn(name="publish")
    async def publish(self, inp: Publish) -> Timings:
        """Time the stale clocks, apply the timings as the workflow will, write the project; the timings."""
        project = inp.project
        clocks = project.stale_clocks()
        timings = await self._timings(clocks, fresh=inp.reason is not None) if clocks else []
        if clocks:
            project.apply_timings(timings, inp.now, inp.reason)
        await self._store(project, inp.now)
        return Timings(timings=timings, rebuilt=inp.rebuilt)

    @activity.defn(name="time_clocks")
    async def time_clocks(self, inp: TimeClocks) -> Timings:
        """Deadlines, warnings and used days of each clock, on the calendar in force."""
        return Timings(timings=await self._timings(inp.clocks, fresh=inp.fresh_calendar))

    @activity.defn(name="store_project")
    async def store_project(self, inp: StoreProject) -> None:
        """Write the project as the workflow holds it (see `_store`)."""
        await self._store(inp.project, inp.now)

    async def _timings(self, clocks: list[ClockQuery], fresh: bool) -> list[ClockTiming]:
        async with self._sessions() as session:
            calendar = await self._calendar.calendar(session, fresh=fresh)
        return [compute_timing(calendar, query) for query in clocks]

    async def _store(self, project: Project, now: datetime) -> None:
        """Write the project at its version (the rows that changed since this worker's last write of
        it, when the read model still holds that); a stale write changes nothing (see write_changes)."""
        code = project.code
        last = self._written.get(code)
        self._written.forget(code)  # until this write is committed, the read model's state is unknown
        async with self._sessions() as session:
            written = await write_changes(session, project, now, self._channels, last, commit=True)
        if written is not None:
            self._written.put(code, written)
        self._logged(project, written is not None)

    @activity.defn(name="publish_project")
    async def publish_project(self, inp: LegacyPublishInput) -> LegacyPublishResult:
        """Projects started before the split: time, apply as the workflow will, write, answer the timings."""
        project = inp.project
        timings = await self._timings(inp.clocks, fresh=False)
        project.apply_timings(timings, inp.now)
        async with self._sessions() as session:
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
    """Store the project at its version, every row of it; a stale write changes nothing. Returns
    whether the project was written (see `write_changes`)."""
    return await write_changes(session, project, now, channels) is not None


async def write_changes(
    session: AsyncSession,
    project: Project,
    now: datetime,
    channels: tuple[str, ...] = (),
    last: Written | None = None,
    commit: bool = False,
) -> Written | None:
    """Store the project at its version; a stale write (an older version, or the same version at the
    same or an earlier `now`) changes nothing (None).

    The newest version's events replace any that a lost, retried attempt wrote under the same
    numbers, and rows that attempt created and this state lacks are removed. The notices of the
    new events are written with them (the outbox: a notification exists exactly when its event
    does), with a delivery per channel in `channels`.

    `last` is what this worker last committed of the project (activities/written.py). When the
    read model still holds exactly that write (its version and its `now`), only the rows that
    changed since are written; otherwise every row is. With `commit`, a write commits its
    transaction with its last statements (one round trip fewer; a stale write has nothing to
    commit). Returns what was written, for the caller to remember after commit.
    """
    table: Table = ProjectRow.__table__  # type: ignore[attr-defined]
    row = project_row(project, now)
    code = project.code
    told = notices(project, project.pending_events)
    batch = Batch(session)
    # Who is told, read in the same round trip as the project row's move (the common case).
    asked = ask_recipients(batch, (audience for notice in told for audience in notice.audiences))
    moved = _move_on(batch, table, row, last) if last is not None and last.newer(project.version, now) else None
    await batch.send()
    if moved is None or not moved.rows:
        last = None  # someone else wrote it since: what the read model holds is not known here
    if last is None and _never_published(project) and await _inserted(session, table, row):
        before, last = {}, NOTHING  # a new project: no stored row counted for anything
    elif last is None:
        # Read (and lock) what the stored rows count for before they change: the totals move by the difference.
        before = await totals.stored_contributions(session, code)
        stored = await _upsert_newer(session, table, row)
        if stored == "stale":
            return None
        last = NOTHING if stored == "new" else None  # a new project has no other rows to replace
    else:
        before = last.totals  # the read model holds exactly that write, and so what it counted for
    rows: Rows = {
        "steps": {s.key: step_row(code, s) for s in project.steps},
        "problems": {p.id: problem_row(code, p) for p in project.problems},
        "rectifications": {r.id: rectification_row(code, r) for r in project.rectifications},
    }
    _upsert(batch, EventRow, [event_row(code, e) for e in project.pending_events])
    if last is None or last.event_seq > project.event_seq:
        seq = project.event_seq
        await session.execute(delete(EventRow).where(col(EventRow.code) == code, col(EventRow.seq) > seq))
        await session.execute(
            delete(NotificationRow).where(
                col(NotificationRow.project_code) == code, col(NotificationRow.event_seq) > seq
            )
        )
    write_notifications(batch, told, code, channels, now, people_of(asked))
    for name, ended in (("problems", ProblemRow), ("rectifications", RectificationRow)):
        ids = set(rows[name])
        if last is None or last.gone(name, ids):
            await session.execute(delete(ended).where(col(ended.code) == code, col(ended.id).not_in(ids)))
    for name, model in (("steps", StepRow), ("problems", ProblemRow), ("rectifications", RectificationRow)):
        changed = [r for key, r in rows[name].items() if last is None or last.changed(name, key, r)]
        _upsert(batch, model, changed)
    counted = totals.contributions(row, rows["steps"].values(), rows["problems"].values())
    # Last, so that the shared totals' rows stay locked for as short a time as possible.
    totals.add(batch, totals.difference(counted, before))
    await batch.send(commit=commit)
    return Written.of(project.version, now, project.event_seq, rows, counted)


async def _upsert_newer(session: AsyncSession, table: Table, row: dict[str, Any]) -> Stored:
    """Insert the project row, or replace it if ours is newer. `new` only when PostgreSQL says the
    row was inserted (`xmax` is 0 for a row this statement inserted); SQLite cannot tell, `replaced`."""
    found = (await session.execute(_upsert_newer_statement(table, dialect_of(session), tuple(row)), row)).first()
    if found is None:
        return "stale"
    return "new" if found[1] else "replaced"


@cache
def _upsert_newer_statement(table: Table, dialect: str, columns: tuple[str, ...]) -> Any:
    # Built once (the row's values travel as parameters): building it per write cost a tenth of
    # a new project's write.
    stmt = dialect_insert(dialect, table)
    # Newer: a higher version, or the same version published later. A workflow task lost with the
    # Temporal server (an update's, which the history never records) is retried at the same
    # history length, so at the same version, but at a later workflow time: the retry must win.
    newer = stmt.on_conflict_do_update(
        index_elements=["code"],
        set_={k: stmt.excluded[k] for k in columns if k not in ("code", "created_at")},
        where=or_(
            table.c.version < stmt.excluded.version,
            and_(table.c.version == stmt.excluded.version, table.c.updated_at < stmt.excluded.updated_at),
        ),
    )
    inserted = literal_column("xmax = 0" if dialect == "postgresql" else "0", Boolean())
    # RETURNING rather than rowcount: drivers disagree on rowcount for an upsert.
    return newer.returning(table.c.version, inserted)


def _never_published(project: Project) -> bool:
    """Every event still waits to be written: the project's first publish (or a retry of it)."""
    return bool(project.pending_events) and project.pending_events[0].seq == 1


async def _inserted(session: AsyncSession, table: Table, row: dict[str, Any]) -> bool:
    """Insert the project row unless one is stored; whether it was (one statement where the
    general path reads what the stored rows count for, then upserts)."""
    stmt = _insert_new_statement(table, dialect_of(session))
    return (await session.execute(stmt, row)).first() is not None


@cache
def _insert_new_statement(table: Table, dialect: str) -> Any:
    return dialect_insert(dialect, table).on_conflict_do_nothing(index_elements=["code"]).returning(table.c.code)


def _move_on(batch: Batch, table: Table, row: dict[str, Any], last: Written) -> Answer:
    """Queue the project row's replacement, only if it still holds `last`'s write (version and
    time); the answer has a row when it did.

    The row lock this takes also orders concurrent publishes of the project, as the upsert's does.
    """
    values = {k: v for k, v in row.items() if k not in ("code", "created_at")}
    held = {"held_code": row["code"], "held_version": last.version, "held_now": last.now}
    return batch.ask(_move_on_statement(table), {**values, **held})


@cache
def _move_on_statement(table: Table) -> Any:
    # Built once: the SET clause comes from the parameters' column names, so building and
    # coercing a statement per publish (a third of this write's CPU) is left out.
    held = (
        (table.c.code == bindparam("held_code"))
        & (table.c.version == bindparam("held_version"))
        & (table.c.updated_at == bindparam("held_now"))
    )
    return update(table).where(held).returning(table.c.version)


async def forget_project(session: AsyncSession, code: str) -> None:
    """Remove a project from the read model (tests and rebuilds only), and from the totals."""
    batch = Batch(session)
    totals.add(batch, totals.difference({}, await totals.stored_contributions(session, code)))
    await batch.send()
    await session.execute(delete(NotificationRow).where(col(NotificationRow.project_code) == code))
    for model in (EventRow, StepRow, ProblemRow, RectificationRow, ProjectRow):
        await session.execute(delete(model).where(col(model.code) == code))


def _upsert(batch: Batch, model: Any, rows: list[dict[str, Any]]) -> None:
    # One statement for many rows (not VALUES built per call), built once per table and dialect:
    # building its SET clause cost more than the rows.
    batch.add(_upsert_statement(model.__table__, dialect_of(batch.session)), rows)


@cache
def _upsert_statement(table: Table, dialect: str) -> Any:
    keys = [c.name for c in table.primary_key.columns]
    base = dialect_insert(dialect, table)
    updates = {c.name: base.excluded[c.name] for c in table.columns if c.name not in keys}
    return base.on_conflict_do_update(index_elements=keys, set_=updates)


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
