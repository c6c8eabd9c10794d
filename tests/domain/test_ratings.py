"""Ratings (好差评): one rating per ended step by the owner, a rectification for a 1 or 2, the
department's answer, the owner's judgement, the escalation of an unanswered one, and the rating
window after the project ends."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
from pydantic import ValidationError

from domain.access import Actor
from domain.clock import Span
from domain.project import Action, AnswerRectification, JudgeRectification, OpenProblem, Project, Rate, ResolveProblem
from tests.domain import support
from tests.domain.support import AGENT, DRC, MICRO, OWNER, R1, T0, Situation, assert_refused, at, time_clocks, wake

R9 = f"{support.CODE}-R9"


def accepted() -> Project:
    project = support.answered()
    project.act(JudgeRectification(actor=OWNER, rectification_id=R1, accept=True), at(3))
    return project


def escalated() -> Project:
    project = support.answered()
    project.act(JudgeRectification(actor=OWNER, rectification_id=R1, accept=False, comment="nothing changed"), at(3))
    return project


def window_closed() -> Project:
    """A project completed at T0 whose 10-day rating window ran out at T0 + 10 days."""
    project = support.timed(support.completed())
    wake(project, at(10))
    return project


# --- Rate --------------------------------------------------------------------------------------

RATE_REFUSALS = [
    pytest.param(support.approved, AGENT, "project_approval", "not_owner", 403, id="the-agent"),
    pytest.param(
        support.approved, support.OTHER_OWNER, "project_approval", "not_owner", 403, id="owner-of-another-org"
    ),
    pytest.param(support.approved, DRC, "project_approval", "not_owner", 403, id="a-reviewer"),
    pytest.param(support.approved, OWNER, "no_such_step", "unknown_step", 404, id="unknown-step"),
    pytest.param(support.fresh, OWNER, "project_approval", "step_not_ended", 409, id="awaiting-submission"),
    pytest.param(support.fresh, OWNER, "land_use_permit", "step_not_ended", 409, id="pending"),
    pytest.param(support.reviewing, OWNER, "project_approval", "step_not_ended", 409, id="in-review"),
    pytest.param(support.returned, OWNER, "project_approval", "step_not_ended", 409, id="returned"),
    pytest.param(support.withdrawn, OWNER, "land_prereview", "step_not_ended", 409, id="cancelled"),
    pytest.param(support.rated_badly, OWNER, "project_approval", "already_rated", 409, id="already-rated"),
    pytest.param(window_closed, OWNER, "filing", "rating_window_closed", 409, id="window-closed"),
]


@pytest.mark.parametrize(("situation", "actor", "step", "code", "status"), RATE_REFUSALS)
def test_rate_is_refused(situation: Situation, actor: Actor, step: str, code: str, status: int) -> None:
    assert_refused(situation(), Rate(actor=actor, step=step, score=4), code, status)


@pytest.mark.parametrize(
    ("situation", "step"),
    [
        pytest.param(support.approved, "project_approval", id="approved"),
        pytest.param(support.rejected, "project_approval", id="rejected"),
        pytest.param(support.granted, "land_prereview", id="granted"),
        pytest.param(support.verified, "land_prereview", id="verified"),
        pytest.param(support.revoked, "land_prereview", id="revoked"),
        pytest.param(support.withdrawn, "project_approval", id="withdrawn-project"),
    ],
)
def test_an_ended_step_may_be_rated(situation: Situation, step: str) -> None:
    situation().check(Rate(actor=OWNER, step=step, score=4))


def test_the_window_is_open_until_its_last_instant() -> None:
    project = support.timed(support.completed())
    wake(project, at(10) - MICRO)
    project.check(Rate(actor=OWNER, step="filing", score=4))


@pytest.mark.parametrize("score", [0, 6])
def test_a_score_is_1_to_5(score: int) -> None:
    with pytest.raises(ValidationError):
        Rate(actor=OWNER, step="project_approval", score=score)


@pytest.mark.parametrize(
    ("score", "rectifications"),
    [
        pytest.param(1, [R1], id="1-bad"),
        pytest.param(2, [R1], id="2-bad"),
        pytest.param(3, [], id="3-not-bad"),
        pytest.param(4, [], id="4-not-bad"),
        pytest.param(5, [], id="5-not-bad"),
    ],
)
def test_a_rating_of_1_or_2_opens_a_rectification(score: int, rectifications: list[str]) -> None:
    project = support.approved()
    created = project.act(Rate(actor=OWNER, step="project_approval", score=score), at(1))
    assert [r.id for r in project.rectifications] == rectifications
    assert created == (rectifications[0] if rectifications else None)
    assert project.step("project_approval").rating == score


def test_the_rectification_is_the_departments_with_five_working_days() -> None:
    project = support.rated_badly()
    [rect] = project.rectifications
    assert (rect.step, rect.department, rect.score, rect.complaint, rect.status, rect.opened_at) == (
        "project_approval",
        "drc",
        1,
        "three visits for one stamp",
        "open",
        at(1),
    )
    assert (rect.clock.limit_days, rect.clock.spans) == (5, [Span(start=at(1))])


# --- AnswerRectification and JudgeRectification --------------------------------------------------

ANSWER_REFUSALS = [
    pytest.param(support.rated_badly, DRC, R9, "done", "unknown_rectification", 409, id="unknown"),
    pytest.param(support.rated_badly, OWNER, R1, "done", "not_reviewer", 403, id="the-owner"),
    pytest.param(support.rated_badly, support.NRP, R1, "done", "wrong_department", 403, id="other-department"),
    pytest.param(support.answered, DRC, R1, "again", "rectification_not_open", 409, id="answered"),
    pytest.param(accepted, DRC, R1, "again", "rectification_not_open", 409, id="accepted"),
    pytest.param(escalated, DRC, R1, "again", "rectification_not_open", 409, id="escalated"),
    pytest.param(support.rated_badly, DRC, R1, "", "answer_required", 409, id="empty-answer"),
    pytest.param(support.rated_badly, DRC, R1, " \n", "answer_required", 409, id="blank-answer"),
]


@pytest.mark.parametrize(("situation", "actor", "rect_id", "answer", "code", "status"), ANSWER_REFUSALS)
def test_answer_rectification_is_refused(
    situation: Situation, actor: Actor, rect_id: str, answer: str, code: str, status: int
) -> None:
    action = AnswerRectification(actor=actor, rectification_id=rect_id, answer=answer)
    assert_refused(situation(), action, code, status)


JUDGE_REFUSALS = [
    pytest.param(support.answered, AGENT, R1, "not_owner", 403, id="the-agent"),
    pytest.param(support.answered, support.OTHER_OWNER, R1, "not_owner", 403, id="owner-of-another-org"),
    pytest.param(support.answered, OWNER, R9, "unknown_rectification", 409, id="unknown"),
    pytest.param(support.rated_badly, OWNER, R1, "rectification_not_answered", 409, id="still-open"),
    pytest.param(accepted, OWNER, R1, "rectification_not_answered", 409, id="accepted"),
    pytest.param(escalated, OWNER, R1, "rectification_not_answered", 409, id="escalated"),
]


@pytest.mark.parametrize(("situation", "actor", "rect_id", "code", "status"), JUDGE_REFUSALS)
def test_judge_rectification_is_refused(
    situation: Situation, actor: Actor, rect_id: str, code: str, status: int
) -> None:
    assert_refused(situation(), JudgeRectification(actor=actor, rectification_id=rect_id, accept=True), code, status)


def test_an_answer_stops_the_departments_clock() -> None:
    project = support.answered()
    [rect] = project.rectifications
    assert (rect.status, rect.answer) == ("answered", "one visit from now on")
    assert rect.clock.spans == [Span(start=at(1), end=at(2))]


def test_an_accepted_answer_closes_the_rectification() -> None:
    project = support.answered()
    since = support.mark(project)
    project.act(JudgeRectification(actor=OWNER, rectification_id=R1, accept=True), at(3))
    assert project.rectifications[0].status == "accepted"
    assert support.events(project, since) == [("rectification_accepted", "owner-a", None, "project_approval")]
    assert project.problems == []


def test_a_rejected_answer_becomes_a_level_2_problem() -> None:
    project = support.answered()
    created = project.act(
        JudgeRectification(actor=OWNER, rectification_id=R1, accept=False, comment="nothing changed"), at(3)
    )
    assert created == support.P1
    assert project.rectifications[0].status == "escalated"
    [problem] = project.problems
    assert (problem.level, problem.origin, problem.raised_by, problem.step) == (
        2,
        "rectification",
        "owner-a",
        "project_approval",
    )
    assert problem.summary == (
        f"Rectification {R1} for 项目审批（核准、备案） Project approval, verification or filing (drc): "
        "Owner rejected the answer: nothing changed"
    )
    assert problem.clock.spans == [Span(start=at(3))]


@pytest.mark.parametrize(
    ("wake_at", "status", "problems"),
    [
        pytest.param(at(6) - MICRO, "open", 0, id="an-instant-before-the-limit"),
        pytest.param(at(6), "escalated", 1, id="at-the-limit"),
        pytest.param(at(7.5), "escalated", 1, id="after-the-limit"),
    ],
)
def test_an_unanswered_rectification_escalates_at_its_limit(wake_at: datetime, status: str, problems: int) -> None:
    project = support.rated_badly()  # due at T0 + 6 days
    time_clocks(project, at(1))
    wake(project, wake_at)
    assert project.rectifications[0].status == status
    assert len(project.problems) == problems


def test_an_escalated_rectification_counts_its_level_2_limit_from_its_own_deadline() -> None:
    project = support.rated_badly()
    time_clocks(project, at(1))
    since = support.mark(project)
    wake(project, at(7.5))
    [problem] = project.problems
    assert (problem.level, problem.origin, problem.raised_by) == (2, "rectification", "system")
    assert problem.clock.spans == [Span(start=at(6))]
    assert problem.clock.deadline == at(8)
    assert [(e.action, e.actor, e.detail) for e in project.pending_events[since:] if e.action != "colour_changed"] == [
        ("rectification_escalated", "system", {"id": R1, "reason": "no answer within the limit"}),
        ("problem_raised", "system", {"id": support.P1, "level": 2, "origin": "rectification"}),
    ]


# --- the end of the workflow: `finished` ----------------------------------------------------------


def nothing(project: Project) -> None:
    pass


def act(project: Project, action: Action, now: datetime) -> None:
    project.act(action, now)
    time_clocks(project, now)


def problem_open(project: Project) -> None:
    act(project, OpenProblem(actor=OWNER, summary="the filing certificate is wrong"), at(9))


def problem_resolved(project: Project) -> None:
    problem_open(project)
    act(project, ResolveProblem(actor=AGENT, problem_id=support.P1, resolution="reissued"), at(9.5))


def rect_open(project: Project) -> None:
    act(project, Rate(actor=OWNER, step="filing", score=2), at(8))


def rect_answered(project: Project) -> None:
    rect_open(project)
    act(project, AnswerRectification(actor=DRC, rectification_id=R1, answer="new desk"), at(9))


def rect_accepted(project: Project) -> None:
    rect_answered(project)
    act(project, JudgeRectification(actor=OWNER, rectification_id=R1, accept=True), at(9.5))


@pytest.mark.parametrize(
    ("prepare", "wake_at", "finished"),
    [
        pytest.param(nothing, at(10) - MICRO, False, id="window-still-running"),
        pytest.param(nothing, at(10), True, id="window-used-up"),
        pytest.param(problem_open, at(10), False, id="a-problem-open"),
        pytest.param(problem_resolved, at(10), True, id="the-problem-resolved"),
        pytest.param(rect_open, at(10), False, id="a-rectification-open"),
        pytest.param(rect_answered, at(10), False, id="a-rectification-answered"),
        pytest.param(rect_accepted, at(10), True, id="the-rectification-accepted"),
    ],
)
def test_finished_only_when_ended_nothing_open_and_the_window_used_up(
    prepare: Callable[[Project], None], wake_at: datetime, finished: bool
) -> None:
    project = support.timed(support.completed())  # the rating window runs T0 .. T0 + 10 days
    prepare(project)
    wake(project, wake_at)
    assert project.finished is finished


def test_a_project_not_ended_is_not_finished() -> None:
    project = support.approved()
    assert (project.finished, project.window) == (False, None)


def test_the_window_pauses_when_it_runs_out() -> None:
    project = window_closed()
    assert project.window is not None
    assert project.window.spans == [Span(start=T0, end=at(10))]
    assert project.window.used_days == 10
