"""One tenant never sees nor touches another's project, through any route.

owner-b (another organisation), the deputy the project was not assigned to, and a reviewer
whose department the project has not reached get, for owner-a's project, exactly what they
would get for a code that was never issued: 404, no list entry, no inbox task, no problem, no
event. Every refused action leaves the project's timeline as it was. Positive controls (the
project's own owner and agent do see it) keep these checks from passing on an empty answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from domain.codes import make_project_code
from models.seed import ORG_A
from tests.api.support import assert_problem, event_count
from tests.chain import create, view
from tests.conftest import Api

pytestmark = pytest.mark.asyncio(loop_scope="session")

MAX_PAGES = 100


@dataclass
class Target:
    code: str
    name: str
    agent: str
    other_agent: str
    problem: str
    rectification: str
    project: dict[str, Any]


@pytest.fixture(scope="module")
async def target(api: Api) -> Target:
    """owner-a's project with an open problem, an answered rectification and steps awaiting the owner."""
    project = await create(api, "general", "owner-a", name="Tenant secret plant 租户隔离")
    code = project["code"]
    agent = (await view(api, code, "office-1"))["agent"]
    assert agent in ("agent-1", "agent-2"), agent
    steps = f"/projects/{code}/steps/project_approval"
    assert (await api.post(f"{steps}/submit", "owner-a", json={})).status_code == 200
    assert (await api.post(f"{steps}/decision", "reviewer-drc", json={"outcome": "approve"})).status_code == 200
    r = await api.post(f"{steps}/rating", "owner-a", json={"score": 2, "comment": "too slow"})
    assert r.status_code == 200, r.text
    rectification = r.json()["created_id"]
    r = await api.post(f"/rectifications/{rectification}/answer", "reviewer-drc", json={"answer": "faster now"})
    assert r.status_code == 200, r.text
    r = await api.post(f"/projects/{code}/problems", "owner-a", json={"summary": "land office silent"})
    assert r.status_code == 201, r.text
    problem = r.json()["created_id"]
    other = "agent-2" if agent == "agent-1" else "agent-1"
    return Target(code, project["name"], agent, other, problem, rectification, await view(api, code))


def stranger_name(target: Target, who: str) -> str:
    return target.other_agent if who == "other-agent" else who


STRANGERS = ["owner-b", "other-agent", "reviewer-fire"]


async def listed_codes(api: Api, user: str, **params: Any) -> set[str]:
    """Every code GET /projects shows the user with these filters, all pages."""
    codes: set[str] = set()
    cursor = None
    for _ in range(MAX_PAGES):
        query = {**params, "limit": 200, **({"cursor": cursor} if cursor else {})}
        r = await api.get("/projects", user, params=query)
        assert r.status_code == 200, r.text
        page = r.json()
        codes |= {item["code"] for item in page["items"]}
        cursor = page["next_cursor"]
        if cursor is None:
            return codes
    raise AssertionError(f"more than {MAX_PAGES} pages of projects for {user}")


def filters(target: Target) -> list[dict[str, Any]]:
    p = target.project
    return [
        {},
        {"colour": p["colour"]},
        {"stage": p["stage"]},
        {"status": p["status"]},
        {"category": p["category"]},
        {"q": target.code},
        {"q": target.code.lower()},
        {"q": target.code[:11]},
        {"q": "租户隔离"},
        {"q": "%"},
        {"colour": p["colour"], "stage": p["stage"], "status": p["status"], "category": p["category"]},
    ]


async def test_the_projects_own_owner_and_agent_see_it_everywhere(api: Api, target: Target) -> None:
    for user in ("owner-a", target.agent):
        for params in filters(target):
            assert target.code in await listed_codes(api, user, **params), (user, params)
        problems = await api.every("/problems", user, status="all")
        assert target.problem in {p["id"] for p in problems}, user
    owner_tasks = await api.every("/tasks", "owner-a")
    assert {"step", "rectification"} <= {t["kind"] for t in owner_tasks if t["project_code"] == target.code}
    agent_tasks = await api.every("/tasks", target.agent)
    assert target.problem in {t["id"] for t in agent_tasks if t["project_code"] == target.code}


@pytest.mark.parametrize("who", STRANGERS)
async def test_a_stranger_cannot_find_the_project(api: Api, target: Target, who: str) -> None:
    user = stranger_name(target, who)
    for params in filters(target):
        assert target.code not in await listed_codes(api, user, **params), params
    tasks = await api.every("/tasks", user)
    assert target.code not in {t["project_code"] for t in tasks}
    for params in ({}, {"level": 1}, {"status": "all"}, {"level": 2, "status": "open"}):
        found = await api.every("/problems", user, **params)
        assert target.code not in {p["project_code"] for p in found}, params


@pytest.mark.parametrize("who", STRANGERS)
async def test_a_stranger_gets_the_same_404_as_for_a_code_never_issued(api: Api, target: Target, who: str) -> None:
    user = stranger_name(target, who)
    never = make_project_code(2001, "310115", "01", "03", 99999)
    for suffix in ("", "/events"):
        hidden = assert_problem(await api.get(f"/projects/{target.code}{suffix}", user), 404, "not_found")
        absent = assert_problem(await api.get(f"/projects/{never}{suffix}", user), 404, "not_found")
        assert hidden["detail"].replace(target.code, "X") == absent["detail"].replace(never, "X")
        assert set(hidden) == set(absent)


@pytest.mark.parametrize("who", STRANGERS)
async def test_a_stranger_cannot_act_on_the_project(api: Api, target: Target, who: str) -> None:
    user = stranger_name(target, who)
    code = target.code
    before = await event_count(api, code)
    actions: list[tuple[str, dict[str, Any]]] = [
        (f"/projects/{code}/withdraw", {"reason": "mine now"}),
        (f"/projects/{code}/steps/land_prereview/submit", {"note": "hijack"}),
        (f"/projects/{code}/steps/project_approval/submit", {"note": "hijack"}),
        (f"/projects/{code}/steps/land_prereview/decision", {"outcome": "reject", "comment": "no"}),
        (f"/projects/{code}/steps/project_approval/verification", {"outcome": "fail", "comment": "no"}),
        (f"/projects/{code}/steps/project_approval/rating", {"score": 1}),
        (f"/projects/{code}/problems", {"summary": "noise"}),
        (f"/problems/{target.problem}/raise", {"reason": "noise"}),
        (f"/problems/{target.problem}/resolve", {"resolution": "closed by a stranger"}),
        (f"/rectifications/{target.rectification}/answer", {"answer": "noise"}),
        (f"/rectifications/{target.rectification}/judgement", {"accept": True}),
    ]
    for path, body in actions:
        assert_problem(await api.post(path, user, json=body), 404, "not_found")
    assert await event_count(api, code) == before
    after = await view(api, code)
    assert after["status"] == "active" and after["version"] == target.project["version"]
    assert target.problem in {p["id"] for p in after["open_problems"]}


async def test_an_idempotency_key_is_the_callers_own(api: Api, target: Target) -> None:
    """owner-b replaying owner-a's key gets its own (404) answer, not owner-a's stored one."""
    code = target.code
    key = {"Idempotency-Key": f"shared-{code}"}
    r = await api.post(f"/projects/{code}/problems", "owner-a", json={"summary": "keyed"}, headers=key)
    assert r.status_code == 201, r.text
    stolen = await api.post(f"/projects/{code}/problems", "owner-b", json={"summary": "keyed"}, headers=key)
    assert_problem(stolen, 404, "not_found")
    assert "idempotent-replayed" not in stolen.headers


async def test_an_owner_cannot_create_a_project_for_another_organisation(api: Api) -> None:
    body = {"name": "not mine", "category": "general", "owner_credit_code": ORG_A, "investment_wan": 5}
    assert_problem(await api.post("/projects", "owner-b", json=body), 403, "not_own_organisation")


async def test_a_reviewer_of_another_department_sees_the_project_but_may_not_decide_its_steps(
    api: Api, target: Target
) -> None:
    """reviewer-nrp's department is reached (land pre-review is open), so it sees the project: 403, not 404."""
    code = target.code
    assert (await api.get(f"/projects/{code}", "reviewer-nrp")).status_code == 200
    before = await event_count(api, code)
    r = await api.post(f"/projects/{code}/steps/project_approval/decision", "reviewer-nrp", json={"outcome": "approve"})
    assert_problem(r, 403, "wrong_department")
    r = await api.post(
        f"/rectifications/{target.rectification}/answer", "reviewer-nrp", json={"answer": "not my department"}
    )
    assert_problem(r, 403, "wrong_department")
    assert await event_count(api, code) == before
