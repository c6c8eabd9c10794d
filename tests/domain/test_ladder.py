"""The escalation ladder: who may raise a problem, who holds each level, climbs at each level's
limit counted from the previous limit, reminders at the top, key projects starting at level 2."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest

from domain.access import Actor
from domain.clock import Span
from domain.project import OpenProblem, Project, RaiseProblem, ResolveProblem
from tests.domain import support
from tests.domain.support import AGENT, LEADER, OFFICE, OWNER, P1, T0, Situation, assert_refused, at, problem_at, wake

P9 = f"{support.CODE}-P9"
INITIATION_CHIEF = support.chief("initiation")
ENGINEERING_CHIEF = support.chief("engineering")


def problem_resolved() -> Project:
    project = problem_at(1)()
    project.act(ResolveProblem(actor=AGENT, problem_id=P1, resolution="the permit was issued"), at(0.5))
    return project


def raising(actor: Actor, problem_id: str = P1, reason: str = "why") -> RaiseProblem:
    return RaiseProblem(actor=actor, problem_id=problem_id, reason=reason)


def resolving(actor: Actor, problem_id: str = P1, resolution: str = "done") -> ResolveProblem:
    return ResolveProblem(actor=actor, problem_id=problem_id, resolution=resolution)


# --- OpenProblem -------------------------------------------------------------------------------

OPEN_REFUSALS = [
    pytest.param(support.withdrawn, OWNER, {}, "project_ended", 409, id="withdrawn"),
    pytest.param(support.fresh, support.reviewer("fire"), {}, "not_involved", 403, id="reviewer-not-reached"),
    pytest.param(support.fresh, support.OTHER_OWNER, {}, "not_applicant", 403, id="owner-of-another-org"),
    pytest.param(support.fresh, support.OTHER_AGENT, {}, "not_applicant", 403, id="agent-of-another-project"),
    pytest.param(support.fresh, OWNER, {"step": "no_such_step"}, "unknown_step", 404, id="unknown-step"),
    pytest.param(support.fresh, OWNER, {"summary": " \n "}, "summary_required", 409, id="blank-summary"),
    pytest.param(support.fresh, OWNER, {"summary": ""}, "summary_required", 409, id="empty-summary"),
]


@pytest.mark.parametrize(("situation", "actor", "fields", "code", "status"), OPEN_REFUSALS)
def test_open_problem_is_refused(
    situation: Situation, actor: Actor, fields: dict[str, str], code: str, status: int
) -> None:
    action = OpenProblem(actor=actor, **{"summary": "stuck", **fields})
    assert_refused(situation(), action, code, status)


@pytest.mark.parametrize(
    ("situation", "actor"),
    [
        pytest.param(support.fresh, OWNER, id="owner"),
        pytest.param(support.fresh, AGENT, id="agent"),
        pytest.param(support.fresh, support.DRC, id="reviewer-reached"),
        pytest.param(support.completed, OWNER, id="completed-project"),
    ],
)
def test_open_problem_is_allowed(situation: Situation, actor: Actor) -> None:
    situation().check(OpenProblem(actor=actor, summary="stuck"))


def test_a_problem_without_a_step_belongs_to_the_current_stage() -> None:
    project = support.new_project()
    support.pass_steps(project, ["project_approval", "land_prereview", "land_use_permit"])
    project.act(OpenProblem(actor=AGENT, summary="the design institute is slow"), at(1))
    problem = project.problems[0]
    assert (problem.id, problem.step, problem.stage, problem.level, problem.origin) == (
        P1,
        None,
        "engineering",
        1,
        "manual",
    )
    assert (problem.raised_by, problem.opened_at, problem.clock.spans) == ("agent-1", at(1), [Span(start=at(1))])


# --- RaiseProblem and ResolveProblem: refusals ---------------------------------------------------

NOT_HOLDERS = [
    pytest.param(problem_at(1), support.OTHER_AGENT, id="agent-of-another-project"),
    pytest.param(problem_at(1), OWNER, id="the-owner"),
    pytest.param(problem_at(1), support.DRC, id="a-reviewer"),
    pytest.param(problem_at(1), ENGINEERING_CHIEF, id="chief-of-another-stage-above-level-1"),
    pytest.param(problem_at(2), ENGINEERING_CHIEF, id="chief-of-another-stage"),
    pytest.param(problem_at(2), AGENT, id="agent-a-level-below"),
    pytest.param(problem_at(3), INITIATION_CHIEF, id="chief-a-level-below"),
    pytest.param(problem_at(4), OFFICE, id="office-a-level-below"),
]


@pytest.mark.parametrize("attempt", [raising, resolving])
@pytest.mark.parametrize(("situation", "actor"), NOT_HOLDERS)
def test_raise_or_resolve_by_someone_not_holding_the_level_is_refused(
    situation: Situation, actor: Actor, attempt: Callable[[Actor], RaiseProblem | ResolveProblem]
) -> None:
    assert_refused(situation(), attempt(actor), "not_holder", 403)


# Every other refusal of a raise or a resolution is a conflict (409) with the problem's state.
PROBLEM_REFUSALS = [
    pytest.param(problem_at(1), raising(AGENT, P9), "unknown_problem", id="raise-unknown-problem"),
    pytest.param(problem_resolved, raising(AGENT), "problem_resolved", id="raise-resolved"),
    pytest.param(problem_at(4), raising(LEADER), "top_level", id="raise-top-level"),
    pytest.param(problem_at(1), raising(AGENT, reason="  "), "reason_required", id="raise-blank-reason"),
    pytest.param(problem_at(1), resolving(AGENT, P9), "unknown_problem", id="resolve-unknown-problem"),
    pytest.param(problem_resolved, resolving(OFFICE), "problem_resolved", id="resolve-resolved"),
    pytest.param(problem_at(1), resolving(AGENT, resolution=""), "resolution_required", id="resolve-empty-resolution"),
    pytest.param(
        problem_at(4), resolving(LEADER, resolution="\t "), "resolution_required", id="resolve-blank-resolution"
    ),
]


@pytest.mark.parametrize(("situation", "action", "code"), PROBLEM_REFUSALS)
def test_raise_or_resolve_is_refused(situation: Situation, action: RaiseProblem | ResolveProblem, code: str) -> None:
    assert_refused(situation(), action, code, 409)


HOLDERS = [
    pytest.param(problem_at(1), AGENT, id="level-1-its-agent"),
    pytest.param(problem_at(1), INITIATION_CHIEF, id="level-1-chief-of-its-stage"),
    pytest.param(problem_at(1), LEADER, id="level-1-a-leader"),
    pytest.param(problem_at(2), INITIATION_CHIEF, id="level-2-chief-of-its-stage"),
    pytest.param(problem_at(2), OFFICE, id="level-2-the-office"),
    pytest.param(problem_at(3), OFFICE, id="level-3-the-office"),
    pytest.param(problem_at(3), LEADER, id="level-3-a-leader"),
]


@pytest.mark.parametrize(("situation", "actor"), HOLDERS)
def test_the_holder_or_anyone_above_may_raise_and_resolve(situation: Situation, actor: Actor) -> None:
    project = situation()
    project.check(raising(actor, reason="no answer"))
    project.check(resolving(actor))


def test_a_leader_resolves_at_the_top() -> None:
    problem_at(4)().check(resolving(LEADER))


# --- raising early and resolving ---------------------------------------------------------------


def test_an_early_raise_starts_the_next_level_when_it_is_raised() -> None:
    project = support.timed(problem_at(1)())
    since = support.mark(project)
    project.act(RaiseProblem(actor=AGENT, problem_id=P1, reason="the district must decide"), at(0.5))
    problem = project.problems[0]
    assert (problem.level, problem.clock.limit_days, problem.clock.spans) == (2, 2, [Span(start=at(0.5))])
    assert support.events(project, since)[0] == ("problem_escalated", "agent-1", support.ORG, "project_approval")
    assert project.pending_events[since].detail == {
        "id": P1,
        "level": 2,
        "holder": "section_chief",
        "reason": "the district must decide",
    }


def test_a_resolved_problem_stops_climbing() -> None:
    project = support.timed(problem_at(1)())
    project.act(ResolveProblem(actor=AGENT, problem_id=P1, resolution="the permit was issued"), at(0.5))
    problem = project.problems[0]
    assert (problem.status, problem.resolution, problem.resolved_by, problem.resolved_at) == (
        "resolved",
        "the permit was issued",
        "agent-1",
        at(0.5),
    )
    assert problem.clock.spans == [Span(start=T0, end=at(0.5))]
    support.time_clocks(project, at(0.5))
    wake(project, at(5))
    assert problem.level == 1
    assert project.next_wakeup() is None


# --- climbing by itself ------------------------------------------------------------------------

# (wake-up, level after it, reminders, the level's clock start, its deadline): each level starts at
# the previous level's deadline even though every wake-up comes late.
CLIMB = [
    (at(1) - support.MICRO, 1, 0, T0, at(1)),
    (at(1.5), 2, 0, at(1), at(3)),
    (at(3.25), 3, 0, at(3), at(6)),
    (at(6.1), 4, 0, at(6), at(8)),
    (at(8.5), 4, 1, at(8), at(10)),
    (at(10), 4, 2, at(10), at(12)),
]


def test_the_ladder_climbs_at_each_limit_from_the_limit_and_reminds_at_the_top() -> None:
    project = support.timed(problem_at(1)())
    problem = project.problems[0]
    seen: list[tuple[datetime, int, int, datetime, datetime | None]] = []
    for wake_at, *_ in CLIMB:
        wake(project, wake_at)
        seen.append((wake_at, problem.level, problem.reminders, problem.clock.spans[0].start, problem.clock.deadline))
    assert seen == CLIMB


def test_each_climb_and_reminder_is_an_event_of_the_system() -> None:
    project = support.timed(problem_at(1)())
    since = support.mark(project)
    for wake_at in [at(1.5), at(3.25), at(6.1), at(8.5)]:
        wake(project, wake_at)
    moves = [
        (e.action, e.actor, e.at, e.detail) for e in project.pending_events[since:] if e.action.startswith("problem")
    ]
    reason = "response limit passed"
    assert moves == [
        ("problem_escalated", "system", at(1.5), {"id": P1, "level": 2, "holder": "section_chief", "reason": reason}),
        ("problem_escalated", "system", at(3.25), {"id": P1, "level": 3, "holder": "office", "reason": reason}),
        ("problem_escalated", "system", at(6.1), {"id": P1, "level": 4, "holder": "leader", "reason": reason}),
        ("problem_reminder", "system", at(8.5), {"id": P1, "reminder": 1}),
    ]


# --- key projects ------------------------------------------------------------------------------


def open_manually(project: Project) -> None:
    project.act(OpenProblem(actor=OWNER, summary="stuck"), at(1))


def step_overdue(project: Project) -> None:
    support.submit(project, "project_approval", T0)
    support.time_clocks(project, T0)
    wake(project, at(10))


@pytest.mark.parametrize(
    ("key_project", "raise_it", "level", "limit"),
    [
        pytest.param(False, open_manually, 1, 1, id="manual"),
        pytest.param(True, open_manually, 2, 2, id="manual-key-project"),
        pytest.param(False, step_overdue, 1, 1, id="overdue"),
        pytest.param(True, step_overdue, 2, 2, id="overdue-key-project"),
    ],
)
def test_a_key_project_starts_its_problems_at_level_2(
    key_project: bool, raise_it: Callable[[Project], None], level: int, limit: int
) -> None:
    project = support.new_project(key_project=key_project)
    raise_it(project)
    [problem] = project.problems
    assert (problem.level, problem.clock.limit_days) == (level, limit)


def test_a_revocation_problem_starts_at_level_2_for_any_project() -> None:
    assert [p.level for p in support.revoked().problems] == [2]
