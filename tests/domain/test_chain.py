"""How the chain moves: creation, stage gating, `after` ordering inside a stage, withdrawal and
completion."""

from __future__ import annotations

from functools import partial

import pytest

from domain.access import Actor
from domain.clock import Span
from domain.project import Action, Decide, OpenProblem, Project, Rate, Submit, Verify, Withdraw
from tests.domain import support
from tests.domain.support import AGENT, DRC, ORG, OWNER, T0, Situation, at, decide, new_project, pass_steps, submit

BEFORE_CONSTRUCTION = list(support.GENERAL_BEFORE_CONSTRUCTION)


# --- creation ----------------------------------------------------------------------------------


def test_a_new_project_opens_the_steps_with_nothing_before_them() -> None:
    project = new_project()
    assert [(s.key, s.status) for s in project.steps[:4]] == [
        ("project_approval", "awaiting_submission"),
        ("land_prereview", "awaiting_submission"),
        ("land_use_permit", "pending"),
        ("design_review", "pending"),
    ]
    assert {s.status for s in project.steps[2:]} == {"pending"}
    assert (project.status, project.colour, project.created_at, project.created_by) == (
        "active",
        "green",
        T0,
        "owner-a",
    )
    assert [(e.seq, e.action, e.actor, e.role, e.step, e.detail) for e in project.pending_events] == [
        (1, "created", "owner-a", "owner", None, {"category": "general", "agent": "agent-1"}),
        (2, "step_opened", "system", "system", "project_approval", {"department": "drc"}),
        (3, "step_opened", "system", "system", "land_prereview", {"department": "nrp"}),
    ]
    assert project.event_seq == 3


def test_statutory_counting_is_carried_by_every_clock_of_the_project() -> None:
    created = new_project(counting="statutory")
    assert created.counting == "statutory"
    assert {s.clock.counting for s in created.steps} == {"statutory"}
    created.act(OpenProblem(actor=OWNER, summary="the site is flooded"), T0)
    assert created.problems[0].clock.counting == "statutory"


# --- stage gating and `after` ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("done", "design_review"),
    [
        pytest.param([], "pending", id="nothing-done"),
        pytest.param(["project_approval"], "pending", id="land-steps-left"),
        pytest.param(["land_prereview", "land_use_permit"], "pending", id="project-approval-left"),
        pytest.param(["project_approval", "land_prereview"], "pending", id="land-use-permit-left"),
        pytest.param(["project_approval", "land_prereview", "land_use_permit"], "awaiting_submission", id="all-done"),
    ],
)
def test_no_step_of_a_later_stage_opens_before_every_earlier_step_is_done(done: list[str], design_review: str) -> None:
    project = new_project()
    pass_steps(project, done)
    assert project.step("design_review").status == design_review


def test_an_earlier_step_in_review_still_holds_the_next_stage() -> None:
    project = new_project()
    pass_steps(project, ["land_prereview", "land_use_permit"])
    submit(project, "project_approval", at(1))
    assert project.step("design_review").status == "pending"


@pytest.mark.parametrize(
    ("done", "expected"),
    [
        pytest.param(
            BEFORE_CONSTRUCTION,
            {"construction_permit.1": "awaiting_submission", "construction_permit.2": "pending", "survey": "pending"},
            id="engineering-done",
        ),
        pytest.param(
            [*BEFORE_CONSTRUCTION, "construction_permit.1"],
            {"construction_permit.1": "approved", "construction_permit.2": "awaiting_submission", "survey": "pending"},
            id="one-phase-done",
        ),
    ],
)
def test_acceptance_waits_for_every_phase_of_construction(done: list[str], expected: dict[str, str]) -> None:
    project = new_project()
    pass_steps(project, done)
    assert support.statuses(project, expected) == expected


@pytest.mark.parametrize(
    ("situation", "land_use_permit"),
    [
        pytest.param(support.fresh, "pending", id="prereview-awaiting"),
        pytest.param(partial(support.reviewing, "land_prereview"), "pending", id="prereview-in-review"),
        pytest.param(partial(support.returned, "land_prereview"), "pending", id="prereview-returned"),
        pytest.param(support.approved, "pending", id="only-project-approval-approved"),
        pytest.param(partial(support.approved, "land_prereview"), "awaiting_submission", id="prereview-approved"),
        pytest.param(support.committed, "awaiting_submission", id="prereview-granted"),
    ],
)
def test_land_use_permit_opens_after_land_prereview(situation: Situation, land_use_permit: str) -> None:
    assert situation().step("land_use_permit").status == land_use_permit


def test_planning_permit_opens_after_design_review_within_engineering() -> None:
    project = new_project()
    pass_steps(project, ["project_approval", "land_prereview", "land_use_permit"])
    assert support.statuses(project, ["design_review", "planning_permit"]) == {
        "design_review": "awaiting_submission",
        "planning_permit": "pending",
    }
    pass_steps(project, ["design_review"], at(1))
    assert project.step("planning_permit").status == "awaiting_submission"
    assert project.step("planning_permit").opened_at == at(1)


# --- withdrawal --------------------------------------------------------------------------------


def busy() -> Project:
    """project_approval in review and overdue (a level-1 problem), land_prereview support.granted,
    land_use_permit awaiting submission, a manual problem open."""
    project = support.timed(support.granted())
    support.wake(project, at(10))
    project.act(OpenProblem(actor=AGENT, summary="the road permit is stuck"), at(10))
    return project


def test_withdrawal_cancels_what_is_not_ended_and_closes_the_problems() -> None:
    project = busy()
    assert project.colour == "red"
    since = support.mark(project)
    project.act(Withdraw(actor=AGENT, reason="financing fell through"), at(11))
    assert support.statuses(project, ["project_approval", "land_prereview", "land_use_permit", "design_review"]) == {
        "project_approval": "cancelled",
        "land_prereview": "granted",
        "land_use_permit": "cancelled",
        "design_review": "cancelled",
    }
    assert project.step("project_approval").clock.spans == [Span(start=T0, end=at(11))]
    verification = project.step("land_prereview").verification
    assert verification is not None and verification.spans == [Span(start=T0, end=at(11))]
    assert [(p.status, p.resolved_by, p.resolved_at, p.resolution) for p in project.problems] == [
        ("resolved", "system", at(11), "project withdrawn"),
        ("resolved", "system", at(11), "project withdrawn"),
    ]
    assert (project.status, project.ended_at, project.colour) == ("withdrawn", at(11), "green")
    assert project.window is not None
    assert (project.window.limit_days, project.window.spans) == (10, [Span(start=at(11))])
    assert support.events(project, since) == [
        ("problem_resolved", "system", None, "project_approval"),
        ("problem_resolved", "system", None, None),
        ("withdrawn", "agent-1", ORG, None),
        ("colour_changed", "system", None, None),
    ]
    assert project.pending_events[since + 2].detail == {"reason": "financing fell through"}


def test_withdrawing_a_suspended_project_clears_its_revocation() -> None:
    project = support.revoked()
    project.act(Withdraw(actor=OWNER), at(2))
    step = project.step("land_prereview")
    assert (step.status, step.revocation_open) == ("revoked", False)
    assert (project.status, project.colour) == ("withdrawn", "green")


AFTER_WITHDRAWAL: list[object] = [
    pytest.param(Submit(actor=OWNER, step="land_prereview"), id="submit"),
    pytest.param(Decide(actor=DRC, step="project_approval", outcome="approve"), id="decide"),
    pytest.param(Verify(actor=support.NRP, step="land_prereview", outcome="pass"), id="verify"),
    pytest.param(Withdraw(actor=OWNER), id="withdraw"),
    pytest.param(OpenProblem(actor=OWNER, summary="still stuck"), id="open-problem"),
]


@pytest.mark.parametrize("action", AFTER_WITHDRAWAL)
def test_a_withdrawn_project_refuses_further_actions(action: Action) -> None:
    support.assert_refused(support.withdrawn(), action, "project_ended", 409)


def test_a_withdrawn_project_may_still_be_rated() -> None:
    project = support.withdrawn()
    project.check(Rate(actor=OWNER, step="project_approval", score=4))


WITHDRAW_REFUSALS = [
    pytest.param(support.fresh, support.OTHER_OWNER, "not_applicant", 403, id="owner-of-another-org"),
    pytest.param(support.fresh, support.OTHER_AGENT, "not_applicant", 403, id="agent-of-another-project"),
    pytest.param(support.fresh, DRC, "not_applicant", 403, id="a-reviewer"),
    pytest.param(support.withdrawn, OWNER, "project_ended", 409, id="already-withdrawn"),
    pytest.param(support.completed, AGENT, "project_ended", 409, id="completed"),
]


@pytest.mark.parametrize(("situation", "actor", "code", "status"), WITHDRAW_REFUSALS)
def test_withdraw_is_refused(situation: Situation, actor: Actor, code: str, status: int) -> None:
    support.assert_refused(situation(), Withdraw(actor=actor), code, status)


@pytest.mark.parametrize(
    ("situation", "actor"),
    [
        pytest.param(support.fresh, OWNER, id="owner"),
        pytest.param(support.reviewing, AGENT, id="agent"),
        pytest.param(support.revoked, OWNER, id="suspended"),
    ],
)
def test_withdraw_is_allowed(situation: Situation, actor: Actor) -> None:
    situation().check(Withdraw(actor=actor))


# --- completion --------------------------------------------------------------------------------


def roof_safety_submitted(commitment: bool = False) -> Project:
    """A photovoltaic project whose filing was approved at T0 and whose last step, roof_safety, was
    submitted at T0 + 1 day."""
    project = new_project("photovoltaic")
    pass_steps(project, ["filing"], T0)
    submit(project, "roof_safety", at(1), commitment=commitment)
    return project


def test_the_last_approval_completes_the_project_and_opens_the_rating_window() -> None:
    project = roof_safety_submitted()
    since = support.mark(project)
    decide(project, "roof_safety", at(3))
    assert support.events(project, since) == [
        ("approved", "reviewer-housing", None, "roof_safety"),
        ("completed", "system", None, None),
    ]
    assert (project.status, project.ended_at) == ("completed", at(3))
    assert project.window is not None
    assert (project.window.limit_days, project.window.spans) == (10, [Span(start=at(3))])


def test_a_granted_commitment_holds_completion_until_it_is_verified() -> None:
    project = roof_safety_submitted(commitment=True)
    assert (project.status, project.window) == ("active", None)
    support.verify(project, "roof_safety", at(4))
    assert (project.status, project.ended_at) == ("completed", at(4))


def test_a_revoked_commitment_does_not_complete_the_project() -> None:
    project = roof_safety_submitted(commitment=True)
    support.verify(project, "roof_safety", at(4), "fail", "the roof is not reinforced")
    assert project.status == "suspended"
    submit(project, "roof_safety", at(5))
    decide(project, "roof_safety", at(6))
    assert (project.status, project.ended_at) == ("completed", at(6))
