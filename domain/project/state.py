"""A project's state: its steps, problems, rectifications and audit trail, with the lookups every rule uses.

Plain data and lookups only; the rules that change it live beside it, one module per concern
(chain, steps, ladder, ratings, timing). Fields may be added with defaults, never renamed:
running workflows carry this state in their histories.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, model_validator

from domain.access import SYSTEM, Actor
from domain.bilingual import split_bilingual
from domain.catalog import STAGE_ORDER, OverduePolicy, Stage, StepMode
from domain.clock import Counting, WorkClock
from domain.errors import ActionRefused, conflict
from domain.status import (
    DONE,
    ENDED,
    FINAL,
    Colour,
    ProblemStatus,
    ProjectStatus,
    RectificationStatus,
    StepStatus,
)

ProblemOrigin = Literal["manual", "overdue", "revocation", "rectification"]


class Event(BaseModel):
    """One line of the audit timeline."""

    seq: int
    at: datetime
    actor: str
    role: str
    on_behalf_of: str | None = None
    action: str
    step: str | None = None
    detail: dict[str, Any] = {}


class Step(BaseModel):
    """One step instance: a catalog step, or one phase or section of it."""

    key: str
    spec_key: str
    name: str
    # Both names; states saved before names had two parts get them from `name`.
    name_zh: str = ""
    name_en: str = ""
    stage: Stage
    department: str
    mode: StepMode
    limit_working_days: int
    verify_working_days: int | None = None
    overdue: OverduePolicy = "problem"
    joint_role: str | None = None
    phase: int | None = None
    section: str | None = None
    after: list[str] = []
    status: StepStatus = "pending"
    attempt: int = 0
    commitment: bool = False
    clock: WorkClock
    verification: WorkClock | None = None
    overdue_handled: bool = False
    verification_overdue_handled: bool = False
    revocation_open: bool = False
    opened_at: datetime | None = None
    ended_at: datetime | None = None
    rating: int | None = None
    colour: Colour = "green"

    @model_validator(mode="after")
    def _both_names(self) -> Step:
        if not self.name_zh or not self.name_en:
            self.name_zh, self.name_en = split_bilingual(self.name)
        return self

    @property
    def open(self) -> bool:
        """Whether the step still needs someone to act."""
        return self.status not in FINAL and self.status not in {"pending", "cancelled"}

    @property
    def inspection(self) -> bool:
        """One of the parallel inspections of joint acceptance."""
        return self.joint_role == "inspection"


class Problem(BaseModel):
    """A coordination problem (协调问题) climbing the ladder."""

    id: str
    step: str | None
    stage: Stage
    summary: str
    origin: ProblemOrigin
    raised_by: str
    level: int
    status: ProblemStatus = "open"
    opened_at: datetime
    clock: WorkClock
    reminders: int = 0
    resolution: str | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None


class Rectification(BaseModel):
    """A department's rectification task after a bad rating."""

    id: str
    step: str
    department: str
    score: int
    complaint: str
    status: RectificationStatus = "open"
    opened_at: datetime
    clock: WorkClock
    answer: str | None = None


class Section(BaseModel):
    """A declared acceptance section (分期验收)."""

    id: str
    name: str
    accepted_at: datetime | None = None


class ProjectState(BaseModel):
    """The whole state of one project; the workflow's single source of truth."""

    code: str
    name: str
    category: str
    owner_org: str
    agent: str
    region_code: str
    investment_wan: float
    key_project: bool
    created_at: datetime
    created_by: str
    status: ProjectStatus = "active"
    colour: Colour = "green"
    steps: list[Step]
    sections: list[Section] = []
    problems: list[Problem] = []
    rectifications: list[Rectification] = []
    ended_at: datetime | None = None
    window: WorkClock | None = None  # rating window after the project ends
    checked_at: datetime | None = None  # when colours were last computed
    # How new clocks count working days; projects started before statutory counting keep theirs.
    counting: Counting = "continuous"
    version: int = 0
    event_seq: int = 0
    pending_events: list[Event] = []

    def step(self, key: str) -> Step:
        """The step with this key, or a 404: what does not exist is not found."""
        for step in self.steps:
            if step.key == key:
                return step
        raise ActionRefused("unknown_step", f"project {self.code} has no step {key!r}", status=404)

    def problem(self, problem_id: str) -> Problem:
        """The problem with this id."""
        for problem in self.problems:
            if problem.id == problem_id:
                return problem
        raise conflict("unknown_problem", f"project {self.code} has no problem {problem_id!r}")

    def rectification(self, rect_id: str) -> Rectification:
        """The rectification with this id."""
        for rect in self.rectifications:
            if rect.id == rect_id:
                return rect
        raise conflict("unknown_rectification", f"project {self.code} has no rectification {rect_id!r}")

    @property
    def current_stage(self) -> Stage:
        """The earliest stage with a step not yet done (the last stage once all are done)."""
        for stage in STAGE_ORDER:
            if any(s.stage == stage and s.status not in DONE | {"cancelled"} for s in self.steps):
                return stage
        return self.steps[-1].stage

    @property
    def ended(self) -> bool:
        """Completed or withdrawn."""
        return self.status in ENDED

    @property
    def finished(self) -> bool:
        """Ended, nothing left open, rating window over: the workflow may close."""
        return (
            self.ended
            and not any(p.status == "open" for p in self.problems)
            and not any(r.status in ("open", "answered") for r in self.rectifications)
            and self.window is not None
            and self.window.used_days >= self.window.limit_days
        )

    def revocation_open(self) -> bool:
        """Whether a revoked commitment of this project still awaits a standard re-application."""
        return any(s.revocation_open for s in self.steps)

    def new_clock(self, limit_days: float, start: datetime | None = None) -> WorkClock:
        """A clock counted the project's way, started at `start` if given."""
        clock = WorkClock(limit_days=limit_days, counting=self.counting)
        if start is not None:
            clock.start(start)
        return clock

    def clocks(self) -> dict[str, WorkClock]:
        """Every clock of the project by reference."""
        found: dict[str, WorkClock] = {}
        for step in self.steps:
            found[f"step:{step.key}"] = step.clock
            if step.verification is not None:
                found[f"verify:{step.key}"] = step.verification
        for problem in self.problems:
            found[f"problem:{problem.id}"] = problem.clock
        for rect in self.rectifications:
            found[f"rect:{rect.id}"] = rect.clock
        if self.window is not None:
            found["window"] = self.window
        return found

    def record(
        self,
        now: datetime,
        actor: Actor,
        action: str,
        step: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Append an audit event; the agent acting for an owner is recorded on the owner's behalf."""
        self.event_seq += 1
        on_behalf = self.owner_org if actor.role == "agent" and actor.username == self.agent else None
        self.pending_events.append(
            Event(
                seq=self.event_seq,
                at=now,
                actor=actor.username,
                role="system" if actor is SYSTEM else actor.role,
                on_behalf_of=on_behalf,
                action=action,
                step=step,
                detail=detail or {},
            )
        )
