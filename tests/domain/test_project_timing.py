"""The project's own sense of time: what wakes it, and what a wake-up does."""

from __future__ import annotations

from datetime import timedelta

from domain.project import Verify
from tests.domain import support
from tests.domain.support import NRP


def test_a_warning_once_shown_no_longer_wakes_the_project() -> None:
    project = support.timed(support.reviewing())
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
    project = support.timed(support.committed())
    verification = project.step("land_prereview").verification
    assert verification is not None and verification.deadline is not None
    late = verification.deadline + timedelta(seconds=1)
    project.tick(late)
    project.tick(late + timedelta(seconds=1))
    raised = [p for p in project.problems if p.origin == "overdue"]
    assert len(raised) == 1 and raised[0].step == "land_prereview"
    assert raised[0].clock.spans[0].start == verification.deadline  # the ladder starts at the deadline
    support.time_clocks(project, late)
    wake = project.next_wakeup()
    assert wake is not None and wake > late  # the problem's limit, not the handled window
    project.act(Verify(step="land_prereview", actor=NRP, outcome="pass"), late)
    assert project.step("land_prereview").status == "verified"
