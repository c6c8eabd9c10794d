"""The read-model writer: newest version wins whole, a stale write changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from activities.publish import write_changes, write_project
from activities.written import Written
from domain.project import OpenProblem, Project
from models.db import make_engine, session_factory
from models.tables import EventRow, ProblemRow, ProjectRow, StepRow
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
        written = await write_changes(db, project, NOW, (), last)
        await db.commit()
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
