"""What time alone does: overdue at the deadline instant (deemed approval or a problem), overdue
verifications, colours, the next wake-up, timings applied only to unchanged clocks, and calendar
changes. The compressed clock of support.py stands in for the deadline activity: one working day
is one hour from T0, so `at(10)` is the end of a 10-day limit started at T0."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest

from domain.catalog import CategorySpec
from domain.clock import ClockTiming, Span, fingerprint
from domain.project import OpenProblem, Project, ResolveProblem, Withdraw
from tests.domain import support
from tests.domain.support import MICRO, OWNER, P1, T0, Situation, at, decide, mark, submit, time_clocks, timed, wake

P2 = f"{support.CODE}-P2"


def low_risk_in_review() -> Project:
    """low_risk at T0: filing (1 day, deemed approval) and combined_permit (2 days, problem) in review."""
    project = support.new_project("low_risk")
    submit(project, "filing", T0)
    submit(project, "combined_permit", T0)
    return timed(project)


# --- overdue: the deadline instant, and the two policies ---------------------------------------


@pytest.mark.parametrize(
    ("key", "wake_at", "status", "recorded"),
    [
        pytest.param("filing", at(1) - MICRO, "in_review", [], id="deemed-an-instant-before"),
        pytest.param("filing", at(1), "approved", ["deemed_approved"], id="deemed-at-the-deadline"),
        pytest.param("combined_permit", at(2) - MICRO, "in_review", [], id="problem-an-instant-before"),
        pytest.param(
            "combined_permit", at(2), "in_review", ["overdue", "problem_raised"], id="problem-at-the-deadline"
        ),
    ],
)
def test_a_step_is_overdue_exactly_at_its_deadline(
    key: str, wake_at: datetime, status: str, recorded: list[str]
) -> None:
    project = low_risk_in_review()
    since = mark(project)
    project.tick(wake_at)
    assert project.step(key).status == status
    assert [e.action for e in project.pending_events[since:] if e.step == key and e.action != "step_opened"] == recorded


def test_deemed_approval_approves_in_the_systems_name_and_raises_nothing() -> None:
    project = low_risk_in_review()
    since = mark(project)
    wake(project, at(1))
    step = project.step("filing")
    assert (step.status, step.ended_at, step.overdue_handled) == ("approved", at(1), True)
    assert step.clock.spans == [Span(start=T0, end=at(1))]
    assert [(e.action, e.actor, e.detail) for e in project.pending_events[since:]] == [
        ("deemed_approved", "system", {"responsible_department": "drc"}),
    ]
    assert project.problems == []


def test_the_problem_policy_raises_a_level_1_problem_from_the_deadline() -> None:
    project = low_risk_in_review()
    since = mark(project)
    wake(project, at(2.5))  # a late wake-up
    assert project.step("combined_permit").status == "in_review"
    [problem] = project.problems
    assert (problem.level, problem.origin, problem.step, problem.raised_by) == (
        1,
        "overdue",
        "combined_permit",
        "system",
    )
    assert problem.summary == (
        "建设工程规划许可（含设计方案、用地规划） Combined planning and engineering permit "
        "is over its 2-working-day limit (nrp)"
    )
    assert problem.clock.spans == [Span(start=at(2))]
    assert support.events(project, since) == [
        ("deemed_approved", "system", None, "filing"),  # filing was due at T0 + 1 day
        ("overdue", "system", None, "combined_permit"),
        ("problem_raised", "system", None, "combined_permit"),
        ("colour_changed", "system", None, None),
    ]


def test_an_overdue_step_raises_its_problem_once() -> None:
    project = low_risk_in_review()
    wake(project, at(2))
    wake(project, at(2.5))
    assert [p.origin for p in project.problems] == ["overdue"]


def test_a_deemed_approval_moves_the_chain_on() -> None:
    project = support.new_project("photovoltaic")
    submit(project, "filing", T0)
    time_clocks(project, T0)
    wake(project, at(2))
    assert support.statuses(project, ["filing", "roof_safety"]) == {
        "filing": "approved",
        "roof_safety": "awaiting_submission",
    }
    assert project.step("roof_safety").opened_at == at(2)


# A commitment step whose review is deemed approved at its deadline: no shipped category has
# one, but the office may define it (the catalog allows every overdue policy on every mode).
QUICK_PERMIT = CategorySpec.model_validate(
    {
        "key": "quick_permit",
        "name": "快速许可 Quick permit",  # a name as '中文 English' is split into its two parts
        "description": "告知承诺备案，部门超时默认通过。 A filing on a commitment, deemed approved when the department is late.",
        "project_type": "03",
        "steps": [
            {"key": "filing", "name": "备案 Filing", "stage": "initiation", "department": "drc", "mode": "commitment"}
            | {"limit_working_days": 2, "verify_working_days": 5, "overdue": "deemed_approval"},
            {
                "key": "permit",
                "name": "许可 Permit",
                "stage": "engineering",
                "department": "nrp",
                "limit_working_days": 3,
            },
        ],
    }
)


def test_a_deemed_approval_of_a_re_application_resolves_the_revocation() -> None:
    project = support.new_project(QUICK_PERMIT)
    submit(project, "filing", T0, commitment=True)
    support.verify(project, "filing", at(1), "fail", "a false statement")
    submit(project, "filing", at(2))  # the standard re-application, due at T0 + 4
    time_clocks(project, at(2))
    since = mark(project)
    wake(project, at(4))
    step = project.step("filing")
    assert (step.status, step.revocation_open, project.status) == ("approved", False, "active")
    assert support.actions(project, since)[:2] == ["deemed_approved", "resumed"]
    submit(project, "permit", at(5))  # the chain moves again
    assert project.step("permit").status == "in_review"


@pytest.mark.parametrize(
    ("wake_at", "raised"),
    [
        pytest.param(at(20) - MICRO, [], id="an-instant-before"),
        pytest.param(at(20), [at(20)], id="at-the-deadline"),
        pytest.param(at(21), [at(20)], id="late-wake-up-counts-from-the-deadline"),
    ],
)
def test_an_overdue_verification_raises_a_problem_from_its_deadline(wake_at: datetime, raised: list[datetime]) -> None:
    project = timed(support.committed())
    project.tick(wake_at)
    assert [p.clock.spans[0].start for p in project.problems] == raised
    assert project.step("land_prereview").verification_overdue_handled is bool(raised)


# --- colours -----------------------------------------------------------------------------------


def colours(project: Project) -> tuple[str, str]:
    return project.step("project_approval").colour, project.colour


@pytest.mark.parametrize(
    ("wake_at", "step_colour", "project_colour"),
    [
        pytest.param(at(8) - MICRO, "green", "green", id="before-warn-at"),
        pytest.param(at(8), "yellow", "yellow", id="at-warn-at"),
        pytest.param(at(10) - MICRO, "yellow", "yellow", id="before-the-deadline"),
        pytest.param(at(10), "red", "red", id="at-the-deadline"),
    ],
)
def test_a_step_turns_yellow_at_warn_at_and_red_at_its_deadline(
    wake_at: datetime, step_colour: str, project_colour: str
) -> None:
    project = timed(support.reviewing())
    project.tick(wake_at)
    assert colours(project) == (step_colour, project_colour)


def test_the_project_takes_the_worst_colour_of_its_steps() -> None:
    project = support.reviewing()  # project_approval: yellow from T0 + 8
    submit(project, "land_prereview", at(5))  # yellow from T0 + 13
    time_clocks(project, at(5))
    project.tick(at(8))
    assert statuses_colours(project) == {"project_approval": "yellow", "land_prereview": "green"}
    assert project.colour == "yellow"


def statuses_colours(project: Project) -> dict[str, str]:
    return {s.key: s.colour for s in project.steps if s.open}


@pytest.mark.parametrize(
    ("used", "colour"),
    [
        pytest.param(7, "green", id="7-of-10-used"),
        pytest.param(8, "yellow", id="8-of-10-used"),
        pytest.param(10, "red", id="10-of-10-used"),
    ],
)
def test_a_returned_step_keeps_the_colour_of_the_days_it_used(used: int, colour: str) -> None:
    project = support.reviewing()
    decide(project, "project_approval", at(used), "return", "add the site plan")
    time_clocks(project, at(used))
    assert colours(project) == (colour, colour)


@pytest.mark.parametrize(
    ("level", "colour"),
    [
        pytest.param(1, "yellow", id="level-1"),
        pytest.param(2, "yellow", id="level-2"),
        pytest.param(3, "red", id="level-3"),
        pytest.param(4, "red", id="level-4"),
    ],
)
def test_an_open_problem_is_yellow_and_red_from_level_3(level: int, colour: str) -> None:
    assert support.problem_at(level)().colour == colour


def test_an_open_revocation_is_red() -> None:
    project = support.revoked()
    assert (project.step("land_prereview").colour, project.colour) == ("red", "red")


def test_a_granted_verification_window_has_its_own_colour() -> None:
    project = timed(support.granted())
    project.tick(at(16))
    assert project.step("land_prereview").colour == "yellow"


def test_an_ended_project_is_green_once_no_problem_is_open() -> None:
    project = support.overdue()
    assert (project.status, project.colour) == ("active", "red")
    project.act(Withdraw(actor=OWNER), at(11))
    assert (project.status, project.colour) == ("withdrawn", "green")
    assert project.pending_events[-1].detail == {"from": "red", "to": "green"}


def test_an_ended_project_is_green_even_with_a_late_verification_window() -> None:
    project = timed(support.granted())
    project.act(Withdraw(actor=OWNER), at(17))  # the window paused with 17 of its 20 days used
    time_clocks(project, at(17))
    assert (project.step("land_prereview").colour, project.colour) == ("yellow", "green")


def test_a_completed_project_with_an_open_problem_keeps_its_colour() -> None:
    project = support.completed()
    project.act(OpenProblem(actor=OWNER, summary="the certificate is wrong"), at(1))
    assert project.colour == "yellow"


def test_each_change_of_the_projects_colour_is_an_event() -> None:
    project = timed(support.reviewing())
    since = mark(project)
    wake(project, at(8))
    wake(project, at(10))
    changes = [(e.at, e.detail) for e in project.pending_events[since:] if e.action == "colour_changed"]
    assert changes == [(at(8), {"from": "green", "to": "yellow"}), (at(10), {"from": "yellow", "to": "red"})]


# --- the next wake-up --------------------------------------------------------------------------


def timed_at(situation: Situation, now: datetime = T0) -> Situation:
    """The situation with its clocks timed at `now`."""
    return lambda: timed(situation(), now)


def warning_seen() -> Project:
    project = timed(support.reviewing())
    project.tick(at(8))
    return project


def two_steps_in_review() -> Project:
    project = support.reviewing()
    submit(project, "land_prereview", at(1))
    time_clocks(project, at(1))
    project.tick(at(8.5))  # project_approval's warning seen, land_prereview's (T0 + 9) not yet
    return project


def a_problem_due_first() -> Project:
    project = timed(support.reviewing())
    project.act(OpenProblem(actor=OWNER, summary="stuck"), at(0.5))
    return timed(project, at(0.5))


def overdue_handled() -> Project:
    project = timed(support.reviewing())
    wake(project, at(10.25))
    return project


@pytest.mark.parametrize(
    ("situation", "expected"),
    [
        pytest.param(support.fresh, None, id="nothing-running"),
        pytest.param(timed_at(support.reviewing), at(8), id="a-step-warns-first"),
        pytest.param(warning_seen, at(10), id="a-warning-already-seen-is-skipped"),
        pytest.param(two_steps_in_review, at(9), id="the-earliest-of-two-steps"),
        pytest.param(a_problem_due_first, at(1.5), id="a-problem-due-first"),
        pytest.param(overdue_handled, at(11), id="an-overdue-step-no-longer-wakes"),
        pytest.param(timed_at(support.committed), at(16), id="a-verification-window-warns"),
        pytest.param(timed_at(support.rated_badly, at(1)), at(6), id="a-rectification-limit"),
        pytest.param(timed_at(support.withdrawn, at(2)), at(12), id="the-rating-window"),
        pytest.param(timed_at(support.revoked, at(1)), at(3), id="suspended-only-the-revocation-problem"),
    ],
)
def test_the_next_wake_up_is_the_earliest_moment_time_changes_something(
    situation: Callable[[], Project], expected: datetime | None
) -> None:
    assert situation().next_wakeup() == expected


def test_without_skipping_a_seen_warning_still_wakes() -> None:
    assert warning_seen().next_wakeup(skip_seen=False) == at(8)


# --- timings -----------------------------------------------------------------------------------


def timing(
    ref: str, spans: list[Span], deadline: datetime | None, provisional: bool = False, used: float = 0
) -> ClockTiming:
    return ClockTiming(
        ref=ref,
        fingerprint=fingerprint(spans),
        used_days=used,
        deadline=deadline,
        warn_at=None,
        provisional=provisional,
    )


def test_a_timing_for_spans_that_changed_since_is_ignored() -> None:
    project = support.reviewing()
    computed_for_t0 = timing("step:project_approval", [Span(start=T0)], at(10))
    decide(project, "project_approval", at(2), "return", "add the site plan")
    project.apply_timings([computed_for_t0], at(2))
    clock = project.step("project_approval").clock
    assert (clock.deadline, clock.stale) == (None, True)


def test_a_timing_for_the_current_spans_is_stored() -> None:
    project = support.reviewing()
    project.apply_timings([timing("step:project_approval", [Span(start=T0)], at(10))], T0)
    clock = project.step("project_approval").clock
    assert (clock.deadline, clock.stale) == (at(10), False)


def test_a_timing_for_an_unknown_clock_is_ignored() -> None:
    project = support.reviewing()
    before = project.model_dump(exclude={"checked_at"})
    project.apply_timings([timing("step:no_such_step", [Span(start=T0)], at(10))], T0)
    assert project.model_dump(exclude={"checked_at"}) == before


# --- calendar changes --------------------------------------------------------------------------


def mixed_clocks() -> Project:
    """project_approval returned (paused, still open), land_prereview granted (verification running),
    land_use_permit approved (paused for good), problem P1 resolved, problem P2 open; all timed."""
    project = support.fresh()
    submit(project, "project_approval", T0)
    decide(project, "project_approval", at(2), "return", "add the site plan")
    submit(project, "land_prereview", T0, commitment=True)
    support.pass_steps(project, ["land_use_permit"], at(0.5))
    project.act(OpenProblem(actor=OWNER, summary="first"), at(1))
    project.act(ResolveProblem(actor=support.AGENT, problem_id=P1, resolution="done"), at(1.5))
    project.act(OpenProblem(actor=OWNER, summary="second"), at(1))
    time_clocks(project, at(2))
    assert project.stale_clocks() == []
    return project


def stale_refs(project: Project) -> set[str]:
    return {q.ref for q in project.stale_clocks()}


def test_a_calendar_change_marks_only_the_clocks_still_counting() -> None:
    project = mixed_clocks()
    assert project.calendar_changed() == 3
    assert stale_refs(project) == {"step:project_approval", "verify:land_prereview", f"problem:{P2}"}


def test_after_the_end_only_the_rating_window_still_counts() -> None:
    project = support.withdrawn()
    time_clocks(project, at(2))
    assert project.calendar_changed() == 1
    assert stale_refs(project) == {"window"}


def retimed(project: Project) -> list[ClockTiming]:
    """What the activity answers after the change: the verification is due a day later, the
    problem keeps its deadline, the paused step gets new used days and no deadline."""
    clocks = project.clocks()
    return [
        timing("step:project_approval", clocks["step:project_approval"].spans, None, used=2.5),
        timing("verify:land_prereview", clocks["verify:land_prereview"].spans, at(21), provisional=True),
        timing(f"problem:{P2}", clocks[f"problem:{P2}"].spans, at(2)),
    ]


def test_a_moved_deadline_of_a_running_clock_is_recorded_with_the_reason() -> None:
    project = mixed_clocks()
    project.calendar_changed()
    since = mark(project)
    project.apply_timings(retimed(project), at(3), reason="calendar 2026 changed")
    moved = [(e.action, e.actor, e.step, e.detail) for e in project.pending_events[since:]]
    assert moved == [
        (
            "deadline_moved",
            "system",
            "land_prereview",
            {
                "clock": "verify:land_prereview",
                "from": "2026-03-03T05:00:00+00:00",
                "to": "2026-03-03T06:00:00+00:00",
                "provisional_before": False,
                "provisional": True,
                "reason": "calendar 2026 changed",
            },
        )
    ]
    assert project.step("project_approval").clock.used_days == 2.5
    assert project.stale_clocks() == []


def test_a_clock_timed_for_the_first_time_has_no_deadline_to_move() -> None:
    project = support.reviewing()  # submitted at T0, not timed yet
    assert project.calendar_changed() == 1
    since = mark(project)
    project.apply_timings([timing("step:project_approval", [Span(start=T0)], at(10))], T0, reason="calendar changed")
    assert [e.action for e in project.pending_events[since:]] == []
    assert project.step("project_approval").clock.deadline == at(10)


def test_without_a_reason_a_moved_deadline_is_not_recorded() -> None:
    project = mixed_clocks()
    project.calendar_changed()
    since = mark(project)
    project.apply_timings(retimed(project), at(3))
    assert [e.action for e in project.pending_events[since:]] == []
    verification = project.step("land_prereview").verification
    assert verification is not None and verification.deadline == at(21)
