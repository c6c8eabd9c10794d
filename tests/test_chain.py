"""The approval chain end to end through the HTTP API, on a real Temporal server and database."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.client import Client

from domain.codes import validate_project_code
from tests.chain import create, steps, view, walk
from tests.conftest import Api

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_general_project_walks_the_whole_chain(api: Api) -> None:
    project = await create(api, "general")
    code = project["code"]
    assert validate_project_code(code) == code and len(code) == 24
    assert [s["stage"] for s in project["stages"]] == ["initiation", "engineering", "construction", "acceptance"]
    first = steps(project)
    assert first["project_approval"]["status"] == "awaiting_submission"
    assert all(s["status"] == "pending" for s in first.values() if s["stage"] != "initiation")

    done = await walk(api, code)

    assert done["status"] == "completed"
    assert all(s["status"] in ("approved", "verified") for s in steps(done).values())
    events = (await api.get(f"/projects/{code}/events", "owner-a")).json()
    actions = [e["action"] for e in events]
    assert actions[0] == "created" and actions[-1] == "completed"
    assert "joint_acceptance_certificate" in actions
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))


async def test_decision_is_visible_to_everyone_when_it_returns(api: Api) -> None:
    created = await create(api, "general")
    code, agent = created["code"], created["agent"]
    other_agent = {"agent-1": "agent-2", "agent-2": "agent-1"}[agent]
    r = await api.post(f"/projects/{code}/steps/project_approval/submit", "owner-a", json={})
    assert r.status_code == 200, r.text
    r = await api.post(f"/projects/{code}/steps/project_approval/decision", "reviewer-drc", json={"outcome": "approve"})
    assert r.status_code == 200, r.text
    assert r.json()["step"]["status"] == "approved"
    # Everyone who may see the project sees the decision as soon as it returns: its owner, its
    # agent, the reviewers of the departments it reached (drc decided; nrp's land pre-review opened
    # with it), the section chief, the office and the leader.
    for user in ("owner-a", agent, "reviewer-drc", "reviewer-nrp", "chief-initiation", "office-1", "leader-1"):
        seen = await api.get(f"/projects/{code}", user)
        assert seen.status_code == 200, f"{user}: {seen.status_code} {seen.text[:200]}"
        assert steps(seen.json())["project_approval"]["status"] == "approved", user
        timeline = await api.get(f"/projects/{code}/events", user)
        assert timeline.status_code == 200, f"{user}: {timeline.status_code} {timeline.text[:200]}"
        assert [e["actor"] for e in timeline.json() if e["action"] == "approved"] == ["reviewer-drc"], user
    # And nobody else: the other deputy, another owner, a department the chain has not reached.
    for user in (other_agent, "owner-b", "reviewer-fire"):
        for path in (f"/projects/{code}", f"/projects/{code}/events"):
            hidden = await api.get(path, user)
            assert hidden.status_code == 404, f"{user} {path}: {hidden.status_code} {hidden.text[:200]}"
    assert (await view(api, code))["version"] >= 3


async def submit(api: Api, code: str, key: str, user: str = "owner-a", **body: object) -> dict[str, Any]:
    r = await api.post(f"/projects/{code}/steps/{key}/submit", user, json=body)
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


async def decide(api: Api, code: str, key: str, outcome: str, dept: str, comment: str = "reason") -> dict[str, Any]:
    r = await api.post(
        f"/projects/{code}/steps/{key}/decision", f"reviewer-{dept}", json={"outcome": outcome, "comment": comment}
    )
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


async def test_return_pauses_and_resubmission_resumes(api: Api) -> None:
    code = (await create(api))["code"]
    await submit(api, code, "project_approval")
    returned = await decide(api, code, "project_approval", "return", "drc", "missing the site plan")
    assert returned["step"]["status"] == "returned"
    assert returned["step"]["deadline"] is None  # the clock is paused while the owner holds the step
    again = await submit(api, code, "project_approval", note="site plan added")
    assert again["step"]["status"] == "in_review" and again["step"]["attempt"] == 1
    assert again["step"]["deadline"] is not None
    approved = await decide(api, code, "project_approval", "approve", "drc")
    assert approved["step"]["status"] == "approved"
    actions = [e["action"] for e in (await api.get(f"/projects/{code}/events", "owner-a")).json()]
    assert actions.count("returned") == 1 and actions.count("resubmitted") == 1


async def test_reject_then_apply_again_as_a_new_attempt(api: Api) -> None:
    code = (await create(api))["code"]
    await submit(api, code, "project_approval")
    rejected = await decide(api, code, "project_approval", "reject", "drc", "not in the district plan")
    assert rejected["step"]["status"] == "rejected"
    retry = await submit(api, code, "project_approval", note="revised scope")
    assert retry["step"]["attempt"] == 2 and retry["step"]["status"] == "in_review"
    assert (await decide(api, code, "project_approval", "approve", "drc"))["step"]["status"] == "approved"


async def test_commitment_is_granted_at_once_and_verified(api: Api) -> None:
    code = (await create(api))["code"]
    await walk(api, code, until="land_prereview")
    granted = await submit(api, code, "land_prereview", commitment=True)
    assert granted["step"]["status"] == "granted" and granted["step"]["verification_deadline"] is not None
    project = await view(api, code)
    assert steps(project)["land_use_permit"]["status"] == "awaiting_submission"  # the chain moved on
    r = await api.post(f"/projects/{code}/steps/land_prereview/verification", "reviewer-nrp", json={"outcome": "pass"})
    assert r.status_code == 200 and r.json()["step"]["status"] == "verified"


async def test_failed_verification_revokes_suspends_and_standard_reapplication_resumes(api: Api) -> None:
    code = (await create(api, owner="owner-b"))["code"]
    await walk(api, code, owner="owner-b", until="land_prereview")
    await submit(api, code, "land_prereview", user="owner-b", commitment=True)
    r = await api.post(
        f"/projects/{code}/steps/land_prereview/verification",
        "reviewer-nrp",
        json={"outcome": "fail", "comment": "site boundary differs from the commitment"},
    )
    assert r.status_code == 200, r.text
    project = await view(api, code)
    assert project["status"] == "suspended" and project["colour"] == "red"
    assert steps(project)["land_prereview"]["status"] == "revoked"
    assert [(p["level"], p["origin"]) for p in project["open_problems"]] == [(2, "revocation")]
    # While the revocation is unresolved, no commitment anywhere for this owner; other steps wait.
    refused = await api.post(f"/projects/{code}/steps/land_prereview/submit", "owner-b", json={"commitment": True})
    assert refused.status_code == 409 and refused.json()["code"] == "revocation_unresolved"
    other = await create(api, owner="owner-b")
    await walk(api, other["code"], owner="owner-b", until="land_prereview")
    elsewhere = await api.post(
        f"/projects/{other['code']}/steps/land_prereview/submit", "owner-b", json={"commitment": True}
    )
    assert elsewhere.status_code == 409 and elsewhere.json()["code"] == "revocation_unresolved"
    blocked = await api.post(f"/projects/{code}/steps/land_use_permit/submit", "owner-b", json={})
    assert blocked.status_code == 409 and blocked.json()["code"] == "project_suspended"
    # Re-applying in standard mode and being approved resumes the project.
    await submit(api, code, "land_prereview", user="owner-b")
    await decide(api, code, "land_prereview", "approve", "nrp")
    resumed = await view(api, code)
    assert resumed["status"] == "active"
    assert steps(resumed)["land_prereview"]["attempt"] == 2
    done = await walk(api, code, owner="owner-b")
    assert done["status"] == "completed"


async def test_custom_phases_open_in_order(api: Api) -> None:
    phases = ["桩基 piling", "地下室 basement", "主体 superstructure"]
    code = (await create(api, phases=phases))["code"]
    project = await walk(api, code, until="construction_permit.1")
    phased = {k: s for k, s in steps(project).items() if k.startswith("construction_permit.")}
    assert sorted(phased) == ["construction_permit.1", "construction_permit.2", "construction_permit.3"]
    assert phased["construction_permit.2"]["status"] == "pending"
    assert all(s["mode"] == "phased" for s in phased.values())
    early = await api.post(f"/projects/{code}/steps/construction_permit.2/submit", "owner-a", json={})
    assert early.status_code == 409 and early.json()["code"] == "not_awaiting_submission"
    await submit(api, code, "construction_permit.1")
    await decide(api, code, "construction_permit.1", "approve", "housing")
    after = steps(await view(api, code))
    assert after["construction_permit.2"]["status"] == "awaiting_submission"
    assert after["construction_permit.3"]["status"] == "pending"
    assert (await walk(api, code))["status"] == "completed"


async def test_failed_inspection_loops_while_passed_ones_stay_passed(api: Api) -> None:
    code = (await create(api))["code"]
    await walk(api, code, until="survey")
    await submit(api, code, "survey")
    await decide(api, code, "survey", "approve", "survey")
    inspections = {
        k: s for k, s in steps(await view(api, code)).items() if k.endswith("_inspection") or k == "planning_check"
    }
    assert inspections and all(s["status"] == "in_review" for s in inspections.values())  # all open at once
    await decide(api, code, "fire_inspection", "return", "fire", "sprinkler coverage incomplete")
    await decide(api, code, "cad_inspection", "approve", "cad")
    current = steps(await view(api, code))
    assert current["fire_inspection"]["status"] == "returned"
    assert current["cad_inspection"]["status"] == "approved"
    bad = await api.post(
        f"/projects/{code}/steps/fire_inspection/decision", "reviewer-fire", json={"outcome": "reject", "comment": "x"}
    )
    assert bad.status_code == 409
    await submit(api, code, "fire_inspection", note="sprinklers added")
    assert steps(await view(api, code))["cad_inspection"]["status"] == "approved"
    done = await walk(api, code)
    assert done["status"] == "completed"
    actions = [e["action"] for e in (await api.get(f"/projects/{code}/events", "owner-a")).json()]
    assert actions.count("joint_acceptance_certificate") == 1
    assert actions.count("inspection_failed") == 1


async def test_sectioned_acceptance_completes_when_every_section_is_accepted(api: Api) -> None:
    code = (await create(api, sections=["1号楼 building 1", "2号楼 building 2"]))["code"]
    project = await walk(api, code, until="survey.s1")
    keys = set(steps(project))
    assert {"survey.s1", "survey.s2", "fire_inspection.s1", "fire_inspection.s2"} <= keys
    assert "survey" not in keys
    # Section 1 alone: its certificate, but the project is not complete.
    await submit(api, code, "survey.s1")
    await decide(api, code, "survey.s1", "approve", "survey")
    for key, step in steps(await view(api, code)).items():
        if key.endswith(".s1") and step["status"] == "in_review":
            await decide(api, code, key, "approve", step["department"])
    project = await view(api, code)
    assert [s["accepted_at"] is not None for s in project["sections"]] == [True, False]
    assert steps(project)["completion_filing"]["status"] == "pending"
    done = await walk(api, code)
    assert done["status"] == "completed"
    assert all(s["accepted_at"] for s in done["sections"])


@pytest.mark.parametrize(
    "category",
    ["low_risk", "photovoltaic", "ev_charging", "expansion", "decoration", "tech_renovation", "energy_storage"],
)
async def test_every_category_completes_on_its_happy_path(api: Api, category: str) -> None:
    code = (await create(api, category))["code"]
    done = await walk(api, code)
    assert done["status"] == "completed" and done["category"] == category


async def test_withdrawal_ends_the_project(api: Api) -> None:
    code = (await create(api))["code"]
    await submit(api, code, "project_approval")
    r = await api.post(f"/projects/{code}/withdraw", "owner-a", json={"reason": "investment cancelled"})
    assert r.status_code == 200, r.text
    project = await view(api, code)
    assert project["status"] == "withdrawn"
    assert steps(project)["project_approval"]["status"] == "cancelled"
    late = await api.post(
        f"/projects/{code}/steps/project_approval/decision", "reviewer-drc", json={"outcome": "approve"}
    )
    assert late.status_code == 409


async def test_out_of_order_and_repeated_actions_are_refused_without_history(api: Api, temporal_client: Client) -> None:
    code = (await create(api))["code"]
    handle = temporal_client.get_workflow_handle(code)
    before = len([e async for e in handle.fetch_history_events()])
    pending = await api.post(f"/projects/{code}/steps/design_review/submit", "owner-a", json={})
    assert pending.status_code == 409 and pending.json()["code"] == "not_awaiting_submission"
    early = await api.post(
        f"/projects/{code}/steps/project_approval/decision", "reviewer-drc", json={"outcome": "approve"}
    )
    assert early.status_code == 409 and early.json()["code"] == "not_in_review"
    assert early.headers["content-type"].startswith("application/problem+json")
    assert len([e async for e in handle.fetch_history_events()]) == before  # refused before history
    await submit(api, code, "project_approval")
    twice = await api.post(f"/projects/{code}/steps/project_approval/submit", "owner-a", json={})
    assert twice.status_code == 409
    wrong = await api.post(
        f"/projects/{code}/steps/project_approval/decision", "reviewer-fire", json={"outcome": "approve"}
    )
    assert wrong.status_code == 404  # the project has not reached the fire department: not visible
    wrong_dept = await api.post(
        f"/projects/{code}/steps/project_approval/decision", "reviewer-nrp", json={"outcome": "approve"}
    )
    assert wrong_dept.status_code in (403, 404)
    await decide(api, code, "project_approval", "approve", "drc")
    again = await api.post(
        f"/projects/{code}/steps/project_approval/decision", "reviewer-drc", json={"outcome": "approve"}
    )
    assert again.status_code == 409 and again.json()["code"] == "not_in_review"


async def test_other_owner_cannot_see_or_act(api: Api) -> None:
    code = (await create(api))["code"]
    assert (await api.get(f"/projects/{code}", "owner-b")).status_code == 404
    assert (await api.get(f"/projects/{code}/events", "owner-b")).status_code == 404
    assert (await api.post(f"/projects/{code}/steps/project_approval/submit", "owner-b", json={})).status_code == 404
    listed = (await api.get("/projects", "owner-b", params={"limit": 200})).json()["items"]
    assert code not in [p["code"] for p in listed]
