"""Deadlines on the real working-day calendar, through the whole service: statutory counting for new
projects, the office's close of business, and a calendar change reaching running projects at once.

Each stack here has a database of its own, seeded with the years chinese-calendar knows (up to
2026): any later year is provisional until the office loads it, whichever day the tests run.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from temporalio.client import Client

from api.main import create_app
from launch.databases import create_database, drop_database, migrate
from launch.processes import TemporalDevServer
from models.seed import seed
from tests.chain import create, steps, view
from tests.conftest import Api, eventually, make_settings, open_api
from worker import build_worker
from workflows.project import ProjectWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")
SHANGHAI = ZoneInfo("Asia/Shanghai")
LONG = 60  # working days: a step submitted today runs into a year nobody has loaded
LONG_CATEGORY = {
    "key": "long_review",
    "name": "长周期审查 Long review",
    "description": "One long review, so that a deadline crosses into a year the calendar does not hold yet.",
    "project_type": "01",
    "steps": [
        {
            "key": "long_review",
            "name": "长周期审查 Long review",
            "stage": "initiation",
            "department": "drc",
            "limit_working_days": LONG,
        }
    ],
}


async def real_calendar_stack(
    temporal_server: TemporalDevServer, temporal_client: Client, **overrides: Any
) -> AsyncIterator[Api]:
    """A worker and an API on the real calendar (no compressed days), with a database of their own.

    The Temporal server is the session's: a region code of its own keeps its project codes (the
    workflow ids) apart from every other stack's.
    """
    url = create_database(os.environ.get("APPROVALS_TEST_DATABASE_URL"))
    try:
        migrate(url)
        settings = make_settings(url, temporal_server.address, workday_seconds=0, **overrides)
        await seed(settings)
        async with build_worker(temporal_client, settings):
            async for api in open_api(create_app(settings)):
                yield api
    finally:
        drop_database(url)


@pytest.fixture(scope="module")
async def midnight(temporal_server: TemporalDevServer, temporal_client: Client) -> AsyncIterator[Api]:
    async for api in real_calendar_stack(temporal_server, temporal_client, region_code="310101"):
        yield api


@pytest.fixture(scope="module")
async def half_past_five(temporal_server: TemporalDevServer, temporal_client: Client) -> AsyncIterator[Api]:
    async for api in real_calendar_stack(temporal_server, temporal_client, region_code="310104", office_closes="17:30"):
        yield api


def nth_working_day_after(day: date, n: int, days_off: set[date] | None = None) -> date:
    """The n-th working day after `day`: chinese-calendar's for the years it knows, else weekdays not in `days_off`."""
    found = 0
    while found < n:
        day += timedelta(days=1)
        works = (
            chinese_calendar.is_workday(day)
            if day.year <= 2026
            else day.weekday() < 5 and day not in (days_off or set())
        )
        found += works
    return day


async def submitted(api: Api, category: str, key: str) -> tuple[dict[str, Any], datetime]:
    """A new project of `category` whose step `key` was just submitted: the step, and the submission instant."""
    code = (await create(api, category))["code"]
    r = await api.post(f"/projects/{code}/steps/{key}/submit", "owner-a", json={"note": "materials attached"})
    assert r.status_code == 200, r.text
    events = (await api.get(f"/projects/{code}/events", "owner-a")).json()
    at = datetime.fromisoformat(next(e["at"] for e in events if e["action"] == "submitted"))
    return {"code": code, **r.json()["step"]}, at.astimezone(SHANGHAI)


def local(instant: str) -> datetime:
    return datetime.fromisoformat(instant).astimezone(SHANGHAI)


async def rollout_result(client: Client, year: int, since: datetime) -> int:
    """How many projects the calendar rollout for `year` started after `since` told (waiting for it to finish).

    Other tests load calendar years on the same Temporal server: only this test's rollout counts.
    """
    ours = [
        w.id
        async for w in client.list_workflows("WorkflowType = 'CalendarRollout'")
        if w.id.startswith(f"calendar-{year}-") and w.start_time >= since
    ]
    assert len(ours) == 1, ours
    told: int = await client.get_workflow_handle(ours[0]).result()
    return told


async def test_a_new_project_counts_whole_working_days_from_the_next_day(midnight: Api) -> None:
    step, at = await submitted(midnight, "general", "project_approval")  # 10 working days
    deadline = local(step["deadline"])
    # Due at 24:00 of the 10th working day after the day of submission: 00:00 of the day after it.
    assert deadline == datetime.combine(nth_working_day_after(at.date(), 10) + timedelta(days=1), time(0), SHANGHAI)
    assert not step["provisional"]
    shown = steps(await view(midnight, step["code"]))["project_approval"]
    assert shown["used_fraction"] == 0.0  # the day of submission does not count


async def test_the_office_close_of_business_ends_every_period(half_past_five: Api) -> None:
    step, at = await submitted(half_past_five, "general", "project_approval")
    # After 17:30 an application is received the next day; the day it is received does not count.
    received = at.date() if at.time() <= time(17, 30) else at.date() + timedelta(days=1)
    assert local(step["deadline"]) == datetime.combine(nth_working_day_after(received, 10), time(17, 30), SHANGHAI)


async def test_loading_a_year_moves_a_provisional_deadline_at_once_and_says_why(
    midnight: Api, temporal_client: Client
) -> None:
    r = await midnight.call("PUT", "/catalog/long_review", "office-1", json=LONG_CATEGORY)
    assert r.status_code == 200, r.text
    step, at = await submitted(midnight, "long_review", "long_review")
    before = local(step["deadline"])
    year = (before - timedelta(days=1)).year
    assert year > 2026 and step["provisional"] is True, step
    provisional = (await midnight.get(f"/calendar/{year}", "office-1")).json()
    assert provisional["provisional"] is True
    off = {date.fromisoformat(d) for d in provisional["holidays"]}
    assert before == datetime.combine(
        nth_working_day_after(at.date(), LONG, off) + timedelta(days=1), time(0), SHANGHAI
    )

    # The office loads the year: the holidays already assumed, and five more weekdays just before
    # the deadline (a local closure, say). The deadline must move five working days later, now.
    extra: list[date] = []
    candidate = before.date() - timedelta(days=1)
    while len(extra) < 5:
        candidate -= timedelta(days=1)
        if candidate.weekday() < 5 and candidate not in off and candidate.year == year:
            extra.append(candidate)
    body = {"holidays": sorted(d.isoformat() for d in off | set(extra)), "workdays": []}
    put_at = datetime.now(UTC)
    r = await midnight.call("PUT", f"/calendar/{year}", "office-1", json=body)
    assert r.status_code == 200 and r.json()["provisional"] is False, r.text
    code = step["code"]

    async def moved() -> dict[str, Any]:
        timeline = (await midnight.get(f"/projects/{code}/events", "owner-a")).json()
        found: list[dict[str, Any]] = [e for e in timeline if e["action"] == "deadline_moved"]
        assert found
        return found[0]

    event = await eventually(moved, within=30)
    expected = datetime.combine(
        nth_working_day_after(at.date(), LONG, off | set(extra)) + timedelta(days=1), time(0), SHANGHAI
    )
    assert local(event["detail"]["to"]) == expected and local(event["detail"]["from"]) == before
    assert event["step"] == "long_review" and event["actor"] == "system"
    assert f"calendar {year}" in event["detail"]["reason"] and "office-1" in event["detail"]["reason"]
    assert event["detail"]["provisional_before"] is True and event["detail"]["provisional"] is False
    shown = steps(await view(midnight, code))["long_review"]
    assert local(shown["deadline"]) == expected and shown["provisional"] is False
    assert await rollout_result(temporal_client, year, put_at) >= 1
    await same_as_the_workflow(midnight, temporal_client, code)


async def same_as_the_workflow(api: Api, client: Client, code: str) -> None:
    """The read model holds the workflow's own state: its version, deadlines and every event it
    recorded (the moved deadline's too), each once."""
    held = await client.get_workflow_handle(code).query(ProjectWorkflow.state)
    shown = await view(api, code)
    assert shown["version"] == held.version
    deadlines = {s.key: s.clock.deadline for s in held.steps}
    assert {
        k: datetime.fromisoformat(s["deadline"]) if s["deadline"] else None for k, s in steps(shown).items()
    } == deadlines
    timeline = (await api.get(f"/projects/{code}/events", "owner-a")).json()
    assert sorted(e["seq"] for e in timeline) == list(range(1, held.event_seq + 1))


async def test_a_year_beyond_every_clock_tells_no_project(midnight: Api, temporal_client: Client) -> None:
    step, _ = await submitted(midnight, "general", "project_approval")
    year = local(step["deadline"]).year + 3  # past every clock of every project of this database
    put_at = datetime.now(UTC)
    r = await midnight.call(
        "PUT", f"/calendar/{year}", "office-1", json={"holidays": [f"{year}-01-01"], "workdays": []}
    )
    assert r.status_code == 200, r.text
    assert await rollout_result(temporal_client, year, put_at) == 0
    assert local(steps(await view(midnight, step["code"]))["project_approval"]["deadline"]) == local(step["deadline"])
