"""The four-level escalation ladder: problems raised, climbing by themselves at each level's limit,
raised early by a holder, resolved in writing."""

from __future__ import annotations

from datetime import datetime

from domain.access import LADDER, SYSTEM, Actor, holds_level, require_involved
from domain.errors import conflict, forbidden, require_text
from domain.project.action import Action
from domain.project.state import Problem, ProblemOrigin, ProjectState, Step

# Response limits of each level, in working days; level 4 has no limit, only reminders this often.
LEVEL_LIMITS: dict[int, int] = {1: 1, 2: 2, 3: 3, 4: 2}
TOP_LEVEL = 4


def open_problem(
    project: ProjectState,
    now: datetime,
    actor: Actor,
    summary: str,
    step: Step | None,
    origin: ProblemOrigin,
    level: int = 1,
    since: datetime | None = None,
) -> str:
    """A new problem at `level` (at least 2 for a key project); its clock starts at `since` or now."""
    level = max(level, 2 if project.key_project else 1)
    problem_id = f"{project.code}-P{len(project.problems) + 1}"
    project.problems.append(
        Problem(
            id=problem_id,
            step=step.key if step else None,
            stage=step.stage if step else project.current_stage,
            summary=summary,
            origin=origin,
            raised_by=actor.username,
            level=level,
            opened_at=now,
            clock=project.new_clock(LEVEL_LIMITS[level], start=min(since or now, now)),
        )
    )
    detail = {"id": problem_id, "level": level, "origin": origin}
    project.record(now, actor, "problem_raised", step.key if step else None, detail)
    return problem_id


def climb(project: ProjectState, problem: Problem, actor: Actor, now: datetime, reason: str) -> None:
    """One level up. A climb at the limit starts the next level at the limit itself, so a late
    wake-up never shifts the rest of the ladder."""
    since = problem.clock.deadline if actor is SYSTEM and problem.clock.deadline else now
    problem.level += 1
    problem.clock = project.new_clock(LEVEL_LIMITS[problem.level], start=min(since, now))
    detail = {"id": problem.id, "level": problem.level, "holder": LADDER[problem.level], "reason": reason}
    project.record(now, actor, "problem_escalated", problem.step, detail)


def close_problem(project: ProjectState, problem: Problem, actor: Actor, now: datetime, resolution: str) -> None:
    """Resolved in writing: the climb stops."""
    problem.status = "resolved"
    problem.resolution = resolution
    problem.resolved_by = actor.username
    problem.resolved_at = now
    problem.clock.pause(now)
    detail = {"id": problem.id, "level": problem.level, "resolution": resolution}
    project.record(now, actor, "problem_resolved", problem.step, detail)


def tick_problems(project: ProjectState, now: datetime) -> None:
    """Problems past their level's limit climb; at the top they remind the leaders instead."""
    for problem in project.problems:
        if problem.status != "open" or not problem.clock.over(now):
            continue
        if problem.level < TOP_LEVEL:
            climb(project, problem, SYSTEM, now, "response limit passed")
            continue
        problem.reminders += 1
        due = problem.clock.deadline or now
        problem.clock = project.new_clock(LEVEL_LIMITS[TOP_LEVEL], start=min(due, now))
        project.record(now, SYSTEM, "problem_reminder", problem.step, {"id": problem.id, "reminder": problem.reminders})


def _open_held(project: ProjectState, problem_id: str, actor: Actor) -> Problem:
    problem = project.problem(problem_id)
    if problem.status != "open":
        raise conflict("problem_resolved", f"problem {problem.id} is already resolved")
    if not holds_level(actor, project, problem.level, problem.stage):
        raise forbidden("not_holder", f"problem {problem.id} is held at level {problem.level}")
    return problem


class OpenProblem(Action):
    """The owner, the agent or an involved reviewer raises a problem: level 1, or 2 for a key project."""

    summary: str
    step: str | None = None

    def check(self, project: ProjectState) -> None:
        if project.status == "withdrawn":
            raise conflict("project_ended", "cannot raise a problem: the project is withdrawn")
        require_involved(self.actor, project)
        if self.step is not None:
            project.step(self.step)
        require_text(self.summary, "summary_required", "say what the problem is")

    def apply(self, project: ProjectState, now: datetime) -> str | None:
        step = project.step(self.step) if self.step else None
        return open_problem(project, now, self.actor, self.summary, step, origin="manual")


class RaiseProblem(Action):
    """The current holder (or anyone above) moves a problem up one level before its limit."""

    problem_id: str
    reason: str

    def check(self, project: ProjectState) -> None:
        problem = _open_held(project, self.problem_id, self.actor)
        if problem.level >= TOP_LEVEL:
            raise conflict("top_level", "level 4 is the top of the ladder")
        require_text(self.reason, "reason_required", "say why the problem goes up")

    def apply(self, project: ProjectState, now: datetime) -> str | None:
        climb(project, project.problem(self.problem_id), self.actor, now, self.reason)
        return None


class ResolveProblem(Action):
    """The current holder (or anyone above) resolves a problem with a written resolution."""

    problem_id: str
    resolution: str

    def check(self, project: ProjectState) -> None:
        _open_held(project, self.problem_id, self.actor)
        require_text(self.resolution, "resolution_required", "a resolution must be written")

    def apply(self, project: ProjectState, now: datetime) -> str | None:
        close_problem(project, project.problem(self.problem_id), self.actor, now, self.resolution)
        return None
