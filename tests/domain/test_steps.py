"""Submit, Decide and Verify: every refusal, and every transition of the standard, commitment and
phased modes (joint acceptance has its own module)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest

from domain.access import Actor
from domain.clock import Span
from domain.project import Decide, Project, Submit, Verify
from tests.domain.support import (
    AGENT,
    OTHER_AGENT,
    OTHER_OWNER,
    OWNER,
    T0,
    actions,
    assert_refused,
    at,
    at_inspections,
    chief,
    completed,
    decide,
    fresh,
    granted,
    mark,
    new_project,
    pass_steps,
    reapplication_rejected,
    rejected,
    returned,
    reviewer,
    reviewing,
    revoked,
    statuses,
    submit,
    time_clocks,
    verify,
    wake,
    withdrawn,
)

Situation = Callable[[], Project]


def approved() -> Project:
    project = fresh()
    pass_steps(project, ["project_approval"])
    return project


def verified() -> Project:
    project = granted()
    verify(project, "land_prereview", at(1))
    return project


def returned_commitment_step() -> Project:
    return returned("land_prereview")


def inspection_returned() -> Project:
    project = at_inspections()
    decide(project, "planning_check", at(1), "return", "the setback is short")
    return project


def spans(project: Project, key: str) -> list[tuple[datetime, datetime | None]]:
    return [(s.start, s.end) for s in project.step(key).clock.spans]


# --- Submit: refusals --------------------------------------------------------------------------

DRC = reviewer("drc")
NRP = reviewer("nrp")

SUBMIT_REFUSALS = [
    pytest.param(fresh, OTHER_OWNER, {"step": "project_approval"}, "not_applicant", 403, id="owner-of-another-org"),
    pytest.param(fresh, OTHER_AGENT, {"step": "project_approval"}, "not_applicant", 403, id="agent-of-another-project"),
    pytest.param(fresh, DRC, {"step": "project_approval"}, "not_applicant", 403, id="a-reviewer"),
    pytest.param(withdrawn, OWNER, {"step": "land_prereview"}, "project_ended", 409, id="withdrawn"),
    pytest.param(completed, OWNER, {"step": "filing"}, "project_ended", 409, id="completed"),
    pytest.param(fresh, OWNER, {"step": "no_such_step"}, "unknown_step", 404, id="unknown-step"),
    pytest.param(revoked, OWNER, {"step": "land_use_permit"}, "project_suspended", 409, id="suspended-other-step"),
    pytest.param(
        at_inspections, OWNER, {"step": "planning_check"}, "not_awaiting_rectification", 409, id="inspection-in-review"
    ),
    pytest.param(fresh, OWNER, {"step": "planning_check"}, "not_awaiting_rectification", 409, id="inspection-pending"),
    pytest.param(reviewing, OWNER, {"step": "project_approval"}, "not_awaiting_submission", 409, id="in-review"),
    pytest.param(fresh, OWNER, {"step": "land_use_permit"}, "not_awaiting_submission", 409, id="pending"),
    pytest.param(approved, OWNER, {"step": "project_approval"}, "not_awaiting_submission", 409, id="approved"),
    pytest.param(granted, OWNER, {"step": "land_prereview"}, "not_awaiting_submission", 409, id="granted"),
    pytest.param(verified, OWNER, {"step": "land_prereview"}, "not_awaiting_submission", 409, id="verified"),
    pytest.param(
        fresh,
        OWNER,
        {"step": "project_approval", "commitment": True},
        "commitment_not_allowed",
        409,
        id="commitment-on-a-standard-step",
    ),
    pytest.param(
        returned_commitment_step,
        OWNER,
        {"step": "land_prereview", "commitment": True},
        "commitment_not_allowed",
        409,
        id="commitment-on-a-returned-application",
    ),
    pytest.param(
        revoked,
        OWNER,
        {"step": "land_prereview", "commitment": True},
        "revocation_unresolved",
        409,
        id="commitment-on-the-revoked-step",
    ),
    pytest.param(
        reapplication_rejected,
        OWNER,
        {"step": "land_prereview", "commitment": True},
        "revocation_unresolved",
        409,
        id="commitment-while-this-projects-revocation-is-open",
    ),
    pytest.param(
        fresh,
        OWNER,
        {"step": "land_prereview", "commitment": True, "revocation_elsewhere": True},
        "revocation_unresolved",
        409,
        id="commitment-while-a-revocation-is-open-elsewhere",
    ),
]


@pytest.mark.parametrize(("situation", "actor", "fields", "code", "status"), SUBMIT_REFUSALS)
def test_submit_is_refused(
    situation: Situation, actor: Actor, fields: dict[str, object], code: str, status: int
) -> None:
    assert_refused(situation(), Submit(actor=actor, **fields), code, status)


SUBMIT_ALLOWED = [
    pytest.param(fresh, OWNER, {"step": "project_approval"}, id="owner"),
    pytest.param(fresh, AGENT, {"step": "project_approval"}, id="agent-for-the-owner"),
    pytest.param(fresh, OWNER, {"step": "land_prereview", "commitment": True}, id="commitment"),
    pytest.param(returned, OWNER, {"step": "project_approval"}, id="resubmission"),
    pytest.param(rejected, OWNER, {"step": "project_approval"}, id="new-attempt"),
    pytest.param(revoked, OWNER, {"step": "land_prereview"}, id="standard-re-application-while-suspended"),
    pytest.param(inspection_returned, OWNER, {"step": "planning_check"}, id="rectified-inspection"),
]


@pytest.mark.parametrize(("situation", "actor", "fields"), SUBMIT_ALLOWED)
def test_submit_is_allowed(situation: Situation, actor: Actor, fields: dict[str, object]) -> None:
    situation().check(Submit(actor=actor, **fields))


# --- Decide: refusals --------------------------------------------------------------------------

DECIDE_REFUSALS = [
    pytest.param(withdrawn, DRC, "project_approval", "approve", "", "project_ended", 409, id="withdrawn"),
    pytest.param(completed, DRC, "filing", "approve", "", "project_ended", 409, id="completed"),
    pytest.param(reviewing, DRC, "no_such_step", "approve", "", "unknown_step", 404, id="unknown-step"),
    pytest.param(reviewing, OWNER, "project_approval", "approve", "", "not_reviewer", 403, id="the-owner"),
    pytest.param(
        reviewing, chief("initiation"), "project_approval", "approve", "", "not_reviewer", 403, id="a-section-chief"
    ),
    pytest.param(reviewing, NRP, "project_approval", "approve", "", "wrong_department", 403, id="other-department"),
    pytest.param(fresh, DRC, "project_approval", "approve", "", "not_in_review", 409, id="awaiting-submission"),
    pytest.param(returned, DRC, "project_approval", "approve", "", "not_in_review", 409, id="returned"),
    pytest.param(approved, DRC, "project_approval", "approve", "", "not_in_review", 409, id="approved"),
    pytest.param(granted, NRP, "land_prereview", "approve", "", "not_in_review", 409, id="granted"),
    pytest.param(revoked, DRC, "project_approval", "approve", "", "project_suspended", 409, id="suspended"),
    pytest.param(
        at_inspections, NRP, "planning_check", "reject", "bad", "inspection_outcome", 409, id="inspection-rejected"
    ),
    pytest.param(reviewing, DRC, "project_approval", "return", "", "comment_required", 409, id="return-no-comment"),
    pytest.param(reviewing, DRC, "project_approval", "reject", "", "comment_required", 409, id="reject-no-comment"),
    pytest.param(
        reviewing, DRC, "project_approval", "return", " \t\n", "comment_required", 409, id="return-blank-comment"
    ),
    pytest.param(
        reviewing, DRC, "project_approval", "reject", "   ", "comment_required", 409, id="reject-blank-comment"
    ),
    pytest.param(
        at_inspections, NRP, "planning_check", "return", " ", "comment_required", 409, id="inspection-return-blank"
    ),
]


@pytest.mark.parametrize(("situation", "actor", "step", "outcome", "comment", "code", "status"), DECIDE_REFUSALS)
def test_decide_is_refused(
    situation: Situation, actor: Actor, step: str, outcome: str, comment: str, code: str, status: int
) -> None:
    action = Decide(actor=actor, step=step, outcome=outcome, comment=comment)
    assert_refused(situation(), action, code, status)


DECIDE_ALLOWED = [
    pytest.param(reviewing, DRC, "project_approval", "approve", "", id="approve-without-comment"),
    pytest.param(reviewing, DRC, "project_approval", "return", "add the site plan", id="return-with-comment"),
    pytest.param(reviewing, DRC, "project_approval", "reject", "outside the plan", id="reject-with-comment"),
    pytest.param(at_inspections, NRP, "planning_check", "approve", "", id="inspection-passes"),
    pytest.param(at_inspections, NRP, "planning_check", "return", "setback", id="inspection-fails"),
]


@pytest.mark.parametrize(("situation", "actor", "step", "outcome", "comment"), DECIDE_ALLOWED)
def test_decide_is_allowed(situation: Situation, actor: Actor, step: str, outcome: str, comment: str) -> None:
    situation().check(Decide(actor=actor, step=step, outcome=outcome, comment=comment))


def test_the_revoked_step_is_decided_while_the_project_is_suspended() -> None:
    project = revoked()
    submit(project, "land_prereview", at(2))
    project.check(Decide(actor=NRP, step="land_prereview", outcome="approve"))


# --- Verify: refusals --------------------------------------------------------------------------

VERIFY_REFUSALS = [
    pytest.param(withdrawn, NRP, "land_prereview", "pass", "", "project_ended", 409, id="withdrawn"),
    pytest.param(completed, reviewer("housing"), "roof_safety", "pass", "", "project_ended", 409, id="completed"),
    pytest.param(granted, NRP, "no_such_step", "pass", "", "unknown_step", 404, id="unknown-step"),
    pytest.param(granted, OWNER, "land_prereview", "pass", "", "not_reviewer", 403, id="the-owner"),
    pytest.param(granted, DRC, "land_prereview", "pass", "", "wrong_department", 403, id="other-department"),
    pytest.param(fresh, NRP, "land_prereview", "pass", "", "not_granted", 409, id="awaiting-submission"),
    pytest.param(reviewing, DRC, "project_approval", "pass", "", "not_granted", 409, id="in-review"),
    pytest.param(verified, NRP, "land_prereview", "pass", "", "not_granted", 409, id="verified"),
    pytest.param(revoked, NRP, "land_prereview", "pass", "", "not_granted", 409, id="revoked"),
    pytest.param(granted, NRP, "land_prereview", "fail", "", "comment_required", 409, id="fail-no-comment"),
    pytest.param(granted, NRP, "land_prereview", "fail", "  \n", "comment_required", 409, id="fail-blank-comment"),
]


@pytest.mark.parametrize(("situation", "actor", "step", "outcome", "comment", "code", "status"), VERIFY_REFUSALS)
def test_verify_is_refused(
    situation: Situation, actor: Actor, step: str, outcome: str, comment: str, code: str, status: int
) -> None:
    action = Verify(actor=actor, step=step, outcome=outcome, comment=comment)
    assert_refused(situation(), action, code, status)


# --- standard mode -----------------------------------------------------------------------------


def test_submission_puts_the_step_in_review_and_starts_its_clock() -> None:
    project = fresh()
    submit(project, "project_approval", at(1))
    step = project.step("project_approval")
    assert (step.status, step.attempt, step.commitment) == ("in_review", 1, False)
    assert spans(project, "project_approval") == [(at(1), None)]
    time_clocks(project, at(1))
    assert (step.clock.warn_at, step.clock.deadline) == (at(9), at(11))


@pytest.mark.parametrize(
    ("outcome", "comment", "status", "ended_at"),
    [
        pytest.param("approve", "", "approved", at(3), id="approve"),
        pytest.param("return", "add the site plan", "returned", None, id="return"),
        pytest.param("reject", "outside the plan", "rejected", at(3), id="reject"),
    ],
)
def test_a_decision_pauses_the_clock(outcome: str, comment: str, status: str, ended_at: datetime | None) -> None:
    project = reviewing()
    decide(project, "project_approval", at(3), outcome, comment)
    step = project.step("project_approval")
    assert (step.status, step.ended_at, step.attempt) == (status, ended_at, 1)
    assert spans(project, "project_approval") == [(T0, at(3))]
    assert step.clock.deadline is None


def test_resubmission_after_a_return_keeps_the_attempt_and_resumes_the_clock() -> None:
    project = returned()  # in review T0 .. T0+2
    submit(project, "project_approval", at(5), note="site plan added")
    step = project.step("project_approval")
    assert (step.status, step.attempt) == ("in_review", 1)
    assert spans(project, "project_approval") == [(T0, at(2)), (at(5), None)]
    time_clocks(project, at(5))
    assert step.clock.used_days == 2
    assert (step.clock.warn_at, step.clock.deadline) == (at(11), at(13))  # 10 days less the 2 used


def test_a_new_attempt_after_a_rejection_counts_from_zero() -> None:
    project = rejected()  # in review T0 .. T0+2
    submit(project, "project_approval", at(4))
    step = project.step("project_approval")
    assert (step.status, step.attempt) == ("in_review", 2)
    assert spans(project, "project_approval") == [(at(4), None)]
    time_clocks(project, at(4))
    assert (step.clock.used_days, step.clock.deadline) == (0, at(14))


def test_a_new_attempt_can_go_overdue_again() -> None:
    project = reviewing()
    time_clocks(project, T0)
    wake(project, at(10))
    decide(project, "project_approval", at(11), "reject", "outside the plan")
    submit(project, "project_approval", at(12))
    time_clocks(project, at(12))
    wake(project, at(22))
    assert [e.at for e in project.pending_events if e.action == "overdue"] == [at(10), at(22)]


# --- commitment mode ---------------------------------------------------------------------------


def test_a_commitment_is_granted_at_once_and_its_verification_window_opens() -> None:
    project = fresh()
    submit(project, "land_prereview", at(1), commitment=True)
    step = project.step("land_prereview")
    assert (step.status, step.commitment, step.attempt, step.ended_at) == ("granted", True, 1, at(1))
    assert step.clock.spans == []  # the department's review clock never runs
    assert step.verification is not None
    assert (step.verification.limit_days, step.verification.spans) == (20, [Span(start=at(1))])
    time_clocks(project, at(1))
    assert (step.verification.warn_at, step.verification.deadline) == (at(17), at(21))
    assert project.step("land_use_permit").status == "awaiting_submission"  # a grant lets the chain move on


def test_a_passed_verification_keeps_the_permit() -> None:
    project = granted()
    verify(project, "land_prereview", at(5))
    step = project.step("land_prereview")
    assert step.status == "verified"
    assert step.verification is not None and step.verification.spans == [Span(start=T0, end=at(5))]
    assert project.status == "active"
    assert project.problems == []


def test_a_failed_verification_revokes_suspends_and_raises_a_level_2_problem() -> None:
    project = granted()
    verify(project, "land_prereview", at(5), "fail", "the plot boundary differs")
    step = project.step("land_prereview")
    assert (step.status, step.revocation_open, step.ended_at) == ("revoked", True, at(5))
    assert project.status == "suspended"
    assert spans(project, "project_approval") == [(T0, at(5))]  # every other clock pauses
    [problem] = project.problems
    assert (problem.level, problem.origin, problem.step, problem.stage) == (
        2,
        "revocation",
        "land_prereview",
        "initiation",
    )
    assert (
        problem.summary == "Commitment for 用地预审 Land-use pre-review failed verification: the plot boundary differs"
    )
    assert problem.clock.spans == [Span(start=at(5))]
    assert (step.colour, project.colour) == ("red", "red")


def test_an_approved_standard_re_application_resumes_the_project() -> None:
    project = revoked()  # suspended at T0+1; project_approval in review T0 .. T0+1
    submit(project, "land_prereview", at(2))
    step = project.step("land_prereview")
    assert (step.status, step.attempt, step.commitment) == ("in_review", 2, False)
    assert spans(project, "land_prereview") == [(at(2), None)]  # a fresh clock runs while suspended
    assert (step.status, project.status) == ("in_review", "suspended")
    since = mark(project)
    decide(project, "land_prereview", at(4))
    assert (step.status, step.revocation_open, project.status) == ("approved", False, "active")
    assert spans(project, "project_approval") == [(T0, at(1)), (at(4), None)]
    assert actions(project, since) == ["approved", "resumed", "colour_changed"]  # red to yellow: the problem stays


def test_a_rejected_re_application_keeps_the_project_suspended() -> None:
    project = reapplication_rejected()
    step = project.step("land_prereview")
    assert (step.status, step.revocation_open, project.status) == ("rejected", True, "suspended")
    submit(project, "land_prereview", at(4))
    assert (step.status, step.attempt) == ("in_review", 3)


def test_a_commitment_step_may_also_be_applied_for_in_standard_mode() -> None:
    project = fresh()
    submit(project, "land_prereview", T0)
    step = project.step("land_prereview")
    assert (step.status, step.commitment, step.verification) == ("in_review", False, None)


# --- phased mode -------------------------------------------------------------------------------

PHASES = ["foundation pit", "superstructure", "curtain wall"]
BEFORE_CONSTRUCTION = ["project_approval", "land_prereview", "land_use_permit", "design_review", "planning_permit"]


def at_construction() -> Project:
    project = new_project(phases=PHASES)
    pass_steps(project, BEFORE_CONSTRUCTION)
    return project


def test_declared_phases_become_one_step_each() -> None:
    project = new_project(phases=PHASES)
    phased = [(s.key, s.phase, s.name) for s in project.steps if s.spec_key == "construction_permit"]
    assert phased == [
        ("construction_permit.1", 1, "建筑工程施工许可证 Construction permit · foundation pit"),
        ("construction_permit.2", 2, "建筑工程施工许可证 Construction permit · superstructure"),
        ("construction_permit.3", 3, "建筑工程施工许可证 Construction permit · curtain wall"),
    ]


def test_without_declared_phases_the_catalog_defaults_apply() -> None:
    project = new_project()
    assert [s.key for s in project.steps if s.spec_key == "construction_permit"] == [
        "construction_permit.1",
        "construction_permit.2",
    ]


@pytest.mark.parametrize(
    ("done", "expected"),
    [
        pytest.param([], ["awaiting_submission", "pending", "pending", "pending"], id="none-done"),
        pytest.param(["construction_permit.1"], ["approved", "awaiting_submission", "pending", "pending"], id="1-done"),
        pytest.param(
            ["construction_permit.1", "construction_permit.2"],
            ["approved", "approved", "awaiting_submission", "pending"],
            id="1-2-done",
        ),
        pytest.param(
            ["construction_permit.1", "construction_permit.2", "construction_permit.3"],
            ["approved", "approved", "approved", "awaiting_submission"],
            id="all-done",
        ),
    ],
)
def test_a_phase_opens_only_once_the_phase_before_it_is_approved(done: list[str], expected: list[str]) -> None:
    project = at_construction()
    pass_steps(project, done, at(1))
    keys = ["construction_permit.1", "construction_permit.2", "construction_permit.3", "survey"]
    assert list(statuses(project, keys).values()) == expected


def test_a_phase_in_review_does_not_open_the_next() -> None:
    project = at_construction()
    submit(project, "construction_permit.1", at(1))
    assert statuses(project, ["construction_permit.1", "construction_permit.2"]) == {
        "construction_permit.1": "in_review",
        "construction_permit.2": "pending",
    }


def test_phase_2_is_refused_before_phase_1_is_done_and_accepted_right_after() -> None:
    project = at_construction()
    assert_refused(project, Submit(actor=OWNER, step="construction_permit.2"), "not_awaiting_submission", 409)
    pass_steps(project, ["construction_permit.1"], at(2))
    step = project.step("construction_permit.2")
    assert (step.status, step.opened_at) == ("awaiting_submission", at(2))
    submit(project, "construction_permit.2", at(2))
    assert step.status == "in_review"
