"""The office's own views: the working-day calendar as data, the catalog and the statistics."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from api.main import create_app
from domain.project import Step
from launch.databases import create_database, drop_database, migrate
from launch.processes import TemporalDevServer
from models.seed import seed
from tests.chain import create, walk
from tests.conftest import Api, make_settings, open_api
from worker import build_worker
from workflows.project import ProjectWorkflow
from workflows.search import connect

pytestmark = pytest.mark.asyncio(loop_scope="session")

# The 2027 arrangement as the office would key it in (illustrative dates for the test).
HOLIDAYS_2027 = ["2027-01-01", "2027-02-05", "2027-02-08", "2027-02-09", "2027-02-10", "2027-02-11"]
WORKDAYS_2027 = ["2027-02-06", "2027-02-20"]
# The statistics test's working day: a minute, so that in the seconds the test runs no step turns
# yellow and no problem climbs, while the working days a step used show in three decimals.
STATS_WORKDAY = 60.0


async def test_calendar_year_not_loaded_is_provisional_until_the_office_loads_it(api: Api) -> None:
    before = await api.get("/calendar/2031", "owner-a")
    assert before.status_code == 200 and before.json()["provisional"] is True
    assert "2031-10-01" in before.json()["holidays"]  # rule-based National Day
    loaded = await api.get("/calendar/2026", "owner-a")
    assert loaded.json()["provisional"] is False and "2026-10-10" in loaded.json()["workdays"]

    body = {"holidays": HOLIDAYS_2027, "workdays": WORKDAYS_2027}
    assert (await api.call("PUT", "/calendar/2027", "owner-a", json=body)).status_code == 403
    r = await api.call("PUT", "/calendar/2027", "office-1", json=body)
    assert r.status_code == 200, r.text
    shown = (await api.get("/calendar/2027", "leader-1")).json()
    assert shown["provisional"] is False and shown["workdays"] == WORKDAYS_2027 and shown["source"] == "office"


async def test_calendar_refuses_a_bad_arrangement_and_changes_nothing(api: Api) -> None:
    before = (await api.get("/calendar/2028", "office-1")).json()
    weekday_as_workday = {"holidays": [], "workdays": ["2028-03-01"]}
    r = await api.call("PUT", "/calendar/2028", "office-1", json=weekday_as_workday)
    assert r.status_code == 422 and r.json()["code"] == "invalid_calendar"
    other_year = {"holidays": ["2029-01-01"], "workdays": []}
    assert (await api.call("PUT", "/calendar/2028", "office-1", json=other_year)).status_code == 422
    assert (await api.get("/calendar/2028", "office-1")).json() == before


async def test_catalog_lists_every_category_with_its_stages(api: Api) -> None:
    catalog = (await api.get("/catalog", "owner-a")).json()
    keys = {c["key"] for c in catalog["categories"]}
    assert keys >= {"general", "low_risk", "photovoltaic", "ev_charging", "expansion", "decoration"}
    general = next(c for c in catalog["categories"] if c["key"] == "general")
    assert general["stages"] == ["initiation", "engineering", "construction", "acceptance"]


@pytest.fixture
async def own_stack() -> AsyncIterator[tuple[Api, Client]]:
    """A Temporal server, a read model, a worker and the app of their own, where nothing else runs.

    Its own Temporal server too: project codes are numbered per read model, so a fresh read model
    on the shared server would issue codes that name projects of the session's.
    """
    server = TemporalDevServer.start()
    url = create_database(os.environ.get("APPROVALS_TEST_DATABASE_URL"))
    try:
        migrate(url)
        settings = make_settings(url, server.address, workday_seconds=STATS_WORKDAY)
        await seed(settings)
        client = await connect(settings.temporal_address, settings.temporal_namespace)
        async with build_worker(client, settings):
            async for api in open_api(create_app(settings)):
                yield api, client
    finally:
        drop_database(url)
        server.stop()


async def ok(response: Awaitable[httpx.Response], status: int = 200) -> dict[str, Any]:
    r = await response
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    return body


async def ok_list(api: Api, path: str) -> list[dict[str, Any]]:
    r = await api.get(path, "office-1")
    assert r.status_code == 200, r.text
    return list(r.json())


async def decide(api: Api, code: str, step: str, outcome: str, reviewer: str = "reviewer-drc") -> None:
    body = {"outcome": outcome, "comment": f"{outcome}: reason"}
    await ok(api.post(f"/projects/{code}/steps/{step}/decision", reviewer, json=body))


def working_days(step: Step) -> float:
    """The working days a decided step's clock ran, from the spans it ran in."""
    return sum((span.end - span.start) / timedelta(seconds=STATS_WORKDAY) for span in step.clock.spans if span.end)


async def test_statistics_for_chiefs_office_and_leaders_only(own_stack: tuple[Api, Client]) -> None:
    api, client = own_stack
    approval = "/projects/{}/steps/project_approval/{}"
    # 1. general: returned once, then approved; rated 5.
    returned = (await create(api))["code"]
    await ok(api.post(approval.format(returned, "submit"), "owner-a", json={}))
    await decide(api, returned, "project_approval", "return")
    await ok(api.post(approval.format(returned, "submit"), "owner-a", json={"note": "corrected"}))
    await decide(api, returned, "project_approval", "approve")
    await ok(api.post(approval.format(returned, "rating"), "owner-a", json={"score": 5}))
    # 2. general: rejected; rated 1, which opens a rectification for drc.
    rejected = (await create(api))["code"]
    await ok(api.post(approval.format(rejected, "submit"), "owner-a", json={}))
    await decide(api, rejected, "project_approval", "reject")
    await ok(api.post(approval.format(rejected, "rating"), "owner-a", json={"score": 1, "comment": "slow"}))
    # 3. low_risk, owner-b: approved all the way to completion.
    completed = (await create(api, "low_risk", owner="owner-b"))["code"]
    assert (await walk(api, completed, owner="owner-b"))["status"] == "completed"
    # 4. key project: its problem starts at level 2; the office raises it to level 3.
    escalated = (await create(api, key_project=True))["code"]
    problem = await ok(api.post(f"/projects/{escalated}/problems", "owner-a", json={"summary": "no grid"}), 201)
    await ok(api.post(f"/problems/{problem['created_id']}/raise", "office-1", json={"reason": "needs the office"}))
    # 5. general, owner-b: one problem resolved by the project's agent, then one left open at level 1.
    created = await create(api, owner="owner-b")
    troubled, agent = created["code"], created["agent"]
    problem = await ok(api.post(f"/projects/{troubled}/problems", "owner-b", json={"summary": "site access"}), 201)
    await ok(api.post(f"/problems/{problem['created_id']}/resolve", agent, json={"resolution": "gate opened"}))
    await ok(api.post(f"/projects/{troubled}/problems", "owner-b", json={"summary": "water supply"}), 201)

    for refused in ("owner-a", agent, "reviewer-drc"):
        assert (await api.get("/stats", refused)).status_code == 403, refused
    stats = await ok(api.get("/stats", "leader-1"))
    for reader in ("chief-acceptance", "office-1"):
        assert await ok(api.get("/stats", reader)) == stats, reader

    # Projects: every stage they stand at, colour and status. A completed project stands at its
    # last stage; an open problem makes a project yellow, at level 3 red.
    assert stats["projects"] == {
        "by_stage": {"initiation": 4, "acceptance": 1},
        "by_colour": {"green": 3, "yellow": 1, "red": 1},
        "by_status": {"active": 4, "completed": 1},
    }

    # Departments: the steps each decided (approved or rejected), with their limits in working days.
    states = {
        code: await client.get_workflow_handle(code).query(ProjectWorkflow.state)
        for code in (returned, rejected, completed)
    }
    decided = {
        "drc": [(returned, "project_approval", 10), (rejected, "project_approval", 10), (completed, "filing", 1)],
        "nrp": [(completed, "combined_permit", 2), (completed, "planning_check", 3)],
        "housing": [
            (completed, "construction_permit", 3),
            (completed, "quality_inspection", 3),
            (completed, "completion_filing", 1),
        ],
        "survey": [(completed, "survey", 1)],
    }
    # Ratings given, and the share of good ones (4 or 5): drc's 5 and 1.
    ratings = {"drc": (2, 0.5)}
    # The returned step's clock ran twice: from the submission to the return, and from the
    # resubmission to the approval; the time with the owner does not count.
    timeline = await ok_list(api, f"/projects/{returned}/events")
    moments = [
        datetime.fromisoformat(e["at"])
        for e in timeline
        if e["action"] in ("submitted", "returned", "resubmitted", "approved")
    ]
    spans = states[returned].step("project_approval").clock.spans
    assert [(span.start, span.end) for span in spans] == [tuple(moments[0:2]), tuple(moments[2:4])]
    assert set(stats["departments"]) == set(decided)
    for department, steps_decided in decided.items():
        shown = stats["departments"][department]
        used = [working_days(states[code].step(key)) for code, key, _ in steps_decided]
        assert all(days > 0 for days in used), (department, used)
        limits = [limit for _, _, limit in steps_decided]
        rated, satisfaction = ratings.get(department, (0, None))
        assert shown["decided_steps"] == len(steps_decided), department
        assert shown["on_time_rate"] == 1.0, department  # each decided within a fraction of a day
        # Rounded to three decimals: within half of the last one of the exact mean.
        assert abs(shown["mean_working_days"] - sum(used) / len(used)) <= 0.0005 + 1e-9, (department, used)
        assert shown["mean_limit_working_days"] == round(sum(limits) / len(limits), 3), department
        assert (shown["ratings"], shown["satisfaction_rate"]) == (rated, satisfaction), department

    # The ladder: open problems by level, and the one resolved, with how long it took.
    resolved = next(
        p
        for p in (await client.get_workflow_handle(troubled).query(ProjectWorkflow.state)).problems
        if p.status == "resolved"
    )
    assert resolved.resolved_at is not None
    hours = (resolved.resolved_at - resolved.opened_at) / timedelta(hours=1)
    assert stats["problems"]["open_by_level"] == {"1": 1, "3": 1}
    assert stats["problems"]["resolved"] == 1
    assert abs(stats["problems"]["mean_hours_to_resolve"] - hours) <= 0.0005 + 1e-9, hours


async def test_office_manages_users_and_only_the_office(api: Api) -> None:
    body = {"username": "reviewer-drc-2", "password": "long-enough-pass", "role": "reviewer", "department": "drc"}
    assert (await api.post("/users", "leader-1", json=body)).status_code == 403
    r = await api.post("/users", "office-1", json=body)
    assert r.status_code == 201, r.text
    assert "password" not in r.text and r.json()["department"] == "drc"
    assert (await api.post("/users", "office-1", json=body)).status_code == 409
    unbound = {**body, "username": "reviewer-none", "department": None}
    assert (await api.post("/users", "office-1", json=unbound)).json()["code"] == "binding_required"
    login = await api.client.post("/auth/token", data={"username": "reviewer-drc-2", "password": "long-enough-pass"})
    assert login.status_code == 200
    r = await api.call("PATCH", "/users/reviewer-drc-2", "office-1", json={"active": False})
    assert r.status_code == 200 and r.json()["active"] is False
    refused = await api.client.post("/auth/token", data={"username": "reviewer-drc-2", "password": "long-enough-pass"})
    assert refused.status_code == 401
    listed = (await api.get("/users", "office-1")).json()
    assert any(u["username"] == "reviewer-drc-2" and not u["active"] for u in listed)


async def test_office_changes_the_catalog_for_new_projects_only(api: Api) -> None:
    catalog = (await api.get("/catalog", "office-1")).json()
    low_risk = next(c for c in catalog["categories"] if c["key"] == "low_risk")
    running = (await create(api, "low_risk"))["code"]
    changed = {k: v for k, v in low_risk.items() if k != "stages"}
    changed["steps"] = [{**s, "limit_working_days": s["limit_working_days"] + 1} for s in changed["steps"]]
    assert (await api.call("PUT", "/catalog/low_risk", "leader-1", json=changed)).status_code == 403
    r = await api.call("PUT", "/catalog/low_risk", "office-1", json=changed)
    assert r.status_code == 200, r.text
    broken = {**changed, "steps": [{**s, "department": "nowhere"} for s in changed["steps"]]}
    bad = await api.call("PUT", "/catalog/low_risk", "office-1", json=broken)
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_category"
    fresh = (await create(api, "low_risk"))["code"]
    old_limit = (await api.get(f"/projects/{running}", "office-1")).json()["stages"][0]["steps"][0][
        "limit_working_days"
    ]
    new_limit = (await api.get(f"/projects/{fresh}", "office-1")).json()["stages"][0]["steps"][0]["limit_working_days"]
    assert new_limit == old_limit + 1
    r = await api.call(
        "PUT", "/catalog/low_risk", "office-1", json={k: v for k, v in low_risk.items() if k != "stages"}
    )
    assert r.status_code == 200  # restore the shipped limits for the other tests


async def test_password_reset_cuts_existing_tokens(api: Api) -> None:
    # Not a deputy: a new active deputy with no projects would take every project created after it,
    # and the tests that log in as a project's deputy with the demo password would fail.
    body = {"username": "leader-reset", "password": "first-password", "role": "leader"}
    assert (await api.post("/users", "office-1", json=body)).status_code == 201
    login = await api.client.post("/auth/token", data={"username": "leader-reset", "password": "first-password"})
    token = login.json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    assert (await api.client.get("/me", headers=auth)).status_code == 200
    r = await api.call("PATCH", "/users/leader-reset", "office-1", json={"password": "second-password"})
    assert r.status_code == 200
    assert (await api.client.get("/me", headers=auth)).status_code == 401
    fresh = await api.client.post("/auth/token", data={"username": "leader-reset", "password": "second-password"})
    assert fresh.status_code == 200
    assert (
        await api.client.get("/me", headers={"Authorization": f"Bearer {fresh.json()['access_token']}"})
    ).status_code == 200
