"""The access policy's scopes (domain/access.py) as SQL on the read model.

Each scope is written twice by necessity, once in Python over a project's state and once here
over its rows; tests/test_visibility.py generates users and projects and shows the two agree.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, false, true
from sqlmodel import col, select

from domain.access import LEVEL_OF, SCOPE, Actor, Scope
from models.tables import ProblemRow, ProjectRow, StepRow


def visible_to(actor: Actor) -> ColumnElement[bool]:
    """The condition on ProjectRow for the projects this actor may see."""
    scope = SCOPE.get(actor.role)
    if scope is Scope.everything:
        return true()
    if scope is Scope.own_organisation:
        return col(ProjectRow.owner_org) == actor.organisation if actor.organisation else false()
    if scope is Scope.assigned:
        return col(ProjectRow.agent) == actor.username
    if scope is Scope.department_reached:
        reached = select(StepRow.code).where(
            col(StepRow.code) == col(ProjectRow.code),
            col(StepRow.department) == actor.department,
            col(StepRow.opened_at).is_not(None),
        )
        return exists(reached)
    return false()


def held_by(actor: Actor) -> ColumnElement[bool]:
    """The condition on ProblemRow for problems held at the actor's own level of the ladder
    (with visible_to: an agent holds level 1 of its projects, a section chief level 2 of its stage)."""
    level = LEVEL_OF.get(actor.role)
    if level is None:
        return false()
    held = col(ProblemRow.level) == level
    if actor.role == "section_chief":
        held = held & (col(ProblemRow.stage) == actor.stage)
    return held
