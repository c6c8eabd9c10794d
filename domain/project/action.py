"""What every action on a project is: an input that is checked, then applied.

Each action is one input model (what the API sends, what the workflow's update takes) with its
own rule: `check` refuses what the rules forbid, without changing anything (the workflow's update
validator runs it, so a refusal never reaches history); `apply` changes the state, and runs only
after `check` passed (`Project.act` checks again first). `gate` names the roles that may attempt
it at all (domain/access.py).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel

from domain.access import Actor
from domain.project.state import ProjectState


class Action(BaseModel):
    """An input of the project workflow that changes the project."""

    # The access gate of the action: its name in snake case (Decide: "decide", OpenProblem: "open_problem").
    gate: ClassVar[str]
    actor: Actor

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls.gate = re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()

    def check(self, project: ProjectState) -> None:
        """Raise ActionRefused if the rules forbid this action now."""
        raise NotImplementedError

    def apply(self, project: ProjectState, now: datetime) -> str | None:
        """Change the state, once `check` passed; the id of anything created (a problem, a rectification)."""
        raise NotImplementedError
