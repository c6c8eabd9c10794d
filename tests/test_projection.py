"""The read-model writer: newest version wins whole, a stale write changes nothing."""

from __future__ import annotations

import math
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from activities.publish import forget_project, write_changes, write_project
from activities.written import Written
from api.queries import statistics_of
from bench.city import OWNER as CITY_OWNER
from bench.city import T_CODE, Driver, build
from domain.calendar import WorkCalendar
from domain.catalog import default_catalog
from domain.codes import project_check_char
from domain.holidays import seed_years
from domain.project import OpenProblem, Project
from launch.databases import create_database, drop_database, migrate
from models import totals
from models.db import make_engine, session_factory
from models.seed import seed_demo_users
from models.tables import DeliveryRow, EventRow, NotificationRow, ProblemRow, ProjectRow, StepRow, UserRow
from settings import Settings
from tests.domain.support import OWNER, new_project

pytestmark = pytest.mark.asyncio(loop_scope="session")
NOW = datetime(2026, 3, 2, 10, tzinfo=UTC)
STEP = "project_approval"


async def read(settings: Settings, code: str) -> tuple[int, list[str], list[str]]:
    engine = make_engine(settings.database_url)
    async with session_factory(engine)() as db:
        row = await db.get(ProjectRow, code)
        assert row is not None
        events = (await db.exec(select(EventRow).where(col(EventRow.code) == code).order_by(col(EventRow.seq)))).all()
        problems = (await db.exec(select(ProblemRow.id).where(col(ProblemRow.code) == code))).all()
    await engine.dispose()
    return row.version, [f"{e.seq}:{e.action}" for e in events], list(problems)


async def publish(settings: Settings, project: object, version: int, now: datetime = NOW) -> bool:
    engine = make_engine(settings.database_url)
    async with session_factory(engine)() as db:
        project.version = version  # type: ignore[attr-defined]
        written = await write_project(db, project, now)  # type: ignore[arg-type]
        await db.commit()
    await engine.dispose()
    return written


async def test_a_retried_attempt_replaces_what_its_lost_first_attempt_wrote(settings: Settings) -> None:
    base = new_project()
    base.code = "2026-310115-01-01-999996"
    first = base.model_copy(deep=True)
    first.act(OpenProblem(actor=OWNER, summary="lost attempt"), NOW + timedelta(seconds=1))
    assert await publish(settings, first, 5000)
    version, events, problems = await read(settings, base.code)
    assert version == 5000 and any(e.endswith("problem_raised") for e in events) and len(problems) == 1

    retry = base.model_copy(deep=True)  # the retried task acts differently: no problem this time
    assert await publish(settings, retry, 7000)
    version, events, problems = await read(settings, base.code)
    assert version == 7000 and problems == []
    assert events == [f"{e.seq}:{e.action}" for e in retry.pending_events]

    assert not await publish(settings, first, 6000)  # stale: changes nothing
    assert await read(settings, base.code) == (7000, events, [])
    assert not await publish(settings, first, 7000)  # the same version again changes nothing either
    assert await read(settings, base.code) == (7000, events, [])
    assert await publish(settings, first, 7001)  # one above: the newer state wins
    assert (await read(settings, base.code))[2] == [p.id for p in first.problems]


async def write_remembered(settings: Settings, project: Project, version: int, last: Written | None) -> Written | None:
    """One publish as the worker makes it: with what it last committed of the project."""
    engine = make_engine(settings.database_url)
    async with session_factory(engine)() as db:
        project.version = version
        written = await write_changes(db, project, NOW, (), last, commit=True)  # read below from elsewhere
    await engine.dispose()
    return written


async def step_names(settings: Settings, code: str) -> dict[str, str]:
    engine = make_engine(settings.database_url)
    async with session_factory(engine)() as db:
        rows = (await db.exec(select(StepRow).where(col(StepRow.code) == code))).all()
    await engine.dispose()
    return {r.key: r.name for r in rows}


async def mark_steps(settings: Settings, code: str) -> None:
    """Change every step row behind the writer's back (the project row's version stays)."""
    engine = make_engine(settings.database_url)
    async with session_factory(engine)() as db:
        await db.execute(update(StepRow).where(col(StepRow.code) == code).values(name="untouched"))
        await db.commit()
    await engine.dispose()


async def test_a_publish_rewrites_only_the_rows_that_changed(settings: Settings) -> None:
    project = new_project()
    project.code = "2026-310115-01-01-999988"
    first = await write_remembered(settings, project, 1000, None)
    assert first is not None
    await mark_steps(settings, project.code)
    project.pending_events = []
    project.act(OpenProblem(actor=OWNER, summary="one problem", step=STEP), NOW + timedelta(seconds=1))
    second = await write_remembered(settings, project, 2000, first)
    assert second is not None
    names = await step_names(settings, project.code)
    changed = {key for key, row in second.rows["steps"].items() if row != first.rows["steps"][key]}
    assert names == {s.key: s.name if s.key in changed else "untouched" for s in project.steps}
    assert (await read(settings, project.code))[2] == [p.id for p in project.problems]


async def test_a_publish_writes_every_row_when_someone_else_wrote_since(settings: Settings) -> None:
    """Another writer (a lost attempt elsewhere) moved the project on: nothing remembered holds."""
    base = new_project()
    base.code = "2026-310115-01-01-999980"
    remembered = await write_remembered(settings, base.model_copy(deep=True), 1000, None)
    elsewhere = base.model_copy(deep=True)
    elsewhere.act(OpenProblem(actor=OWNER, summary="lost attempt"), NOW + timedelta(seconds=1))
    assert await publish(settings, elsewhere, 5000)
    await mark_steps(settings, base.code)
    retry = base.model_copy(deep=True)
    assert await write_remembered(settings, retry, 7000, remembered) is not None
    version, events, problems = await read(settings, base.code)
    assert (version, problems) == (7000, [])
    assert events == [f"{e.seq}:{e.action}" for e in retry.pending_events]
    assert set((await step_names(settings, base.code)).values()) == {s.name for s in retry.steps}


async def test_a_retry_on_the_same_worker_removes_its_lost_attempts_rows(settings: Settings) -> None:
    base = new_project()
    base.code = "2026-310115-01-01-999972"
    lost = base.model_copy(deep=True)
    lost.act(OpenProblem(actor=OWNER, summary="lost attempt"), NOW + timedelta(seconds=1))
    remembered = await write_remembered(settings, lost, 5000, None)
    retry = base.model_copy(deep=True)
    assert await write_remembered(settings, retry, 7000, remembered) is not None
    version, events, problems = await read(settings, base.code)
    assert (version, problems) == (7000, [])
    assert events == [f"{e.seq}:{e.action}" for e in retry.pending_events]
    assert await write_remembered(settings, lost, 7000, remembered) is None  # stale: changes nothing
    assert await read(settings, base.code) == (7000, events, [])


async def test_a_retry_at_the_same_version_but_later_replaces_the_lost_attempt(settings: Settings) -> None:
    """An update's workflow task lost with the Temporal server leaves no trace in the history, so
    its retry publishes at the same version; it runs later, and its state wins (chaos benchmark)."""
    base = new_project()
    base.code = "2026-310115-01-01-999995"
    lost = base.model_copy(deep=True)
    lost.act(OpenProblem(actor=OWNER, summary="lost with the server"), NOW)
    assert await publish(settings, lost, 9000, now=NOW)

    retry = base.model_copy(deep=True)
    later = NOW + timedelta(seconds=8)
    assert await publish(settings, retry, 9000, now=later)
    version, events, problems = await read(settings, base.code)
    assert version == 9000 and problems == []
    assert events == [f"{e.seq}:{e.action}" for e in retry.pending_events]

    assert not await publish(settings, lost, 9000, now=NOW)  # the lost attempt's write, late: changes nothing
    assert await read(settings, base.code) == (9000, events, [])


class Recorded(Driver):
    """Drives a project as the city generator does, keeping its state after every change."""

    def __init__(self, *args: Any) -> None:
        self.states: list[Project] = []
        super().__init__(*args)

    def time(self) -> None:
        super().time()
        self.states.append(self.project.model_copy(deep=True))


def recorded(profile: str, category: str, seed: int, code: str) -> list[Project]:
    """Every state a project of the profile went through, under its own code."""
    calendar = WorkCalendar(seed_years(), tz="Asia/Shanghai")
    drivers: list[Recorded] = []

    def driver(*args: Any) -> Recorded:
        drivers.append(Recorded(*args))
        return drivers[-1]

    spec = default_catalog().get(category)
    assert spec is not None
    build(spec, profile, calendar, datetime(2025, 3, 3, 1, 30, tzinfo=UTC), seed, driver)
    return [Project.model_validate_json(p.model_dump_json().replace(T_CODE, code)) for p in drivers[0].states]


@pytest.fixture
async def fresh_db() -> AsyncIterator[AsyncSession]:
    """A read model of its own (PostgreSQL when the tests have one), migrated and empty."""
    url = create_database(os.environ.get("APPROVALS_TEST_DATABASE_URL"))
    migrate(url)
    engine = make_engine(url)
    try:
        async with session_factory(engine)() as db:
            yield db
    finally:
        await engine.dispose()
        drop_database(url)


async def test_the_running_totals_equal_the_totals_of_the_rows(fresh_db: AsyncSession) -> None:
    """Every publish moves the totals by the difference it makes: after projects went through whole
    chains (returns, commitments, problems up the ladder, ratings, withdrawals), a stale write, a
    lost attempt replaced by its retry and a project removed, the totals and the statistics read
    from them are those computed from the rows."""
    db = fresh_db
    kinds = [
        ("troubled_completed", "general"),
        ("completed", "low_risk"),
        ("withdrawn", "general"),
        ("overdue", "general"),
        ("suspended", "general"),
    ]
    chains = [
        recorded(profile, category, seed=11 + n, code=f"{body}{project_check_char(body)}")
        for n, (profile, category) in enumerate(kinds)
        if (body := f"2025-310115-01-01-{n + 1:05d}")
    ]
    for states in chains:
        for version, state in enumerate(states, 1):
            state.version = version
            assert await write_project(db, state, NOW)
            await db.commit()
    assert not await write_project(db, chains[0][3], NOW)  # stale: moves nothing
    live = chains[3]  # overdue: a problem may still be opened
    lost, retry = live[-1].model_copy(deep=True), live[-1].model_copy(deep=True)
    lost.act(OpenProblem(actor=CITY_OWNER, summary="lost attempt"), NOW + timedelta(seconds=1))
    lost.version = retry.version = len(live) + 1
    assert await write_project(db, lost, NOW)
    retry.version += 1
    assert await write_project(db, retry, NOW)  # its problem is gone, and so is its count
    await forget_project(db, chains[1][-1].code)
    await db.commit()

    kept, computed = await totals.read(db), await totals.from_rows(db)
    assert {k for k, v in kept.items() if v} == {k for k, v in computed.items() if v}
    assert all(math.isclose(kept.get(k, 0), v, rel_tol=1e-9, abs_tol=1e-9) for k, v in computed.items())
    assert statistics_of(kept) == statistics_of(computed)
    shown = statistics_of(kept)
    assert shown["problems"]["resolved"] > 0 and set(shown["problems"]["open_by_level"]) >= {"1"}
    assert sum(d["ratings"] for d in shown["departments"].values()) > 0
    assert sum(shown["projects"]["by_status"].values()) == len(chains) - 1


async def test_a_write_elsewhere_at_the_same_version_but_later_is_not_taken_for_ours(settings: Settings) -> None:
    """A retry on another worker publishes at our version but later: what we remember no longer holds."""
    base = new_project()
    base.code = "2026-310115-01-01-999964"
    ours = base.model_copy(deep=True)
    ours.act(OpenProblem(actor=OWNER, summary="lost here"), NOW)
    remembered = await write_remembered(settings, ours, 9000, None)
    elsewhere = base.model_copy(deep=True)
    assert await publish(settings, elsewhere, 9000, now=NOW + timedelta(seconds=8))
    await mark_steps(settings, base.code)
    ours.pending_events = []
    assert await write_remembered(settings, ours, 10000, remembered) is not None
    assert (await read(settings, base.code))[2] == [p.id for p in ours.problems]
    assert set((await step_names(settings, base.code)).values()) == {s.name for s in ours.steps}


async def test_a_new_projects_first_write_retried_after_its_commit_changes_nothing(fresh_db: AsyncSession) -> None:
    """A new project's first write inserts its row without reading what stored rows counted for; a
    retry of that write after it committed (the same version and time) is stale and moves nothing."""
    db = fresh_db
    project = new_project()
    project.version = 1
    assert [e.seq for e in project.pending_events][:1] == [1]  # never published
    first = await write_changes(db, project, NOW)
    await db.commit()
    assert first is not None and first.totals
    counted = await totals.read(db)
    assert await write_changes(db, project.model_copy(deep=True), NOW) is None
    await db.commit()
    assert await totals.read(db) == counted
    assert {k: v for k, v in counted.items() if v} == await totals.from_rows(db)


async def test_a_publish_writes_each_notice_once_per_reader_with_a_delivery_per_channel_taken(
    fresh_db: AsyncSession,
) -> None:
    """The notices of a publish reach their readers with one delivery per channel each reader takes;
    the same write retried later (its commit's answer lost) keeps them, message ids and all."""
    db = fresh_db
    await seed_demo_users(db, "not-used")
    await db.execute(update(UserRow).where(col(UserRow.username) == "agent-1").values(webhook_enabled=False))
    await db.commit()
    project = new_project()
    project.version = 1
    first = await write_changes(db, project, NOW, ("email", "webhook"), commit=True)
    project.pending_events = []
    project.act(OpenProblem(actor=OWNER, summary="the site plan is stuck"), NOW + timedelta(minutes=1))
    project.version = 2
    raised = project.model_copy(deep=True)
    assert await write_changes(db, project, NOW + timedelta(minutes=1), ("email", "webhook"), first, commit=True)

    async def deliveries() -> dict[tuple[str, str], str]:
        rows = await db.execute(
            select(NotificationRow.username, DeliveryRow.channel, DeliveryRow.message_id)
            .join(NotificationRow, col(NotificationRow.id) == col(DeliveryRow.notification_id))
            .where(col(NotificationRow.project_code) == project.code, col(NotificationRow.kind) == "problem_raised")
        )
        return {(user, channel): message for user, channel, message in rows.all()}

    sent = await deliveries()
    readers = {user for user, _ in sent}
    assert "agent-1" in readers and "owner-a" not in readers  # the deputy is told; the one who raised it is not
    assert {channel for user, channel in sent if user == "agent-1"} == {"email"}  # its webhook is off
    assert all((user, "webhook") in sent for user in readers - {"agent-1"})
    raised.version = 3  # the same write retried at a newer version: nothing twice, nothing new
    assert await write_changes(db, raised, NOW + timedelta(minutes=2), ("email", "webhook"), commit=True)
    assert await deliveries() == sent
