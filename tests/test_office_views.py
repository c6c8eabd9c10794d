"""The office's own views: the working-day calendar as data, the catalog and the statistics."""

from __future__ import annotations

import pytest

from tests.chain import create, walk
from tests.conftest import Api

pytestmark = pytest.mark.asyncio(loop_scope="session")

# The 2027 arrangement as the office would key it in (illustrative dates for the test).
HOLIDAYS_2027 = ["2027-01-01", "2027-02-05", "2027-02-08", "2027-02-09", "2027-02-10", "2027-02-11"]
WORKDAYS_2027 = ["2027-02-06", "2027-02-20"]


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


async def test_statistics_for_chiefs_office_and_leaders_only(api: Api) -> None:
    code = (await create(api, "photovoltaic"))["code"]
    await walk(api, code)
    assert (await api.get("/stats", "owner-a")).status_code == 403
    assert (await api.get("/stats", "reviewer-drc")).status_code == 403
    stats = (await api.get("/stats", "leader-1")).json()
    by_status = stats["projects"]["by_status"]
    total = sum(by_status.values())
    assert by_status["completed"] >= 1 and sum(stats["projects"]["by_colour"].values()) == total
    drc = stats["departments"]["drc"]
    assert drc["decided_steps"] >= 1 and 0 <= drc["on_time_rate"] <= 1
    assert drc["mean_working_days"] <= drc["mean_limit_working_days"]


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
    body = {"username": "agent-reset", "password": "first-password", "role": "agent"}
    assert (await api.post("/users", "office-1", json=body)).status_code == 201
    login = await api.client.post("/auth/token", data={"username": "agent-reset", "password": "first-password"})
    token = login.json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    assert (await api.client.get("/me", headers=auth)).status_code == 200
    r = await api.call("PATCH", "/users/agent-reset", "office-1", json={"password": "second-password"})
    assert r.status_code == 200
    assert (await api.client.get("/me", headers=auth)).status_code == 401
    fresh = await api.client.post("/auth/token", data={"username": "agent-reset", "password": "second-password"})
    assert fresh.status_code == 200
    assert (
        await api.client.get("/me", headers={"Authorization": f"Bearer {fresh.json()['access_token']}"})
    ).status_code == 200
