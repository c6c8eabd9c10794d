"""The access policy: the role gate of every action, who sees a project, who holds a ladder level."""

from __future__ import annotations

import pytest

from domain.access import GATES, ROLES, Actor, holds_level, may_see, require_role
from domain.catalog import Stage
from domain.errors import ActionRefused
from domain.project import Action, chain, ladder, ratings, steps
from tests.domain import support
from tests.domain.support import AGENT, DRC, LEADER, OFFICE, OTHER_AGENT, OTHER_OWNER, OWNER, chief, reviewer

# Who may attempt each action at all, as the matrix of docs/security.md ("Who may do what") says;
# raising and resolving are open to every role at the gate, the problem's level then decides.
ALLOWED: dict[str, set[str]] = {
    "create_project": {"owner", "agent"},
    "withdraw": {"owner", "agent"},
    "submit": {"owner", "agent"},
    "upload_document": {"owner", "agent"},
    "decide": {"reviewer"},
    "verify": {"reviewer"},
    "rate": {"owner"},
    "open_problem": {"owner", "agent", "reviewer"},
    "answer_rectification": {"reviewer"},
    "judge_rectification": {"owner"},
    "raise_problem": {"owner", "agent", "reviewer", "section_chief", "office", "leader"},
    "resolve_problem": {"owner", "agent", "reviewer", "section_chief", "office", "leader"},
    "read_statistics": {"section_chief", "office", "leader"},
    "manage": {"office"},
}

ACTION_GATES: list[tuple[type[Action], str]] = [
    (chain.Withdraw, "withdraw"),
    (steps.Submit, "submit"),
    (steps.Decide, "decide"),
    (steps.Verify, "verify"),
    (ratings.Rate, "rate"),
    (ladder.OpenProblem, "open_problem"),
    (ratings.AnswerRectification, "answer_rectification"),
    (ratings.JudgeRectification, "judge_rectification"),
    (ladder.RaiseProblem, "raise_problem"),
    (ladder.ResolveProblem, "resolve_problem"),
]


def test_every_gate_is_in_the_table() -> None:
    assert set(GATES) == set(ALLOWED)


@pytest.mark.parametrize(("cls", "gate"), [pytest.param(c, g, id=c.__name__) for c, g in ACTION_GATES])
def test_each_action_names_its_gate(cls: type[Action], gate: str) -> None:
    assert cls.gate == gate


GATE_CASES = [
    pytest.param(gate, role, role in allowed, id=f"{gate}-{role}")
    for gate, allowed in ALLOWED.items()
    for role in ["owner", "agent", "reviewer", "section_chief", "office", "leader"]
]


@pytest.mark.parametrize(("gate", "role", "allowed"), GATE_CASES)
def test_the_role_gate(gate: str, role: str, allowed: bool) -> None:
    actor = Actor(username="someone", role=role)
    if allowed:
        require_role(actor, gate)
        return
    with pytest.raises(ActionRefused) as refused:
        require_role(actor, gate)
    assert (refused.value.code, refused.value.status) == ("forbidden_role", 403)


def test_the_roles() -> None:
    assert ROLES == ("owner", "agent", "reviewer", "section_chief", "office", "leader")


def test_a_refused_role_is_told_who_may() -> None:
    with pytest.raises(ActionRefused) as refused:
        require_role(DRC, "withdraw")
    assert refused.value.detail == "role reviewer may not do this (needs owner, agent)"


# --- visibility --------------------------------------------------------------------------------

OWNER_WITHOUT_ORG = Actor(username="owner-c", role="owner")


@pytest.mark.parametrize(
    ("actor", "sees"),
    [
        pytest.param(OWNER, True, id="its-owner"),
        pytest.param(OTHER_OWNER, False, id="owner-of-another-org"),
        pytest.param(OWNER_WITHOUT_ORG, False, id="owner-without-org"),
        pytest.param(AGENT, True, id="its-agent"),
        pytest.param(OTHER_AGENT, False, id="another-agent"),
        pytest.param(DRC, True, id="reviewer-reached"),
        pytest.param(reviewer("fire"), False, id="reviewer-not-reached"),
        pytest.param(chief("acceptance"), True, id="any-section-chief"),
        pytest.param(OFFICE, True, id="office"),
        pytest.param(LEADER, True, id="leader"),
    ],
)
def test_who_sees_a_new_project(actor: Actor, sees: bool) -> None:
    assert may_see(actor, support.fresh()) is sees


# --- ladder levels -----------------------------------------------------------------------------

INIT = Stage.initiation


@pytest.mark.parametrize(
    ("actor", "level", "holds"),
    [
        pytest.param(AGENT, 1, True, id="its-agent-level-1"),
        pytest.param(OTHER_AGENT, 1, False, id="another-agent-level-1"),
        pytest.param(AGENT, 2, False, id="its-agent-level-2"),
        pytest.param(OWNER, 1, False, id="owner-level-1"),
        pytest.param(DRC, 1, False, id="reviewer-level-1"),
        pytest.param(chief("initiation"), 1, True, id="chief-of-stage-level-1"),
        pytest.param(chief("initiation"), 2, True, id="chief-of-stage-level-2"),
        pytest.param(chief("engineering"), 2, False, id="chief-of-other-stage-level-2"),
        pytest.param(chief("engineering"), 1, False, id="chief-of-other-stage-level-1"),
        pytest.param(chief("initiation"), 3, False, id="chief-of-stage-level-3"),
        pytest.param(OFFICE, 3, True, id="office-level-3"),
        pytest.param(OFFICE, 1, True, id="office-level-1"),
        pytest.param(OFFICE, 4, False, id="office-level-4"),
        pytest.param(LEADER, 4, True, id="leader-level-4"),
        pytest.param(LEADER, 1, True, id="leader-level-1"),
    ],
)
def test_who_holds_a_level_of_an_initiation_problem(actor: Actor, level: int, holds: bool) -> None:
    assert holds_level(actor, support.fresh(), level, INIT) is holds
