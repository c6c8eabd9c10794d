"""The project aggregate: a thin front over its state and the rules of each concern.

`state` holds the data; `chain`, `steps`, `ladder`, `ratings` and `timing` hold the rules; every
action is an input model with `check` and `apply` (`action`). The workflow drives a `Project`
through `check`, `act`, `tick` and `apply_timings`; nothing here does I/O or reads the clock.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from domain.clock import ClockQuery, ClockTiming, Counting
from domain.project import chain, timing
from domain.project.action import Action
from domain.project.chain import CreateProject, Withdraw
from domain.project.ladder import OpenProblem, RaiseProblem, ResolveProblem
from domain.project.ratings import AnswerRectification, JudgeRectification, Rate
from domain.project.state import Event, Problem, ProjectState, Rectification, Section, Step
from domain.project.steps import Decide, Submit, Verify
from domain.project.views import ActionResult, StepView, step_view

# Past this many history events the project workflow continues as new, carrying its state.
HISTORY_LIMIT = 8000
# A run going to rest past this many events continues as new (workflows/project.py): often enough
# that a worker which lost the project from its cache replays a short run, rarely enough that a
# busy project (a ladder climbing every working day) does not start a run at every second rest.
REST_LIMIT = 100
# The rest limit of a run whose input names none: runs started before it was part of the input.
REST_LIMIT_BEFORE = 20
# A run going to rest past this many events continues as new when its worker had lost it from its
# cache and rebuilt it from its history: a worker crowded enough to lose it once will likely lose it
# again, and its next wake-up then replays a short run (workflows/project.py). From generation 2
# only at a rest after a person acted, at people's pace: low enough that a project's first
# submission starts its new run (resting after it, the run counts 10 events, up to the start of
# the workflow task that acted), so the clock's waves that follow replay runs of a few events.
COLD_REST_LIMIT = 8
# The generation of the code that writes a project workflow's input (`ProjectInput.generation`).
GENERATION = 2
# What a new project takes from its creation request as it is.
COPIED_ON_CREATION = {"code", "name", "owner_org", "agent", "region_code", "investment_wan", "key_project"}

__all__ = [
    "HISTORY_LIMIT",
    "Action",
    "ActionResult",
    "AnswerRectification",
    "AnsweredUpdate",
    "CalendarChanged",
    "CreateProject",
    "Decide",
    "Event",
    "JudgeRectification",
    "OpenProblem",
    "Opened",
    "Problem",
    "Project",
    "ProjectInput",
    "RaiseProblem",
    "Rate",
    "Rectification",
    "ResolveProblem",
    "Section",
    "Step",
    "StepView",
    "Submit",
    "Verify",
    "Withdraw",
    "step_view",
]


class Project(ProjectState):
    """The project the workflow holds: its state, and the four things that change it."""

    @classmethod
    def create(cls, inp: CreateProject, now: datetime, counting: Counting = "continuous") -> Project:
        """A new project with its steps expanded from the category and the first ones opened."""
        steps = chain.expand_steps(inp.category, inp.phases, inp.sections)
        for step in steps:
            step.clock.counting = counting
        project = cls(
            **inp.model_dump(include=COPIED_ON_CREATION),
            category=inp.category.key,
            created_at=now,
            created_by=inp.actor.username,
            steps=steps,
            sections=[Section(id=f"s{i}", name=n) for i, n in enumerate(inp.sections, 1)],
            counting=counting,
        )
        project.record(now, inp.actor, "created", detail={"category": inp.category.key, "agent": inp.agent})
        chain.open_ready_steps(project, now)
        timing.refresh(project, now)
        return project

    def check(self, action: Action) -> None:
        """Raise ActionRefused if the action is not allowed now; change nothing."""
        action.check(self)

    def act(self, action: Action, now: datetime) -> str | None:
        """Check the action again (a validator ran before, but state may have moved since), apply it
        and what follows from it; the id of anything it created."""
        action.check(self)
        created = action.apply(self, now)
        self.after_change(now)
        return created

    def tick(self, now: datetime, verification_overdue: bool = True) -> None:
        """Apply what time alone does by `now`."""
        timing.tick(self, now, verification_overdue)
        self.after_change(now)

    def after_change(self, now: datetime) -> None:
        """Open what became ready, detect completion, recompute colours."""
        chain.advance(self, now)
        timing.refresh(self, now)

    def next_wakeup(self, skip_seen: bool = True) -> datetime | None:
        """The earliest instant at which time alone changes something."""
        return timing.next_wakeup(self, skip_seen)

    def stale_clocks(self) -> list[ClockQuery]:
        """The clocks whose timings must be (re)computed."""
        return timing.stale_clocks(self)

    def apply_timings(self, timings: list[ClockTiming], now: datetime, reason: str | None = None) -> None:
        """Store computed timings and recompute colours; with a reason, moved deadlines are recorded."""
        timing.apply_timings(self, timings, now, reason)

    def calendar_changed(self) -> int:
        """The calendar changed: every clock still counting is timed again; how many."""
        return timing.mark_clocks_stale(self)


class AnsweredUpdate(BaseModel):
    """An update the project has answered, kept so that its retry in a later run answers the same."""

    update_id: str
    at: datetime
    result: ActionResult


class ProjectInput(BaseModel):
    """The project workflow's input: start a new project, or carry one over a continue-as-new.

    Defined here, not in the workflow module, so the sandbox does not rebuild the model for
    every new workflow instance.
    """

    create: CreateProject | None = None
    resume: Project | None = None
    history_limit: int = HISTORY_LIMIT
    rest_limit: int = REST_LIMIT_BEFORE  # new projects get REST_LIMIT (api/commands.py)
    cold_rest_limit: int | None = None  # new projects get COLD_REST_LIMIT (api/commands.py)
    # The resumed state is already in the read model: the new run does not write it again.
    published: bool = False
    # The code that wrote this input: 0 before generations were counted. From generation 1 a run
    # has every patch up to `rest-between-runs` without recording them (workflows/project.py: no
    # marker, no upsert of Temporal's change-version attribute), and the colour is not one of its
    # search attributes (docs/decisions.md). From generation 2 a rest after the clock alone acted
    # keeps to the warm rest limit (workflows/project.py, `_rest_due`). New projects and every run
    # continued from now on get `GENERATION`.
    generation: int = 0
    # Updates answered lately, so that a retry landing on the new run acts once (Temporal
    # deduplicates update ids within a run only).
    answered: list[AnsweredUpdate] = []

    @property
    def every_patch(self) -> bool:
        """Written by code that has every patch, which the run then applies without recording them:
        a run continued as new, or an input of generation 1 or later."""
        return self.published or self.generation >= 1

    @property
    def quiet_clock_rests(self) -> bool:
        """Whether a rest after the clock alone acted ignores the cold rest limit."""
        return self.generation >= 2

    @property
    def colour_searched(self) -> bool:
        """Whether the run keeps the project's colour in Temporal's search attributes."""
        return self.generation < 1


class Opened(BaseModel):
    """Input of the `opened` update sent with the start: wait until the project is visible."""

    requested_by: str


class CalendarChanged(BaseModel):
    """Signal to a project: the office loaded or changed a year of the working-day calendar."""

    year: int
    changed_by: str
