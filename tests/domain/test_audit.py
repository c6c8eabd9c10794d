"""The audit trail: each action records its events in order, with actor, role, the owner an agent
acts for, step and detail; sequence numbers go up by one per event."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from domain.errors import ActionRefused
from domain.project import (
    Action,
    AnswerRectification,
    Decide,
    JudgeRectification,
    OpenProblem,
    Project,
    RaiseProblem,
    Rate,
    ResolveProblem,
    Submit,
    Verify,
    Withdraw,
)
from tests.domain.support import (
    AGENT,
    CODE,
    OFFICE,
    ORG,
    OWNER,
    at,
    inspecting,
    chief,
    fresh,
    granted,
    pass_steps,
    returned,
    reviewer,
    reviewing,
)

P1 = f"{CODE}-P1"
R1 = f"{CODE}-R1"
DRC = reviewer("drc")
NRP = reviewer("nrp")
SYS = ("system", "system", None)
Expected = list[tuple[str, str, str, str | None, str | None, dict[str, Any]]]


def with_problem() -> Project:
    project = fresh()
    project.act(OpenProblem(actor=OWNER, summary="stuck", step="project_approval"), at(0.5))
    return project


def approved() -> Project:
    project = fresh()
    pass_steps(project, ["project_approval"])
    return project


def rated_badly() -> Project:
    project = approved()
    project.act(Rate(actor=OWNER, step="project_approval", score=1), at(0.5))
    return project


def answered() -> Project:
    project = rated_badly()
    project.act(AnswerRectification(actor=DRC, rectification_id=R1, answer="a new desk"), at(0.5))
    return project


CASES: list[Any] = [
    pytest.param(
        fresh,
        Submit(actor=OWNER, step="project_approval", note="first", documents=["plan.pdf"]),
        [
            (
                "submitted",
                "owner-a",
                "owner",
                None,
                "project_approval",
                {"note": "first", "documents": ["plan.pdf"], "attempt": 1},
            )
        ],
        id="submit-by-the-owner",
    ),
    pytest.param(
        fresh,
        Submit(actor=AGENT, step="project_approval", note="first"),
        [("submitted", "agent-1", "agent", ORG, "project_approval", {"note": "first", "documents": [], "attempt": 1})],
        id="submit-by-the-agent-for-the-owner",
    ),
    pytest.param(
        returned,
        Submit(actor=AGENT, step="project_approval", note="plan added"),
        [("resubmitted", "agent-1", "agent", ORG, "project_approval", {"note": "plan added", "documents": []})],
        id="resubmit",
    ),
    pytest.param(
        fresh,
        Submit(actor=AGENT, step="land_prereview", commitment=True),
        [
            (
                "commitment_signed",
                "agent-1",
                "agent",
                ORG,
                "land_prereview",
                {"note": "", "documents": [], "attempt": 1},
            ),
            ("commitment_granted", *SYS, "land_prereview", {"department": "nrp"}),
            ("step_opened", *SYS, "land_use_permit", {"department": "nrp"}),
        ],
        id="commitment",
    ),
    pytest.param(
        reviewing,
        Decide(actor=DRC, step="project_approval", outcome="approve"),
        [("approved", "reviewer-drc", "reviewer", None, "project_approval", {"comment": "", "attempt": 1})],
        id="approve",
    ),
    pytest.param(
        reviewing,
        Decide(actor=DRC, step="project_approval", outcome="return", comment="add the plan"),
        [("returned", "reviewer-drc", "reviewer", None, "project_approval", {"comment": "add the plan", "attempt": 1})],
        id="return",
    ),
    pytest.param(
        reviewing,
        Decide(actor=DRC, step="project_approval", outcome="reject", comment="outside the plan"),
        [
            (
                "rejected",
                "reviewer-drc",
                "reviewer",
                None,
                "project_approval",
                {"comment": "outside the plan", "attempt": 1},
            )
        ],
        id="reject",
    ),
    pytest.param(
        inspecting,
        Decide(actor=NRP, step="planning_check", outcome="return", comment="setback"),
        [
            (
                "inspection_failed",
                "reviewer-nrp",
                "reviewer",
                None,
                "planning_check",
                {"comment": "setback", "attempt": 1},
            )
        ],
        id="inspection-fails",
    ),
    pytest.param(
        granted,
        Verify(actor=NRP, step="land_prereview", outcome="pass"),
        [("verified", "reviewer-nrp", "reviewer", None, "land_prereview", {"comment": ""})],
        id="verify-pass",
    ),
    pytest.param(
        granted,
        Verify(actor=NRP, step="land_prereview", outcome="fail", comment="wrong plot"),
        [
            ("revoked", "reviewer-nrp", "reviewer", None, "land_prereview", {"comment": "wrong plot"}),
            ("suspended", *SYS, None, {"reason": "commitment for land_prereview revoked"}),
            ("problem_raised", *SYS, "land_prereview", {"id": P1, "level": 2, "origin": "revocation"}),
            ("colour_changed", *SYS, None, {"from": "green", "to": "red"}),
        ],
        id="verify-fail",
    ),
    pytest.param(
        reviewing,
        Withdraw(actor=AGENT, reason="no money"),
        [("withdrawn", "agent-1", "agent", ORG, None, {"reason": "no money"})],
        id="withdraw-by-the-agent",
    ),
    pytest.param(
        fresh,
        OpenProblem(actor=AGENT, summary="stuck", step="project_approval"),
        [
            ("problem_raised", "agent-1", "agent", ORG, "project_approval", {"id": P1, "level": 1, "origin": "manual"}),
            ("colour_changed", *SYS, None, {"from": "green", "to": "yellow"}),
        ],
        id="open-problem-by-the-agent",
    ),
    pytest.param(
        with_problem,
        RaiseProblem(actor=chief("initiation"), problem_id=P1, reason="urgent"),
        [
            (
                "problem_escalated",
                "chief-initiation",
                "section_chief",
                None,
                "project_approval",
                {"id": P1, "level": 2, "holder": "section_chief", "reason": "urgent"},
            )
        ],
        id="raise-problem",
    ),
    pytest.param(
        with_problem,
        ResolveProblem(actor=OFFICE, problem_id=P1, resolution="done"),
        [
            (
                "problem_resolved",
                "office-1",
                "office",
                None,
                "project_approval",
                {"id": P1, "level": 1, "resolution": "done"},
            ),
            ("colour_changed", *SYS, None, {"from": "yellow", "to": "green"}),
        ],
        id="resolve-problem",
    ),
    pytest.param(
        approved,
        Rate(actor=OWNER, step="project_approval", score=2, comment="slow"),
        [
            ("rated", "owner-a", "owner", None, "project_approval", {"score": 2, "comment": "slow"}),
            ("rectification_opened", *SYS, "project_approval", {"id": R1, "department": "drc"}),
        ],
        id="bad-rating",
    ),
    pytest.param(
        rated_badly,
        AnswerRectification(actor=DRC, rectification_id=R1, answer="a new desk"),
        [
            (
                "rectification_answered",
                "reviewer-drc",
                "reviewer",
                None,
                "project_approval",
                {"id": R1, "answer": "a new desk"},
            )
        ],
        id="answer-rectification",
    ),
    pytest.param(
        answered,
        JudgeRectification(actor=OWNER, rectification_id=R1, accept=False, comment="no change"),
        [
            (
                "rectification_escalated",
                "owner-a",
                "owner",
                None,
                "project_approval",
                {"id": R1, "reason": "Owner rejected the answer: no change"},
            ),
            (
                "problem_raised",
                "owner-a",
                "owner",
                None,
                "project_approval",
                {"id": P1, "level": 2, "origin": "rectification"},
            ),
            ("colour_changed", *SYS, None, {"from": "green", "to": "yellow"}),
        ],
        id="judge-rectification-rejected",
    ),
]


@pytest.mark.parametrize(("situation", "action", "expected"), CASES)
def test_each_action_records_its_events(situation: Callable[[], Project], action: Action, expected: Expected) -> None:
    project = situation()
    before = len(project.pending_events)
    project.act(action, at(1))
    recorded = project.pending_events[before:]
    assert [(e.action, e.actor, e.role, e.on_behalf_of, e.step, e.detail) for e in recorded] == expected
    assert {e.at for e in recorded} == {at(1)}


@pytest.mark.parametrize(("situation", "action", "expected"), CASES)
def test_sequence_numbers_go_up_by_one_per_event(
    situation: Callable[[], Project], action: Action, expected: Expected
) -> None:
    project = situation()
    last = project.event_seq
    assert [e.seq for e in project.pending_events] == list(range(1, last + 1))
    project.act(action, at(1))
    assert [e.seq for e in project.pending_events[-len(expected) :]] == [last + i for i in range(1, len(expected) + 1)]
    assert project.event_seq == last + len(expected)


def test_a_refused_action_records_nothing() -> None:
    project = fresh()
    with pytest.raises(ActionRefused):
        project.act(Submit(actor=OWNER, step="land_use_permit"), at(1))
    assert [e.seq for e in project.pending_events] == [1, 2, 3]
    assert project.event_seq == 3
