"""Shared helpers of the domain tests: actors, projects created at T0, a compressed clock standing in
for the deadline activity, short drives through the chain, the refusal assertion, and situations
(projects at a known point) for the tables.

Everything here is plumbing: expected values belong in the tests, written by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.access import Actor
from domain.calendar import CompressedClock
from domain.catalog import CategorySpec, Stage, default_catalog
from domain.clock import Counting, compute_timing
from domain.errors import ActionRefused
from domain.project import Action, CreateProject, Project, Withdraw, ladder, ratings, steps

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
# The compressed clock: one working day lasts one hour, and working time flows without breaks.
DAY = timedelta(hours=1)
MICRO = timedelta(microseconds=1)
COMPRESSED = CompressedClock(workday_seconds=DAY.total_seconds())

CODE = "2026-310115-01-01-000014"
ORG = "91310115MA1K4ABC05"
OTHER_ORG = "91310115MA1K4XYZ07"
# The first problem and the first rectification of the project.
P1 = f"{CODE}-P1"
R1 = f"{CODE}-R1"

OWNER = Actor(username="owner-a", role="owner", organisation=ORG)
AGENT = Actor(username="agent-1", role="agent")
OTHER_OWNER = Actor(username="owner-b", role="owner", organisation=OTHER_ORG)
OTHER_AGENT = Actor(username="agent-2", role="agent")
OFFICE = Actor(username="office-1", role="office")
LEADER = Actor(username="leader-1", role="leader")

# The general category up to its construction stage, then up to its acceptance stage, in an order
# in which each step is open.
GENERAL_BEFORE_CONSTRUCTION = (
    "project_approval",
    "land_prereview",
    "land_use_permit",
    "design_review",
    "planning_permit",
)
GENERAL_BEFORE_ACCEPTANCE = (*GENERAL_BEFORE_CONSTRUCTION, "construction_permit.1", "construction_permit.2")
GENERAL_INSPECTIONS = (
    "planning_check",
    "fire_inspection",
    "cad_inspection",
    "archives_inspection",
    "quality_inspection",
)

# A project at a known point, built afresh for each case of a table.
Situation = Callable[[], Project]


def at(hours: float) -> datetime:
    """T0 plus this many hours: working days of the compressed clock."""
    return T0 + timedelta(hours=hours)


def reviewer(department: str) -> Actor:
    return Actor(username=f"reviewer-{department}", role="reviewer", department=department)


def chief(stage: str) -> Actor:
    return Actor(username=f"chief-{stage}", role="section_chief", stage=Stage(stage))


DRC = reviewer("drc")
NRP = reviewer("nrp")


def category(key: str) -> CategorySpec:
    found = default_catalog().get(key)
    assert found is not None, key
    return found


def new_project(
    category_key: str | CategorySpec = "general",
    *,
    phases: Iterable[str] = (),
    sections: Iterable[str] = (),
    key_project: bool = False,
    now: datetime = T0,
    counting: Counting = "continuous",
) -> Project:
    spec = category(category_key) if isinstance(category_key, str) else category_key
    return Project.create(
        CreateProject(
            code=CODE,
            name="Riverside plant",
            category=spec,
            owner_org=ORG,
            agent=AGENT.username,
            region_code="310115",
            investment_wan=1200,
            key_project=key_project,
            phases=list(phases),
            sections=list(sections),
            actor=OWNER,
        ),
        now,
        counting,
    )


def time_clocks(project: Project, now: datetime) -> None:
    """Stand in for the deadline activity: the domain's own timing over the compressed clock
    (continuous counting: the deadline at the limit, the warning at 80 % of it)."""
    project.apply_timings([compute_timing(COMPRESSED, query) for query in project.stale_clocks()], now)


def timed(project: Project, now: datetime = T0) -> Project:
    """The project with its clocks timed at `now`."""
    time_clocks(project, now)
    return project


def wake(project: Project, now: datetime) -> None:
    """What the workflow does at a wake-up: tick, then time whatever the tick changed."""
    project.tick(now)
    time_clocks(project, now)


def submit(project: Project, key: str, now: datetime = T0, actor: Actor = OWNER, **fields: Any) -> None:
    project.act(steps.Submit(step=key, actor=actor, **fields), now)


def decide(project: Project, key: str, now: datetime = T0, outcome: str = "approve", comment: str = "") -> None:
    actor = reviewer(project.step(key).department)
    project.act(steps.Decide(step=key, actor=actor, outcome=outcome, comment=comment), now)


def verify(project: Project, key: str, now: datetime = T0, outcome: str = "pass", comment: str = "") -> None:
    actor = reviewer(project.step(key).department)
    project.act(steps.Verify(step=key, actor=actor, outcome=outcome, comment=comment), now)


def pass_steps(project: Project, keys: Iterable[str], now: datetime = T0) -> None:
    """Submit (unless already in review) and approve each step, in order."""
    for key in keys:
        if project.step(key).status != "in_review":
            submit(project, key, now)
        decide(project, key, now)


def statuses(project: Project, keys: Iterable[str]) -> dict[str, str]:
    return {key: project.step(key).status for key in keys}


def mark(project: Project) -> int:
    return len(project.pending_events)


def events(project: Project, since: int = 0) -> list[tuple[str, str, str | None, str | None]]:
    """(action, actor, on_behalf_of, step) of each event recorded since `since`."""
    return [(e.action, e.actor, e.on_behalf_of, e.step) for e in project.pending_events[since:]]


def actions(project: Project, since: int = 0) -> list[str]:
    return [e.action for e in project.pending_events[since:]]


def assert_refused(project: Project, action: Action, code: str, status: int) -> None:
    """`check` refuses with this code and status and changes nothing; `act` refuses the same way."""
    before = project.model_dump()
    with pytest.raises(ActionRefused) as checked:
        project.check(action)
    assert (checked.value.code, checked.value.status) == (code, status)
    assert project.model_dump() == before
    with pytest.raises(ActionRefused) as acted:
        project.act(action, at(1))
    assert (acted.value.code, acted.value.status) == (code, status)
    assert project.model_dump() == before


# --- situations: a project at a known point, reached through the rules themselves -------------


def fresh() -> Project:
    """General project just created: project_approval and land_prereview await submission."""
    return new_project()


def reviewing(key: str = "project_approval") -> Project:
    """The step submitted at T0 and in review."""
    project = new_project()
    submit(project, key, T0)
    return project


def returned(key: str = "project_approval") -> Project:
    """The step submitted at T0 and returned at T0 + 2 days."""
    project = reviewing(key)
    decide(project, key, at(2), "return", "the site plan is missing")
    return project


def rejected(key: str = "project_approval") -> Project:
    """The step submitted at T0 and rejected at T0 + 2 days."""
    project = reviewing(key)
    decide(project, key, at(2), "reject", "not in the district plan")
    return project


def approved(key: str = "project_approval") -> Project:
    """The step submitted and approved at T0."""
    project = new_project()
    pass_steps(project, [key], T0)
    return project


def overdue() -> Project:
    """project_approval in review since T0 and woken at its deadline, T0 + 10 days: overdue, with a
    level-1 problem."""
    project = timed(reviewing())
    wake(project, at(10))
    return project


def committed() -> Project:
    """land_prereview granted on a written commitment at T0, nothing else submitted: its verification
    window runs from T0."""
    project = new_project()
    submit(project, "land_prereview", T0, commitment=True)
    return project


def granted() -> Project:
    """land_prereview granted on a written commitment at T0; project_approval in review since T0."""
    project = reviewing()
    submit(project, "land_prereview", T0, commitment=True)
    return project


def verified() -> Project:
    """The commitment of land_prereview passed verification at T0 + 1 day."""
    project = granted()
    verify(project, "land_prereview", at(1))
    return project


def revoked() -> Project:
    """The commitment of land_prereview failed verification at T0 + 1 day: the project is suspended."""
    project = granted()
    verify(project, "land_prereview", at(1), "fail", "the plot boundary differs")
    return project


def reapplication_rejected() -> Project:
    """After the revocation, the standard re-application of land_prereview was rejected: the
    revocation is still open on a step that is no longer `revoked`."""
    project = revoked()
    submit(project, "land_prereview", at(2))
    decide(project, "land_prereview", at(3), "reject", "still the wrong boundary")
    return project


def withdrawn() -> Project:
    """project_approval approved at T0, then the project withdrawn at T0 + 2 days."""
    project = approved()
    project.act(Withdraw(actor=OWNER, reason="financing fell through"), at(2))
    return project


def completed() -> Project:
    """A photovoltaic project whose two steps were approved at T0: completed."""
    project = new_project("photovoltaic")
    pass_steps(project, ["filing", "roof_safety"], T0)
    return project


def at_acceptance(sections: Iterable[str] = ()) -> Project:
    """General project with everything before acceptance approved at T0: the survey of each section
    awaits submission."""
    project = new_project(sections=sections)
    pass_steps(project, GENERAL_BEFORE_ACCEPTANCE, T0)
    return project


def inspecting(sections: Iterable[str] = ()) -> Project:
    """General project with everything before acceptance and the survey(s) approved at T0: every
    inspection in review since T0."""
    sections = list(sections)
    project = at_acceptance(sections)
    pass_steps(project, [f"survey.s{i}" for i, _ in enumerate(sections, 1)] or ["survey"], T0)
    return project


def problem_at(level: int) -> Situation:
    """The situation of a problem on project_approval (stage initiation) opened by the owner at T0 and
    raised by its holders, at T0 too, to `level`."""

    def situation() -> Project:
        project = new_project()
        summary = "the road permit is stuck"
        project.act(ladder.OpenProblem(actor=OWNER, summary=summary, step="project_approval"), T0)
        for holder in [AGENT, chief("initiation"), OFFICE][: level - 1]:
            project.act(ladder.RaiseProblem(actor=holder, problem_id=P1, reason="no answer"), T0)
        assert project.problems[0].level == level
        return project

    situation.__name__ = f"problem_at_level_{level}"
    return situation


def rated_badly() -> Project:
    """project_approval approved at T0 and rated 1 at T0 + 1 day: rectification R1 is open."""
    project = approved()
    complaint = "three visits for one stamp"
    project.act(ratings.Rate(actor=OWNER, step="project_approval", score=1, comment=complaint), at(1))
    return project


def answered() -> Project:
    """Rectification R1 answered by the department at T0 + 2 days."""
    project = rated_badly()
    project.act(ratings.AnswerRectification(actor=DRC, rectification_id=R1, answer="one visit from now on"), at(2))
    return project
