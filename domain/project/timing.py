"""What time alone does to a project: overdue steps and verifications, the ladder's climbs, late
rectifications; when the project must next wake up; its colours; and the clock timings the
deadline activity computes for it (docs/time.md)."""

from __future__ import annotations

from datetime import datetime

from domain.access import SYSTEM
from domain.clock import ClockQuery, ClockTiming, WorkClock, fingerprint
from domain.project.chain import resume_if_clear
from domain.project.ladder import open_problem, tick_problems
from domain.project.ratings import tick_rectifications
from domain.project.state import ProjectState, Step
from domain.status import Colour, worst


def tick(project: ProjectState, now: datetime, verification_overdue: bool = True) -> None:
    """Apply what time alone does by `now`.

    `verification_overdue` is off for projects started before an overdue verification raised a
    problem (their histories must replay as they ran).
    """
    for step in project.steps:
        if step.status == "in_review" and not step.overdue_handled and step.clock.over(now):
            _overdue(project, step, now)
        if verification_overdue and _verification_overdue(step, now):
            step.verification_overdue_handled = True
            project.record(now, SYSTEM, "verification_overdue", step.key, {"department": step.department})
            summary = f"Verification of the commitment for {step.name} is overdue ({step.department})"
            since = step.verification.deadline if step.verification else None
            open_problem(project, now, SYSTEM, summary, step, origin="overdue", since=since)
    tick_problems(project, now)
    tick_rectifications(project, now)


def _verification_overdue(step: Step, now: datetime) -> bool:
    return (
        step.status == "granted"
        and not step.verification_overdue_handled
        and step.verification is not None
        and step.verification.over(now)
    )


def _overdue(project: ProjectState, step: Step, now: datetime) -> None:
    """At its deadline a step is deemed approved (超时默认制) or raises a problem from the deadline."""
    step.overdue_handled = True
    if step.overdue == "deemed_approval":
        step.clock.pause(now)
        step.status = "approved"
        step.ended_at = now
        project.record(now, SYSTEM, "deemed_approved", step.key, {"responsible_department": step.department})
        if step.revocation_open:  # as an approval by the department: the re-application resolves it
            step.revocation_open = False
            resume_if_clear(project, now)
        return
    project.record(now, SYSTEM, "overdue", step.key, {"department": step.department})
    summary = f"{step.name} is over its {step.limit_working_days}-working-day limit ({step.department})"
    open_problem(project, now, SYSTEM, summary, step, origin="overdue", since=step.clock.deadline)


def next_wakeup(project: ProjectState, skip_seen: bool = True) -> datetime | None:
    """The earliest instant at which time alone changes something.

    With `skip_seen`, a colour-only instant (a step's warning, a handled verification window)
    counts only while it is later than the last colour check: once seen, it needs no wake-up.
    Without it (projects started before this rule) a passed warning kept the workflow busy.
    """
    moments: list[datetime | None] = []
    seen = project.checked_at if skip_seen else None

    def colour_only(instant: datetime | None) -> datetime | None:
        return None if instant is None or (seen is not None and instant <= seen) else instant

    for step in project.steps:
        if step.status == "in_review" and not step.overdue_handled and step.clock.running:
            moments += [colour_only(step.clock.warn_at), step.clock.deadline]
        if step.status == "granted" and step.verification is not None and step.verification.running:
            deadline = step.verification.deadline
            if skip_seen and step.verification_overdue_handled:
                deadline = colour_only(deadline)
            moments += [colour_only(step.verification.warn_at), deadline]
    moments += [p.clock.deadline for p in project.problems if p.status == "open"]
    moments += [r.clock.deadline for r in project.rectifications if r.status == "open"]
    if project.window is not None and project.window.running:
        moments.append(project.window.deadline)
    return min((m for m in moments if m is not None), default=None)


def refresh(project: ProjectState, now: datetime) -> None:
    """Recompute every step's colour and the project's colour; record each change (what people are told of)."""
    project.checked_at = now
    colours: list[str] = []
    for step in project.steps:
        colour = step_colour(step, now)
        if colour != step.colour and records_lights(project):
            project.record(now, SYSTEM, "step_colour_changed", step.key, {"from": step.colour, "to": colour})
        step.colour = colour
        if step.open or step.status == "granted":
            colours.append(step.colour)
    colours += ["red" if p.level >= 3 else "yellow" for p in project.problems if p.status == "open"]
    if project.revocation_open():
        colours.append("red")
    colour = worst(*colours)
    if project.ended and not any(p.status == "open" for p in project.problems):
        colour = "green"
    if colour != project.colour:
        project.record(now, SYSTEM, "colour_changed", detail={"from": project.colour, "to": colour})
        project.colour = colour


def records_lights(project: ProjectState) -> bool:
    """Whether the project records its steps' light changes (`step_colour_changed`).

    Projects started before statutory counting do not: they also publish the old way, which came
    and went with the same patch (docs/architecture.md, "Determinism"), and that way compares the
    event numbers with those its recorded write answered, so an event more would change how their
    histories replay.
    """
    return project.counting == "statutory"


def step_colour(step: Step, now: datetime) -> Colour:
    """Red for an open revocation; else the colour of the clock that runs for the department."""
    if step.revocation_open:
        return "red"
    if step.status == "granted" and step.verification is not None:
        return step.verification.colour(now)  # type: ignore[return-value]
    if step.status in ("in_review", "returned"):
        return step.clock.colour(now)  # type: ignore[return-value]
    return "green"


def stale_clocks(project: ProjectState) -> list[ClockQuery]:
    """The clocks whose timings the deadline activity must (re)compute."""
    return [
        ClockQuery(ref=ref, limit_days=c.limit_days, spans=c.spans, counting=c.counting)
        for ref, c in project.clocks().items()
        if c.stale
    ]


def apply_timings(project: ProjectState, timings: list[ClockTiming], now: datetime, reason: str | None = None) -> None:
    """Store the activity's timings (only on clocks whose spans are unchanged since) and recompute colours.

    With a `reason` (the calendar changed), every running clock whose deadline moved says so in
    the audit timeline.
    """
    clocks = project.clocks()
    for timing in timings:
        clock = clocks.get(timing.ref)
        if clock is None or fingerprint(clock.spans) != timing.fingerprint:
            continue
        before, was_provisional = clock.deadline, clock.provisional
        clock.used_days = timing.used_days
        clock.deadline = timing.deadline
        clock.warn_at = timing.warn_at
        clock.provisional = timing.provisional
        clock.stale = False
        if reason is not None and before is not None and before != timing.deadline:
            detail = {
                "clock": timing.ref,
                "from": before.isoformat(),
                "to": timing.deadline.isoformat() if timing.deadline else None,
                "provisional_before": was_provisional,
                "provisional": timing.provisional,
                "reason": reason,
            }
            project.record(now, SYSTEM, "deadline_moved", _step_of(timing.ref), detail)
    refresh(project, now)


def _step_of(ref: str) -> str | None:
    kind, _, key = ref.partition(":")
    return key if kind in ("step", "verify") else None


def counting_clocks(project: ProjectState) -> list[WorkClock]:
    """The clocks whose timing still matters: running, or paused while what they time is open.

    When the office changes the calendar these are timed again: a running clock's deadline, and
    the working days a paused one has used, may both depend on the changed year.
    """
    return [
        clock
        for ref, clock in project.clocks().items()
        if clock.spans and (clock.running or not _closed_for_good(project, ref))
    ]


def mark_clocks_stale(project: ProjectState) -> int:
    """Every clock still counting must be timed again; how many."""
    clocks = counting_clocks(project)
    for clock in clocks:
        clock.stale = True
    return len(clocks)


def horizon(project: ProjectState) -> datetime | None:
    """The latest instant any clock still counting reaches: a calendar change before it may move it."""
    instants = [i for c in counting_clocks(project) for i in (c.deadline, c.spans[-1].end, c.spans[-1].start) if i]
    return max(instants, default=None)


def _closed_for_good(project: ProjectState, ref: str) -> bool:
    """A paused clock whose owner is over: its used days no longer matter."""
    kind, _, key = ref.partition(":")
    if kind == "step":
        return not project.step(key).open
    if kind == "verify":
        return project.step(key).status != "granted"
    if kind == "problem":
        return project.problem(key).status != "open"
    if kind == "rect":
        return project.rectification(key).status != "open"
    return True
