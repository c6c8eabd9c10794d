"""How the chain moves: steps expanded from the catalog, opened when ready, sections accepted,
the project suspended, resumed, completed or withdrawn."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from domain.access import SYSTEM, Actor, require_applicant
from domain.bilingual import split_bilingual
from domain.catalog import STAGE_ORDER, CategorySpec, StepSpec
from domain.clock import WorkClock
from domain.errors import conflict
from domain.project.action import Action
from domain.project.ladder import close_problem
from domain.project.state import ProjectState, Section, Step
from domain.status import CANCELLABLE, DONE, ENDED, FINAL

# How long an ended project may still be rated, in working days (a local choice).
RATING_WINDOW_DAYS = 10


class CreateProject(BaseModel):
    """Everything a project workflow starts from; the category is a snapshot of the catalog."""

    code: str
    name: str
    category: CategorySpec
    owner_org: str
    agent: str
    region_code: str
    investment_wan: float
    key_project: bool = False
    phases: list[str] = []
    sections: list[str] = []
    actor: Actor


def expand_steps(category: CategorySpec, phases: list[str], sections: list[str]) -> list[Step]:
    """Catalog steps as step instances: one per phase of a phased step, per section of a joint one.

    Every step waits for all steps of earlier stages, for its `after` steps (of its own section),
    and a phase for the phase before it.
    """
    instances = {spec.key: _instances(spec, phases, sections) for spec in category.steps}
    specs = {spec.key: spec for spec in category.steps}
    steps = [s for group in instances.values() for s in group]
    for step in steps:
        spec = specs[step.spec_key]
        deps = [
            s.key
            for earlier in category.steps
            if STAGE_ORDER.index(earlier.stage) < STAGE_ORDER.index(spec.stage)
            for s in instances[earlier.key]
        ]
        for dep_key in spec.after:
            deps += [s.key for s in instances[dep_key] if step.section is None or s.section in (None, step.section)]
        if step.phase is not None and step.phase > 1:
            deps.append(f"{spec.key}.{step.phase - 1}")
        step.after = list(dict.fromkeys(deps))
    return steps


def _instances(spec: StepSpec, phases: list[str], sections: list[str]) -> list[Step]:
    base: dict[str, Any] = {
        "spec_key": spec.key,
        "stage": spec.stage,
        "department": spec.department,
        "mode": spec.mode,
        "limit_working_days": spec.limit_working_days,
        "verify_working_days": spec.verify_working_days,
        "overdue": spec.overdue,
        "joint_role": spec.joint_role,
    }

    def step(key: str, part: str = "", **fields: Any) -> Step:  # each instance its own clock
        name, zh, en = spec.name, spec.name_zh, spec.name_en
        if part:
            part_zh, part_en = split_bilingual(part)
            name, zh, en = f"{name} · {part}", f"{zh} · {part_zh}", f"{en} · {part_en}"
        names = {"name": name, "name_zh": zh, "name_en": en}
        clock = WorkClock(limit_days=spec.limit_working_days)
        return Step.model_validate({**base, **fields, **names, "key": key, "clock": clock})

    if spec.mode == "phased":
        names = phases or list(spec.default_phases)
        return [step(f"{spec.key}.{i}", n, phase=i) for i, n in enumerate(names, 1)]
    if spec.mode == "joint" and sections:
        return [step(f"{spec.key}.s{i}", n, section=f"s{i}") for i, n in enumerate(sections, 1)]
    return [step(spec.key)]


def open_ready_steps(project: ProjectState, now: datetime) -> None:
    """Open every pending step whose prerequisites are done; inspections open in review at once."""
    if project.status != "active":
        return
    done = {s.key for s in project.steps if s.status in DONE}
    for step in project.steps:
        if step.status == "pending" and all(dep in done for dep in step.after):
            step.opened_at = now
            if step.inspection:
                step.status = "in_review"
                step.attempt = 1
                step.clock.start(now)
            else:
                step.status = "awaiting_submission"
            project.record(now, SYSTEM, "step_opened", step.key, {"department": step.department})


def accept_sections(project: ProjectState, now: datetime) -> None:
    """Issue the joint acceptance certificate of every section whose inspections all passed."""
    if not project.sections and any(s.inspection for s in project.steps):
        project.sections = [Section(id="", name="whole project")]
    for section in project.sections:
        if section.accepted_at is not None:
            continue
        inspections = [s for s in project.steps if s.inspection and (s.section or "") == section.id]
        if inspections and all(s.status == "approved" for s in inspections):
            section.accepted_at = now
            project.record(now, SYSTEM, "joint_acceptance_certificate", detail={"section": section.id or None})


def advance(project: ProjectState, now: datetime) -> None:
    """What follows any change: open what became ready, accept sections, detect completion."""
    open_ready_steps(project, now)
    accept_sections(project, now)
    if project.status == "active" and all(s.status in FINAL for s in project.steps):
        project.status = "completed"
        project.record(now, SYSTEM, "completed")
        end(project, now)
    if project.window is not None and project.window.running and project.window.over(now):
        project.window.pause(now)


def suspend(project: ProjectState, now: datetime, why: str) -> None:
    """Stop the chain until the revoked step is re-applied: every other clock pauses."""
    if project.status == "active":
        project.status = "suspended"
        for step in project.steps:
            if step.status == "in_review" and not step.revocation_open:
                step.clock.pause(now)
        project.record(now, SYSTEM, "suspended", detail={"reason": why})


def resume_if_clear(project: ProjectState, now: datetime) -> None:
    """Resume a suspended project once no revocation is left open."""
    if project.status == "suspended" and not project.revocation_open():
        project.status = "active"
        for step in project.steps:
            if step.status == "in_review":
                step.clock.start(now)
        project.record(now, SYSTEM, "resumed")


def end(project: ProjectState, now: datetime) -> None:
    """The project has ended: its rating window opens."""
    project.ended_at = now
    project.window = project.new_clock(RATING_WINDOW_DAYS, start=now)


def require_not_ended(project: ProjectState, action: str) -> None:
    """409 once the project is completed or withdrawn."""
    if project.status in ENDED:
        raise conflict("project_ended", f"cannot {action}: the project is {project.status}")


def require_not_suspended_except(project: ProjectState, step: Step) -> None:
    """409 while the project is suspended, except on the revoked step being re-applied."""
    if project.status == "suspended" and not step.revocation_open:
        raise conflict("project_suspended", "the project is suspended until the revoked step is re-applied")


class Withdraw(Action):
    """The owner or its agent ends the project; open steps are cancelled and their problems closed."""

    reason: str = ""

    def check(self, project: ProjectState) -> None:
        require_applicant(self.actor, project)
        require_not_ended(project, "withdraw")

    def apply(self, project: ProjectState, now: datetime) -> str | None:
        for step in project.steps:
            if step.status in CANCELLABLE:
                step.status = "cancelled"
            step.clock.pause(now)
            if step.verification is not None:
                step.verification.pause(now)
            step.revocation_open = False
        for problem in project.problems:
            if problem.status == "open":
                close_problem(project, problem, SYSTEM, now, "project withdrawn")
        project.status = "withdrawn"
        project.record(now, self.actor, "withdrawn", detail={"reason": self.reason})
        end(project, now)
        return None
