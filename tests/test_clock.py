"""Time made real: colours, overdue steps, the four-level ladder and ratings, with compressed working days.

One working day lasts WORKDAY seconds here, so a 10-working-day step turns yellow after 8 s
and red after 10 s. Two kinds of checks, kept apart:

- what the rules fix exactly (a deadline, the instant a problem's level starts) is compared
  exactly, from the read model's deadlines (`due_at`) or the workflow's own state;
- when the workflow acted (an audit event's `at`) depends on when its timer fired and the worker
  ran: on a busy machine that may be LATE by up to LATENESS, but never early.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from api.main import create_app
from domain.project import Project
from launch.processes import TemporalDevServer
from settings import Settings
from tests.chain import create, steps, view
from tests.conftest import Api, eventually, make_settings, open_api
from worker import build_worker
from workflows.project import ProjectWorkflow
from workflows.search import COLOUR

pytestmark = pytest.mark.asyncio(loop_scope="session")
WORKDAY = 1.0
# How late the workflow may act on a busy 2-core machine (a timer fired late, a worker slow to run).
LATENESS = timedelta(seconds=3)
# Response limit of each level of the ladder, in working days (docs/time.md, "The ladder"); at
# level 4, the interval between reminders.
LEVEL_LIMITS = {1: 1, 2: 2, 3: 3, 4: 2}
# Temporal runs no timer shorter than one second (docs/time.md). A one-day step's yellow and
# red are 0.2 working days apart, so its test needs a day long enough to keep that gap >= 1 s.
ONE_DAY_STEP_WORKDAY = 6.0


async def compressed_stack(
    database_url: str, temporal_server: TemporalDevServer, temporal_client: Client, workday: float
) -> AsyncIterator[Api]:
    """An API and a worker on a task queue of their own, where a working day lasts `workday` seconds."""
    settings: Settings = make_settings(database_url, temporal_server.address, workday_seconds=workday)
    worker: Worker = build_worker(temporal_client, settings)
    async with worker:
        async for api in open_api(create_app(settings)):
            yield api


@pytest.fixture(scope="module")
async def fast(database_url: str, temporal_server: TemporalDevServer, temporal_client: Client) -> AsyncIterator[Api]:
    async for api in compressed_stack(database_url, temporal_server, temporal_client, WORKDAY):
        yield api


@pytest.fixture(scope="module")
async def one_day_step(
    database_url: str, temporal_server: TemporalDevServer, temporal_client: Client
) -> AsyncIterator[Api]:
    async for api in compressed_stack(database_url, temporal_server, temporal_client, ONE_DAY_STEP_WORKDAY):
        yield api


def days(n: float) -> timedelta:
    return timedelta(seconds=n * WORKDAY)


def instant(value: str) -> datetime:
    return datetime.fromisoformat(value)


def at(event: dict[str, Any]) -> datetime:
    return instant(event["at"])


async def events(api: Api, code: str) -> list[dict[str, Any]]:
    r = await api.get(f"/projects/{code}/events", "office-1")
    assert r.status_code == 200, r.text
    return list(r.json())


async def state(client: Client, code: str) -> Project:
    """The workflow's own state, as its `state` query answers it."""
    return await client.get_workflow_handle(code).query(ProjectWorkflow.state)


def fired_at(actual: datetime, due: datetime) -> bool:
    """The workflow acted at `due` or after it, late by at most LATENESS, never early."""
    return due <= actual <= due + LATENESS


def ladder_due(start: datetime, level: int, reminders: int = 0, first: int = 1) -> datetime:
    """When a problem whose level `first` began at `start` runs out at `level` (after `reminders`
    reminders at level 4). Each level, and each reminder, starts exactly when the one before ran
    out, so the whole ladder follows from `start` by arithmetic."""
    limits = sum(LEVEL_LIMITS[lvl] for lvl in range(first, level + 1)) + reminders * LEVEL_LIMITS[4]
    return start + days(limits)


async def until(moment: datetime) -> None:
    """Wait until a known instant has passed (only to show that nothing happened by then)."""
    await asyncio.sleep(max(0.0, (moment - datetime.now().astimezone()).total_seconds()))


async def test_project_left_alone_turns_yellow_then_red_and_its_problem_climbs_the_ladder(
    fast: Api, temporal_client: Client
) -> None:
    code = (await create(fast))["code"]
    submitted = await fast.post(f"/projects/{code}/steps/project_approval/submit", "owner-a", json={})
    assert submitted.status_code == 200, submitted.text
    assert (await view(fast, code))["colour"] == "green"
    start = at(next(e for e in await events(fast, code) if e["action"] == "submitted"))
    # Exact: the step's clock runs from the submission, yellow at 8 working days, due at 10.
    deadline = instant(submitted.json()["step"]["deadline"])
    assert deadline == start + days(10)
    clock = (await state(temporal_client, code)).step("project_approval").clock
    assert [s.start for s in clock.spans] == [start] and clock.warn_at == start + days(8)

    # Watch the read model while the problem climbs: every level's deadline it shows, exactly.
    shown: dict[tuple[int, int], set[datetime]] = {}

    async def reminded() -> list[dict[str, Any]]:
        for problem in (await view(fast, code))["open_problems"]:
            shown.setdefault((problem["level"], problem["reminders"]), set()).add(instant(problem["due_at"]))
        found = await events(fast, code)
        assert any(e["action"] == "problem_reminder" for e in found)
        return found

    timeline = await eventually(reminded, within=40, interval=0.1)
    # The overdue step's problem starts at the step's deadline, and each level at the one before's
    # deadline: so each level's deadline follows from the step's alone. Levels 1 and 2 last one
    # and two seconds and may flash by on a busy machine; level 3 lasts LATENESS, level 4 for good.
    assert {3, 4} <= {level for level, _ in shown}, shown
    expected = {key: {ladder_due(deadline, *key)} for key in shown}
    assert shown == expected, (start, shown)
    problem = (await state(temporal_client, code)).problems[0]
    assert problem.level == 4 and problem.reminders >= 1
    assert [s.start for s in problem.clock.spans] == [ladder_due(deadline, 4, problem.reminders - 1)]
    assert problem.clock.deadline == ladder_due(deadline, 4, problem.reminders)

    # The audit events carry when the workflow acted: at each of those instants, or late, never early.
    colours = [(e["detail"]["to"], at(e)) for e in timeline if e["action"] == "colour_changed"]
    assert [c for c, _ in colours] == ["yellow", "red"], colours
    assert fired_at(colours[0][1], start + days(8)) and fired_at(colours[1][1], deadline), (start, colours)
    overdue = next(e for e in timeline if e["action"] == "overdue")
    raised = next(e for e in timeline if e["action"] == "problem_raised")
    assert raised["detail"]["level"] == 1 and raised["detail"]["origin"] == "overdue"
    assert fired_at(at(overdue), deadline) and at(raised) == at(overdue)
    climbs = [e for e in timeline if e["action"] == "problem_escalated"]
    assert [e["detail"]["level"] for e in climbs] == [2, 3, 4]
    acted = [(e["detail"]["level"], at(e), ladder_due(deadline, e["detail"]["level"] - 1)) for e in climbs]
    assert all(fired_at(when, due) for _, when, due in acted), (start, acted)
    reminder = next(e for e in timeline if e["action"] == "problem_reminder")
    assert fired_at(at(reminder), ladder_due(deadline, 4)), (start, at(reminder))
    project = await view(fast, code)
    assert project["colour"] == "red" and project["open_problems"][0]["level"] == 4
    step = steps(project)["project_approval"]
    assert step["colour"] == "red" and step["used_fraction"] > 1.0

    # The Temporal UI lists projects by status, stage and category; the colour, which moves with
    # the clock, only the office's own lists (docs/decisions.md).
    async def listed_without_colour() -> None:
        query = f"ProjectStatus = 'active' AND ProjectStage = 'initiation' AND WorkflowId = '{code}'"
        found = [w async for w in temporal_client.list_workflows(f"{query} AND ExecutionStatus = 'Running'")]
        assert [w.id for w in found] == [code]
        assert found[0].typed_search_attributes.get(COLOUR) is None

    await eventually(listed_without_colour, within=10)


async def open_problem(api: Api, code: str, summary: str) -> str:
    r = await api.post(f"/projects/{code}/problems", "owner-a", json={"summary": summary})
    assert r.status_code == 201, r.text
    return str(r.json()["created_id"])


async def test_resolution_at_level_three_stops_the_climb_and_the_colour_recovers(
    fast: Api, temporal_client: Client
) -> None:
    code = (await create(fast))["code"]
    control = (await create(fast))["code"]
    problem_id = await open_problem(fast, code, "land boundary dispute")
    # The same problem on a control project, opened just after and never resolved.
    await open_problem(fast, control, "land boundary dispute, left alone")
    assert (await view(fast, code))["colour"] == "yellow"
    opened = at(next(e for e in await events(fast, code) if e["action"] == "problem_raised"))

    async def at_level(project_code: str, level: int) -> dict[str, Any]:
        project = await view(fast, project_code)
        assert project["open_problems"][0]["level"] == level and project["colour"] == "red"
        shown: dict[str, Any] = project["open_problems"][0]
        return shown

    level_three = await eventually(lambda: at_level(code, 3), within=10, interval=0.1)
    # Exact: level 3 began when level 2 ran out; left alone it would reach level 4 at this instant.
    climb_due = instant(level_three["due_at"])
    assert climb_due == ladder_due(opened, 3)
    early = await fast.post(f"/problems/{problem_id}/resolve", "chief-initiation", json={"resolution": "n/a"})
    assert early.status_code == 403  # a level-2 holder is below level 3
    r = await fast.post(f"/problems/{problem_id}/resolve", "office-1", json={"resolution": "boundary re-surveyed"})
    assert r.status_code == 200, r.text
    project = await view(fast, code)
    assert project["colour"] == "green" and project["open_problems"] == []

    # The control problem, opened after this one, does reach level 4: the worker kept climbing
    # problems through the instant this one would have climbed.
    await eventually(lambda: at_level(control, 4), within=(climb_due - opened).total_seconds() + 10)
    # A wait until a known instant, only to show that nothing happened by then: this problem's
    # level 4 was due at `climb_due`, and the workflow would have acted on it within LATENESS.
    await until(climb_due + LATENESS)
    timeline = await events(fast, code)
    assert [e["detail"]["level"] for e in timeline if e["action"] == "problem_escalated"] == [2, 3]
    resolved = next(i for i, e in enumerate(timeline) if e["action"] == "problem_resolved")
    assert timeline[resolved]["actor"] == "office-1" and timeline[resolved]["detail"]["level"] == 3
    after = [(e["action"], e["detail"]) for e in timeline[resolved + 1 :]]
    assert after == [("colour_changed", {"from": "red", "to": "green"})]
    project = await view(fast, code)
    assert project["colour"] == "green" and project["open_problems"] == []
    problem = (await state(temporal_client, code)).problems[0]
    assert problem.status == "resolved" and problem.level == 3 and not problem.clock.running
    assert problem.clock.spans[-1].end == problem.resolved_at == at(timeline[resolved])


async def test_return_pauses_the_clock_by_exactly_the_time_with_the_owner(fast: Api) -> None:
    code = (await create(fast))["code"]
    first = (await fast.post(f"/projects/{code}/steps/project_approval/submit", "owner-a", json={})).json()
    deadline = datetime.fromisoformat(first["step"]["deadline"])
    await eventually(lambda: _used_at_least(fast, code, 1.0), within=5)
    r = await fast.post(
        f"/projects/{code}/steps/project_approval/decision", "reviewer-drc", json={"outcome": "return", "comment": "x"}
    )
    assert r.status_code == 200 and r.json()["step"]["deadline"] is None
    paused_fraction = r.json()["step"]["used_fraction"]
    await eventually(lambda: _owner_held_for(fast, code, 2.0), within=5)
    assert steps(await view(fast, code))["project_approval"]["used_fraction"] == paused_fraction  # paused
    again = (await fast.post(f"/projects/{code}/steps/project_approval/submit", "owner-a", json={})).json()
    timeline = await events(fast, code)
    returned = at(next(e for e in timeline if e["action"] == "returned"))
    resubmitted = at(next(e for e in timeline if e["action"] == "resubmitted"))
    moved = datetime.fromisoformat(again["step"]["deadline"]) - deadline
    assert abs(moved - (resubmitted - returned)) < timedelta(milliseconds=2)
    assert moved >= timedelta(seconds=2)


async def _used_at_least(api: Api, code: str, working_days: float) -> None:
    step = steps(await view(api, code))["project_approval"]
    assert step["used_fraction"] * step["limit_working_days"] >= working_days


async def _owner_held_for(api: Api, code: str, seconds: float) -> None:
    returned = next(e for e in await events(api, code) if e["action"] == "returned")
    assert datetime.now().astimezone() - at(returned) >= timedelta(seconds=seconds)


async def test_deemed_approval_at_the_deadline_names_the_department(one_day_step: Api) -> None:
    code = (await create(one_day_step, "low_risk"))["code"]
    r = await one_day_step.post(f"/projects/{code}/steps/filing/submit", "owner-a", json={})
    assert r.status_code == 200, r.text
    deadline = instant(r.json()["step"]["deadline"])
    submitted = at(next(e for e in await events(one_day_step, code) if e["action"] == "submitted"))
    assert deadline == submitted + timedelta(seconds=ONE_DAY_STEP_WORKDAY)  # exact: one working day

    async def deemed() -> dict[str, Any]:
        found = [e for e in await events(one_day_step, code) if e["action"] == "deemed_approved"]
        assert found
        return found[0]

    event = await eventually(deemed, within=ONE_DAY_STEP_WORKDAY + 10)
    assert event["detail"]["responsible_department"] == "drc" and event["actor"] == "system"
    assert fired_at(at(event), deadline), (deadline, at(event))
    project = await view(one_day_step, code)
    assert steps(project)["filing"]["status"] == "approved"
    assert not any(e["action"] == "problem_raised" for e in await events(one_day_step, code))


async def rate(api: Api, code: str, score: int) -> str:
    await api.post(f"/projects/{code}/steps/project_approval/submit", "owner-a", json={})
    await api.post(f"/projects/{code}/steps/project_approval/decision", "reviewer-drc", json={"outcome": "approve"})
    r = await api.post(
        f"/projects/{code}/steps/project_approval/rating", "owner-a", json={"score": score, "comment": "slow"}
    )
    assert r.status_code == 200, r.text
    return str(r.json()["created_id"])


async def test_bad_rating_answer_accepted(fast: Api) -> None:
    code = (await create(fast))["code"]
    rect = await rate(fast, code, 2)
    again = await fast.post(f"/projects/{code}/steps/project_approval/rating", "owner-a", json={"score": 5})
    assert again.status_code == 409 and again.json()["code"] == "already_rated"
    inbox = await fast.every("/tasks", "reviewer-drc")
    assert any(t["kind"] == "rectification" and t["id"] == rect for t in inbox)
    r = await fast.post(f"/rectifications/{rect}/answer", "reviewer-drc", json={"answer": "added a fast lane"})
    assert r.status_code == 200, r.text
    assert any(t["id"] == rect for t in await fast.every("/tasks", "owner-a"))
    r = await fast.post(f"/rectifications/{rect}/judgement", "owner-a", json={"accept": True})
    assert r.status_code == 200, r.text
    project = await view(fast, code)
    assert project["rectifications"][0]["status"] == "accepted" and project["open_problems"] == []


async def test_bad_rating_answer_rejected_becomes_a_level_two_problem(fast: Api) -> None:
    code = (await create(fast))["code"]
    rect = await rate(fast, code, 1)
    await fast.post(f"/rectifications/{rect}/answer", "reviewer-drc", json={"answer": "we apologise"})
    r = await fast.post(
        f"/rectifications/{rect}/judgement", "owner-a", json={"accept": False, "comment": "nothing changed"}
    )
    assert r.status_code == 200, r.text
    project = await view(fast, code)
    assert project["rectifications"][0]["status"] == "escalated"
    assert [(p["level"], p["origin"]) for p in project["open_problems"]] == [(2, "rectification")]


async def test_unanswered_rectification_escalates_after_five_working_days(fast: Api) -> None:
    code = (await create(fast))["code"]
    rect = await rate(fast, code, 2)
    opened = at(next(e for e in await events(fast, code) if e["action"] == "rectification_opened"))
    due = opened + days(5)
    assert [instant(r["due_at"]) for r in (await view(fast, code))["rectifications"]] == [due]  # exact

    async def escalated() -> dict[str, Any]:
        found = [e for e in await events(fast, code) if e["action"] == "rectification_escalated"]
        assert found
        return found[0]

    event = await eventually(escalated, within=12)
    assert event["detail"]["id"] == rect and fired_at(at(event), due), (due, at(event))
    # The level-2 problem it became started at the rectification's limit, not when the workflow
    # woke: whatever level it has reached by now, its deadline follows from `due` exactly.
    problem = (await view(fast, code))["open_problems"][0]
    assert problem["origin"] == "rectification"
    assert instant(problem["due_at"]) == ladder_due(due, problem["level"], problem["reminders"], first=2)


async def test_each_role_has_its_own_inbox(api: Api) -> None:
    """On the slow clock: each holder of the ladder sees the problem in its inbox, then raises it."""
    code = (await create(api))["code"]
    owner_tasks = await api.every("/tasks", "owner-a")
    assert any(t["project_code"] == code and t["step"] == "project_approval" for t in owner_tasks)
    await api.post(f"/projects/{code}/steps/project_approval/submit", "owner-a", json={})
    reviewer_tasks = await api.every("/tasks", "reviewer-drc")
    assert any(t["project_code"] == code and t["kind"] == "step" for t in reviewer_tasks)
    deadlines = [t["deadline"] for t in reviewer_tasks if t["deadline"]]
    assert deadlines == sorted(deadlines)  # soonest deadline first
    assert not any(t["project_code"] == code for t in await api.every("/tasks", "reviewer-fire"))
    r = await api.post(f"/projects/{code}/problems", "owner-a", json={"summary": "need a site meeting"})
    problem_id = r.json()["created_id"]
    agent = (await view(api, code))["agent"]
    holders = {1: agent, 2: "chief-initiation", 3: "office-1", 4: "leader-1"}
    for level, holder in holders.items():
        tasks = await api.every("/tasks", holder)
        held = [t for t in tasks if t["kind"] == "problem" and t["id"] == problem_id]
        assert [t["status"] for t in held] == [f"level {level}"], (holder, held)
        others = [user for other, user in holders.items() if other != level]
        for user in others:  # a problem is in the inbox of its level's holder only
            assert not any(t["id"] == problem_id for t in await api.every("/tasks", user)), user
        if level < 4:
            raised = await api.post(f"/problems/{problem_id}/raise", holder, json={"reason": "needs the next level"})
            assert raised.status_code == 200, raised.text
    assert not any(t["id"] == problem_id for t in await api.every("/tasks", "chief-acceptance"))


async def test_manual_raise_and_resolution_only_by_the_holder_or_above(api: Api) -> None:
    """On the slow clock, so nothing climbs by itself during the test."""
    code = (await create(api, key_project=True))["code"]
    agent = (await view(api, code))["agent"]
    r = await api.post(f"/projects/{code}/problems", "owner-a", json={"summary": "utility connection blocked"})
    problem_id = r.json()["created_id"]
    problem = (await view(api, code))["open_problems"][0]
    assert problem["level"] == 2  # key projects start at level 2
    assert (await api.post(f"/problems/{problem_id}/raise", agent, json={"reason": "x"})).status_code == 403
    wrong_stage = await api.post(f"/problems/{problem_id}/raise", "chief-acceptance", json={"reason": "x"})
    assert wrong_stage.status_code == 403
    hidden = await api.post(f"/problems/{problem_id}/resolve", "owner-b", json={"resolution": "x"})
    assert hidden.status_code == 404
    r = await api.post(f"/problems/{problem_id}/raise", "chief-initiation", json={"reason": "needs the office"})
    assert r.status_code == 200, r.text
    assert (
        await api.post(f"/problems/{problem_id}/resolve", "chief-initiation", json={"resolution": "x"})
    ).status_code == 403
    r = await api.post(f"/problems/{problem_id}/resolve", "leader-1", json={"resolution": "agreed with the utility"})
    assert r.status_code == 200, r.text
    again = await api.post(f"/problems/{problem_id}/resolve", "leader-1", json={"resolution": "again"})
    assert again.status_code == 409
    moves = [
        e for e in (await api.get(f"/projects/{code}/events", "owner-a")).json() if e["action"].startswith("problem_")
    ]
    assert [(e["action"], e["actor"]) for e in moves] == [
        ("problem_raised", "owner-a"),
        ("problem_escalated", "chief-initiation"),
        ("problem_resolved", "leader-1"),
    ]
