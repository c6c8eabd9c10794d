"""The project's own sense of time: what wakes it, and what a wake-up does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.access import Actor
from domain.catalog import default_catalog
from domain.clock import ClockTiming, fingerprint
from domain.project import CreateProject, Project, Submit, Verify

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
OWNER = Actor(username="owner-a", role="owner", organisation="91310115MA1K4ABC05")


def new_project() -> Project:
    general = default_catalog().get("general")
    assert general is not None
    return Project.create(
        CreateProject(
            code="2026-310115-01-01-000014",
            name="p",
            category=general,
            owner_org=OWNER.organisation or "",
            agent="agent-1",
            region_code="310115",
            investment_wan=1,
            actor=OWNER,
        ),
        T0,
    )


def time_clocks(project: Project, now: datetime, day: timedelta = timedelta(hours=1)) -> None:
    """Stand in for the publish activity with a compressed clock: one working day = `day`."""
    timings = []
    for query in project.stale_clocks():
        open_span = query.spans[-1] if query.spans and query.spans[-1].end is None else None
        deadline = open_span.start + day * query.limit_days if open_span else None
        warn = open_span.start + day * query.limit_days * 0.8 if open_span else None
        timings.append(
            ClockTiming(
                ref=query.ref,
                fingerprint=fingerprint(query.spans),
                used_days=0,
                deadline=deadline,
                warn_at=warn,
                provisional=False,
            )
        )
    project.apply_timings(timings, now)


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
