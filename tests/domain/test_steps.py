"""Submit, Decide and Verify: every refusal, and every transition of the standard, commitment and
phased modes (joint acceptance has its own module)."""

from __future__ import annotations

from datetime import datetime

import pytest

from domain.access import Actor
from domain.clock import Span
from domain.project import Decide, Project, Submit, Verify
from tests.domain import support
from tests.domain.support import DRC, NRP, OWNER, T0, Situation, assert_refused, at, decide, submit, time_clocks, verify


def inspection_returned() -> Project:
    project = support.inspecting()
    decide(project, "planning_check", at(1), "return", "the setback is short")
    return project


def spans(project: Project, key: str) -> list[tuple[datetime, datetime | None]]:
    return [(s.start, s.end) for s in project.step(key).clock.spans]


# --- Submit: refusals --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "actor",
    [
        pytest.param(support.OTHER_OWNER, id="owner-of-another-org"),
        pytest.param(support.OTHER_AGENT, id="agent-of-another-project"),
        pytest.param(DRC, id="a-reviewer"),
    ],
)
def test_only_the_applicant_may_submit(actor: Actor) -> None:
    assert_refused(support.fresh(), Submit(actor=actor, step="project_approval"), "not_applicant", 403)


SUBMIT_REFUSALS = [
    pytest.param(support.withdrawn, "land_prereview", "project_ended", 409, id="withdrawn"),
    pytest.param(support.completed, "filing", "project_ended", 409, id="completed"),
    pytest.param(support.fresh, "no_such_step", "unknown_step", 404, id="unknown-step"),
    pytest.param(support.revoked, "land_use_permit", "project_suspended", 409, id="suspended-other-step"),
    pytest.param(support.inspecting, "planning_check", "not_awaiting_rectification", 409, id="inspection-in-review"),
    pytest.param(support.fresh, "planning_check", "not_awaiting_rectification", 409, id="inspection-pending"),
    pytest.param(support.reviewing, "project_approval", "not_awaiting_submission", 409, id="in-review"),
    pytest.param(support.fresh, "land_use_permit", "not_awaiting_submission", 409, id="pending"),
    pytest.param(support.approved, "project_approval", "not_awaiting_submission", 409, id="approved"),
    pytest.param(support.granted, "land_prereview", "not_awaiting_submission", 409, id="granted"),
    pytest.param(support.verified, "land_prereview", "not_awaiting_submission", 409, id="verified"),
]


@pytest.mark.parametrize(("situation", "step", "code", "status"), SUBMIT_REFUSALS)
def test_submit_is_refused(situation: Situation, step: str, code: str, status: int) -> None:
    assert_refused(situation(), Submit(actor=OWNER, step=step), code, status)


def returned_commitment_step() -> Project:
    return support.returned("land_prereview")


# Every refusal of a commitment is a conflict (409) with the project's state.
COMMITMENT_REFUSALS = [
    pytest.param(support.fresh, "project_approval", {}, "commitment_not_allowed", id="on-a-standard-step"),
    pytest.param(
        returned_commitment_step, "land_prereview", {}, "commitment_not_allowed", id="on-a-returned-application"
    ),
    pytest.param(support.revoked, "land_prereview", {}, "revocation_unresolved", id="on-the-revoked-step"),
    pytest.param(
        support.reapplication_rejected, "land_prereview", {}, "revocation_unresolved", id="while-its-revocation-is-open"
    ),
    pytest.param(
        support.fresh,
        "land_prereview",
        {"revocation_elsewhere": True},
        "revocation_unresolved",
        id="while-a-revocation-is-open-elsewhere",
    ),
]


@pytest.mark.parametrize(("situation", "step", "fields", "code"), COMMITMENT_REFUSALS)
def test_a_commitment_is_refused(situation: Situation, step: str, fields: dict[str, bool], code: str) -> None:
    assert_refused(situation(), Submit(actor=OWNER, step=step, commitment=True, **fields), code, 409)


SUBMIT_ALLOWED = [
    pytest.param(support.fresh, OWNER, {"step": "project_approval"}, id="owner"),
    pytest.param(support.fresh, support.AGENT, {"step": "project_approval"}, id="agent-for-the-owner"),
    pytest.param(support.fresh, OWNER, {"step": "land_prereview", "commitment": True}, id="commitment"),
    pytest.param(support.returned, OWNER, {"step": "project_approval"}, id="resubmission"),
    pytest.param(support.rejected, OWNER, {"step": "project_approval"}, id="new-attempt"),
    pytest.param(support.revoked, OWNER, {"step": "land_prereview"}, id="standard-re-application-while-suspended"),
    pytest.param(inspection_returned, OWNER, {"step": "planning_check"}, id="rectified-inspection"),
]


@pytest.mark.parametrize(("situation", "actor", "fields"), SUBMIT_ALLOWED)
def test_submit_is_allowed(situation: Situation, actor: Actor, fields: dict[str, object]) -> None:
    situation().check(Submit(actor=actor, **fields))


# --- Decide and Verify: refusals --------------------------------------------------------------

# A favourable decision or verification of the step, which the situation refuses.
FAVOURABLE = {Decide: "approve", Verify: "pass"}
CHIEF = support.chief("initiation")
HOUSING = support.reviewer("housing")

DECISION_REFUSALS = [
    pytest.param(support.withdrawn, Decide, DRC, "project_approval", "project_ended", 409, id="decide-withdrawn"),
    pytest.param(support.completed, Decide, DRC, "filing", "project_ended", 409, id="decide-completed"),
    pytest.param(support.reviewing, Decide, DRC, "no_such_step", "unknown_step", 404, id="decide-unknown-step"),
    pytest.param(support.reviewing, Decide, OWNER, "project_approval", "not_reviewer", 403, id="decide-the-owner"),
    pytest.param(
        support.reviewing, Decide, CHIEF, "project_approval", "not_reviewer", 403, id="decide-a-section-chief"
    ),
    pytest.param(
        support.reviewing, Decide, NRP, "project_approval", "wrong_department", 403, id="decide-other-department"
    ),
    pytest.param(support.fresh, Decide, DRC, "project_approval", "not_in_review", 409, id="decide-awaiting-submission"),
    pytest.param(support.returned, Decide, DRC, "project_approval", "not_in_review", 409, id="decide-returned"),
    pytest.param(support.approved, Decide, DRC, "project_approval", "not_in_review", 409, id="decide-approved"),
    pytest.param(support.granted, Decide, NRP, "land_prereview", "not_in_review", 409, id="decide-granted"),
    pytest.param(support.revoked, Decide, DRC, "project_approval", "project_suspended", 409, id="decide-suspended"),
    pytest.param(support.withdrawn, Verify, NRP, "land_prereview", "project_ended", 409, id="verify-withdrawn"),
    pytest.param(support.completed, Verify, HOUSING, "roof_safety", "project_ended", 409, id="verify-completed"),
    pytest.param(support.granted, Verify, NRP, "no_such_step", "unknown_step", 404, id="verify-unknown-step"),
    pytest.param(support.granted, Verify, OWNER, "land_prereview", "not_reviewer", 403, id="verify-the-owner"),
    pytest.param(support.granted, Verify, DRC, "land_prereview", "wrong_department", 403, id="verify-other-department"),
    pytest.param(support.fresh, Verify, NRP, "land_prereview", "not_granted", 409, id="verify-awaiting-submission"),
    pytest.param(support.reviewing, Verify, DRC, "project_approval", "not_granted", 409, id="verify-in-review"),
    pytest.param(support.verified, Verify, NRP, "land_prereview", "not_granted", 409, id="verify-verified"),
    pytest.param(support.revoked, Verify, NRP, "land_prereview", "not_granted", 409, id="verify-revoked"),
]


@pytest.mark.parametrize(("situation", "kind", "actor", "step", "code", "status"), DECISION_REFUSALS)
def test_a_decision_or_verification_is_refused(
    situation: Situation, kind: type[Decide | Verify], actor: Actor, step: str, code: str, status: int
) -> None:
    assert_refused(situation(), kind(actor=actor, step=step, outcome=FAVOURABLE[kind]), code, status)


COMMENTS_REQUIRED = [
    pytest.param(support.reviewing, Decide, DRC, "project_approval", "return", "", id="decide-return-no-comment"),
    pytest.param(support.reviewing, Decide, DRC, "project_approval", "reject", "", id="decide-reject-no-comment"),
    pytest.param(
        support.reviewing, Decide, DRC, "project_approval", "return", " \t\n", id="decide-return-blank-comment"
    ),
    pytest.param(support.reviewing, Decide, DRC, "project_approval", "reject", "   ", id="decide-reject-blank-comment"),
    pytest.param(support.inspecting, Decide, NRP, "planning_check", "return", " ", id="decide-inspection-return-blank"),
    pytest.param(support.granted, Verify, NRP, "land_prereview", "fail", "", id="verify-fail-no-comment"),
    pytest.param(support.granted, Verify, NRP, "land_prereview", "fail", "  \n", id="verify-fail-blank-comment"),
]


@pytest.mark.parametrize(("situation", "kind", "actor", "step", "outcome", "comment"), COMMENTS_REQUIRED)
def test_a_return_rejection_or_failure_needs_a_comment(
    situation: Situation, kind: type[Decide | Verify], actor: Actor, step: str, outcome: str, comment: str
) -> None:
    action = kind(actor=actor, step=step, outcome=outcome, comment=comment)
    assert_refused(situation(), action, "comment_required", 409)


def test_an_inspection_is_returned_never_rejected() -> None:
    action = Decide(actor=NRP, step="planning_check", outcome="reject", comment="bad")
    assert_refused(support.inspecting(), action, "inspection_outcome", 409)


DECIDE_ALLOWED = [
    pytest.param(support.reviewing, DRC, "project_approval", "approve", "", id="approve-without-comment"),
    pytest.param(support.reviewing, DRC, "project_approval", "return", "add the site plan", id="return-with-comment"),
    pytest.param(support.reviewing, DRC, "project_approval", "reject", "outside the plan", id="reject-with-comment"),
    pytest.param(support.inspecting, NRP, "planning_check", "approve", "", id="inspection-passes"),
    pytest.param(support.inspecting, NRP, "planning_check", "return", "setback", id="inspection-fails"),
]


@pytest.mark.parametrize(("situation", "actor", "step", "outcome", "comment"), DECIDE_ALLOWED)
def test_decide_is_allowed(situation: Situation, actor: Actor, step: str, outcome: str, comment: str) -> None:
    situation().check(Decide(actor=actor, step=step, outcome=outcome, comment=comment))


def test_the_revoked_step_is_decided_while_the_project_is_suspended() -> None:
    project = support.revoked()
    submit(project, "land_prereview", at(2))
    project.check(Decide(actor=NRP, step="land_prereview", outcome="approve"))


# --- standard mode -----------------------------------------------------------------------------


def test_submission_puts_the_step_in_review_and_starts_its_clock() -> None:
    project = support.fresh()
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
    project = support.reviewing()
    decide(project, "project_approval", at(3), outcome, comment)
    step = project.step("project_approval")
    assert (step.status, step.ended_at, step.attempt) == (status, ended_at, 1)
    assert spans(project, "project_approval") == [(T0, at(3))]
    assert step.clock.deadline is None


def test_resubmission_after_a_return_keeps_the_attempt_and_resumes_the_clock() -> None:
    project = support.returned()  # in review T0 .. T0+2
    submit(project, "project_approval", at(5), note="site plan added")
    step = project.step("project_approval")
    assert (step.status, step.attempt) == ("in_review", 1)
    assert spans(project, "project_approval") == [(T0, at(2)), (at(5), None)]
    time_clocks(project, at(5))
    assert step.clock.used_days == 2
    assert (step.clock.warn_at, step.clock.deadline) == (at(11), at(13))  # 10 days less the 2 used


def test_a_new_attempt_after_a_rejection_counts_from_zero() -> None:
    project = support.rejected()  # in review T0 .. T0+2
    submit(project, "project_approval", at(4))
    step = project.step("project_approval")
    assert (step.status, step.attempt) == ("in_review", 2)
    assert spans(project, "project_approval") == [(at(4), None)]
    time_clocks(project, at(4))
    assert (step.clock.used_days, step.clock.deadline) == (0, at(14))


def test_a_new_attempt_can_go_overdue_again() -> None:
    project = support.overdue()
    decide(project, "project_approval", at(11), "reject", "outside the plan")
    submit(project, "project_approval", at(12))
    time_clocks(project, at(12))
    support.wake(project, at(22))
    assert [e.at for e in project.pending_events if e.action == "overdue"] == [at(10), at(22)]


# --- commitment mode ---------------------------------------------------------------------------


def test_a_commitment_is_granted_at_once_and_its_verification_window_opens() -> None:
    project = support.fresh()
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
    project = support.granted()
    verify(project, "land_prereview", at(5))
    step = project.step("land_prereview")
    assert step.status == "verified"
    assert step.verification is not None and step.verification.spans == [Span(start=T0, end=at(5))]
    assert project.status == "active"
    assert project.problems == []


def test_a_failed_verification_revokes_suspends_and_raises_a_level_2_problem() -> None:
    project = support.granted()
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
    project = support.revoked()  # suspended at T0+1; project_approval in review T0 .. T0+1
    submit(project, "land_prereview", at(2))
    step = project.step("land_prereview")
    assert (step.status, step.attempt, step.commitment) == ("in_review", 2, False)
    assert spans(project, "land_prereview") == [(at(2), None)]  # a fresh clock runs while suspended
    assert (step.status, project.status) == ("in_review", "suspended")
    since = support.mark(project)
    decide(project, "land_prereview", at(4))
    assert (step.status, step.revocation_open, project.status) == ("approved", False, "active")
    assert spans(project, "project_approval") == [(T0, at(1)), (at(4), None)]
    assert support.actions(project, since) == [
        "approved",
        "resumed",
        "colour_changed",
    ]  # red to yellow: the problem stays


def test_a_rejected_re_application_keeps_the_project_suspended() -> None:
    project = support.reapplication_rejected()
    step = project.step("land_prereview")
    assert (step.status, step.revocation_open, project.status) == ("rejected", True, "suspended")
    submit(project, "land_prereview", at(4))
    assert (step.status, step.attempt) == ("in_review", 3)


def test_a_commitment_step_may_also_be_applied_for_in_standard_mode() -> None:
    project = support.fresh()
    submit(project, "land_prereview", T0)
    step = project.step("land_prereview")
    assert (step.status, step.commitment, step.verification) == ("in_review", False, None)


# --- phased mode -------------------------------------------------------------------------------

PHASES = ["foundation pit", "superstructure", "curtain wall"]


def at_construction() -> Project:
    project = support.new_project(phases=PHASES)
    support.pass_steps(project, support.GENERAL_BEFORE_CONSTRUCTION)
    return project


def test_declared_phases_become_one_step_each() -> None:
    project = support.new_project(phases=PHASES)
    phased = [(s.key, s.phase, s.name) for s in project.steps if s.spec_key == "construction_permit"]
    assert phased == [
        ("construction_permit.1", 1, "建筑工程施工许可证 Construction permit · foundation pit"),
        ("construction_permit.2", 2, "建筑工程施工许可证 Construction permit · superstructure"),
        ("construction_permit.3", 3, "建筑工程施工许可证 Construction permit · curtain wall"),
    ]


def test_without_declared_phases_the_catalog_defaults_apply() -> None:
    project = support.new_project()
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
    support.pass_steps(project, done, at(1))
    keys = ["construction_permit.1", "construction_permit.2", "construction_permit.3", "survey"]
    assert list(support.statuses(project, keys).values()) == expected


def test_a_phase_in_review_does_not_open_the_next() -> None:
    project = at_construction()
    submit(project, "construction_permit.1", at(1))
    assert support.statuses(project, ["construction_permit.1", "construction_permit.2"]) == {
        "construction_permit.1": "in_review",
        "construction_permit.2": "pending",
    }


def test_phase_2_is_refused_before_phase_1_is_done_and_accepted_right_after() -> None:
    project = at_construction()
    assert_refused(project, Submit(actor=OWNER, step="construction_permit.2"), "not_awaiting_submission", 409)
    support.pass_steps(project, ["construction_permit.1"], at(2))
    step = project.step("construction_permit.2")
    assert (step.status, step.opened_at) == ("awaiting_submission", at(2))
    submit(project, "construction_permit.2", at(2))
    assert step.status == "in_review"
