"""The audit trail: each action records its events in order, with actor, role, the owner an agent
acts for, step and detail; sequence numbers go up by one per event."""

from __future__ import annotations

from typing import Any

import pytest

from domain.errors import ActionRefused
from domain.project import Action, chain, ladder, ratings, steps
from tests.domain import support
from tests.domain.support import AGENT, DRC, NRP, OFFICE, OWNER, P1, R1, Situation, at

# Who recorded an event: (actor, role, the owner an agent acts for).
BY_OWNER = ("owner-a", "owner", None)
BY_AGENT = ("agent-1", "agent", support.ORG)
BY_DRC = ("reviewer-drc", "reviewer", None)
BY_NRP = ("reviewer-nrp", "reviewer", None)
BY_CHIEF = ("chief-initiation", "section_chief", None)
BY_OFFICE = ("office-1", "office", None)
SYS = ("system", "system", None)
Expected = list[tuple[str, str, str, str | None, str | None, dict[str, Any]]]
# Every case acts after the last event of its situation.
NOW = at(3)

# A reviewer's three decisions on a step in review: the event of each, with the same detail.
DECISIONS = [
    pytest.param(
        support.reviewing,
        steps.Decide(actor=DRC, step="project_approval", outcome=outcome, comment=comment),
        [(event, *BY_DRC, "project_approval", {"comment": comment, "attempt": 1})],
        id=outcome,
    )
    for outcome, comment, event in [
        ("approve", "", "approved"),
        ("return", "add the plan", "returned"),
        ("reject", "outside the plan", "rejected"),
    ]
]

CASES: list[Any] = [
    pytest.param(
        support.fresh,
        steps.Submit(actor=OWNER, step="project_approval", note="first", documents=["plan.pdf"]),
        [("submitted", *BY_OWNER, "project_approval", {"note": "first", "documents": ["plan.pdf"], "attempt": 1})],
        id="submit-by-the-owner",
    ),
    pytest.param(
        support.fresh,
        steps.Submit(actor=AGENT, step="project_approval", note="first"),
        [("submitted", *BY_AGENT, "project_approval", {"note": "first", "documents": [], "attempt": 1})],
        id="submit-by-the-agent-for-the-owner",
    ),
    pytest.param(
        support.returned,
        steps.Submit(actor=AGENT, step="project_approval", note="plan added"),
        [("resubmitted", *BY_AGENT, "project_approval", {"note": "plan added", "documents": []})],
        id="resubmit",
    ),
    pytest.param(
        support.fresh,
        steps.Submit(actor=AGENT, step="land_prereview", commitment=True),
        [
            ("commitment_signed", *BY_AGENT, "land_prereview", {"note": "", "documents": [], "attempt": 1}),
            ("commitment_granted", *SYS, "land_prereview", {"department": "nrp"}),
            ("step_opened", *SYS, "land_use_permit", {"department": "nrp"}),
        ],
        id="commitment",
    ),
    *DECISIONS,
    pytest.param(
        support.inspecting,
        steps.Decide(actor=NRP, step="planning_check", outcome="return", comment="setback"),
        [("inspection_failed", *BY_NRP, "planning_check", {"comment": "setback", "attempt": 1})],
        id="inspection-fails",
    ),
    pytest.param(
        support.granted,
        steps.Verify(actor=NRP, step="land_prereview", outcome="pass"),
        [("verified", *BY_NRP, "land_prereview", {"comment": ""})],
        id="verify-pass",
    ),
    pytest.param(
        support.granted,
        steps.Verify(actor=NRP, step="land_prereview", outcome="fail", comment="wrong plot"),
        [
            ("revoked", *BY_NRP, "land_prereview", {"comment": "wrong plot"}),
            ("suspended", *SYS, None, {"reason": "commitment for land_prereview revoked"}),
            ("problem_raised", *SYS, "land_prereview", {"id": P1, "level": 2, "origin": "revocation"}),
            ("colour_changed", *SYS, None, {"from": "green", "to": "red"}),
        ],
        id="verify-fail",
    ),
    pytest.param(
        support.reviewing,
        chain.Withdraw(actor=AGENT, reason="no money"),
        [("withdrawn", *BY_AGENT, None, {"reason": "no money"})],
        id="withdraw-by-the-agent",
    ),
    pytest.param(
        support.fresh,
        ladder.OpenProblem(actor=AGENT, summary="stuck", step="project_approval"),
        [
            ("problem_raised", *BY_AGENT, "project_approval", {"id": P1, "level": 1, "origin": "manual"}),
            ("colour_changed", *SYS, None, {"from": "green", "to": "yellow"}),
        ],
        id="open-problem-by-the-agent",
    ),
    pytest.param(
        support.problem_at(1),
        ladder.RaiseProblem(actor=support.chief("initiation"), problem_id=P1, reason="urgent"),
        [
            (
                "problem_escalated",
                *BY_CHIEF,
                "project_approval",
                {"id": P1, "level": 2, "holder": "section_chief", "reason": "urgent"},
            )
        ],
        id="raise-problem",
    ),
    pytest.param(
        support.problem_at(1),
        ladder.ResolveProblem(actor=OFFICE, problem_id=P1, resolution="done"),
        [
            ("problem_resolved", *BY_OFFICE, "project_approval", {"id": P1, "level": 1, "resolution": "done"}),
            ("colour_changed", *SYS, None, {"from": "yellow", "to": "green"}),
        ],
        id="resolve-problem",
    ),
    pytest.param(
        support.approved,
        ratings.Rate(actor=OWNER, step="project_approval", score=2, comment="slow"),
        [
            ("rated", *BY_OWNER, "project_approval", {"score": 2, "comment": "slow"}),
            ("rectification_opened", *SYS, "project_approval", {"id": R1, "department": "drc"}),
        ],
        id="bad-rating",
    ),
    pytest.param(
        support.rated_badly,
        ratings.AnswerRectification(actor=DRC, rectification_id=R1, answer="a new desk"),
        [("rectification_answered", *BY_DRC, "project_approval", {"id": R1, "answer": "a new desk"})],
        id="answer-rectification",
    ),
    pytest.param(
        support.answered,
        ratings.JudgeRectification(actor=OWNER, rectification_id=R1, accept=False, comment="no change"),
        [
            (
                "rectification_escalated",
                *BY_OWNER,
                "project_approval",
                {"id": R1, "reason": "Owner rejected the answer: no change"},
            ),
            ("problem_raised", *BY_OWNER, "project_approval", {"id": P1, "level": 2, "origin": "rectification"}),
            ("colour_changed", *SYS, None, {"from": "green", "to": "yellow"}),
        ],
        id="judge-rectification-rejected",
    ),
]


@pytest.mark.parametrize(("situation", "action", "expected"), CASES)
def test_each_action_records_its_events(situation: Situation, action: Action, expected: Expected) -> None:
    project = situation()
    before = len(project.pending_events)
    project.act(action, NOW)
    recorded = project.pending_events[before:]
    assert [(e.action, e.actor, e.role, e.on_behalf_of, e.step, e.detail) for e in recorded] == expected
    assert {e.at for e in recorded} == {NOW}


@pytest.mark.parametrize(("situation", "action", "expected"), CASES)
def test_sequence_numbers_go_up_by_one_per_event(situation: Situation, action: Action, expected: Expected) -> None:
    project = situation()
    last = project.event_seq
    assert [e.seq for e in project.pending_events] == list(range(1, last + 1))
    project.act(action, NOW)
    assert [e.seq for e in project.pending_events[-len(expected) :]] == [last + i for i in range(1, len(expected) + 1)]
    assert project.event_seq == last + len(expected)


def test_a_refused_action_records_nothing() -> None:
    project = support.fresh()
    with pytest.raises(ActionRefused):
        project.act(steps.Submit(actor=OWNER, step="land_use_permit"), NOW)
    assert [e.seq for e in project.pending_events] == [1, 2, 3]
    assert project.event_seq == 3
