"""The read-model writer: newest version wins whole, a stale write changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select

from activities.publish import write_project
from domain.project import OpenProblem
from models.db import make_engine, session_factory
from models.tables import EventRow, ProblemRow, ProjectRow
from settings import Settings
from tests.domain.support import OWNER, new_project

pytestmark = pytest.mark.asyncio(loop_scope="session")
NOW = datetime(2026, 3, 2, 10, tzinfo=UTC)


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
