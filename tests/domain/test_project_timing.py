"""The project's own sense of time: what wakes it, and what a wake-up does."""

from __future__ import annotations

from datetime import timedelta

from domain.access import Actor
from domain.project import Submit, Verify
from tests.domain.support import OWNER, T0, new_project, time_clocks


def test_a_warning_once_shown_no_longer_wakes_the_project() -> None:
    project = new_project()
    project.act(Submit(step="project_approval", actor=OWNER), T0)
    time_clocks(project, T0)
    step = project.step("project_approval")
    warn_at = step.clock.warn_at
    assert warn_at is not None
    assert project.next_wakeup() == warn_at
    after_warning = warn_at + timedelta(seconds=1)
    project.tick(after_warning)
    assert project.colour == "yellow"
    assert project.next_wakeup() == step.clock.deadline
    assert project.next_wakeup(skip_seen=False) == step.clock.warn_at  # the old rule: a busy loop


def test_an_overdue_verification_raises_a_problem_once() -> None:
    project = new_project()
    project.act(Submit(step="land_prereview", actor=OWNER, commitment=True), T0)
    time_clocks(project, T0)
    verification = project.step("land_prereview").verification
    assert verification is not None and verification.deadline is not None
    late = verification.deadline + timedelta(seconds=1)
    project.tick(late)
    project.tick(late + timedelta(seconds=1))
    raised = [p for p in project.problems if p.origin == "overdue"]
    assert len(raised) == 1 and raised[0].step == "land_prereview"
    assert raised[0].clock.spans[0].start == verification.deadline  # the ladder starts at the deadline
    time_clocks(project, late)
    wake = project.next_wakeup()
    assert wake is not None and wake > late  # the problem's limit, not the handled window
    reviewer = Actor(username="reviewer-nrp", role="reviewer", department="nrp")
    project.act(Verify(step="land_prereview", actor=reviewer, outcome="pass"), late)
    assert project.step("land_prereview").status == "verified"
