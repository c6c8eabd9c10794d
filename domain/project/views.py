"""What the project workflow answers: the acted-on step as the API shows it, and an action's result."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from domain.project.state import Step


class StepView(BaseModel):
    """One step as everyone sees it: where it stands, who holds it, how much of its limit is used."""

    key: str
    name: str
    name_zh: str
    name_en: str
    stage: str
    department: str
    mode: str
    status: str
    limit_working_days: int
    deadline: datetime | None
    used_fraction: float
    colour: str
    attempt: int
    commitment: bool
    phase: int | None
    section: str | None
    verification_deadline: datetime | None
    provisional: bool
    rating: int | None


# The step's own fields the view shows unchanged.
SHOWN_AS_IS = {
    "key",
    "name",
    "name_zh",
    "name_en",
    "department",
    "mode",
    "status",
    "limit_working_days",
    "colour",
    "attempt",
    "commitment",
}
SHOWN_AS_IS |= {"phase", "section", "rating"}


def step_view(step: Step, used_days: float) -> StepView:
    """The step's view, with `used_days` working days of its limit used (the caller counts them up to now)."""
    return StepView(
        **step.model_dump(include=SHOWN_AS_IS),
        stage=step.stage.value,
        deadline=step.clock.deadline,
        used_fraction=round(used_days / step.limit_working_days, 4),
        verification_deadline=step.verification.deadline if step.verification else None,
        provisional=step.clock.provisional or bool(step.verification and step.verification.provisional),
    )


class ActionResult(BaseModel):
    """What an update returns: the version it produced, the id of anything it created, the acted-on step."""

    version: int
    created_id: str | None = None
    step: StepView | None = None
