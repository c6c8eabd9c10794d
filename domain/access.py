"""Who may see a project and who may do what: the one access policy of the service.

The API's role gates, the read model's visibility filter (models/visibility.py, the same scopes
as SQL) and the project's own checks all come from here. A caller who may not see a project
gets 404 for it; one who may see it but not act gets 403 (docs/api.md, "Roles").
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel

from domain.catalog import Stage
from domain.errors import ActionRefused, forbidden

if TYPE_CHECKING:
    from domain.project.state import ProjectState, Step

Role = Literal["owner", "agent", "reviewer", "section_chief", "office", "leader"]
ROLES: tuple[Role, ...] = ("owner", "agent", "reviewer", "section_chief", "office", "leader")


class Actor(BaseModel):
    """Who acts, as the API authenticated them."""

    username: str
    role: Role
    department: str | None = None
    stage: Stage | None = None
    organisation: str | None = None  # an owner's unified social credit code


SYSTEM = Actor(username="system", role="office")


class Scope(StrEnum):
    """Which projects a role sees."""

    everything = "everything"
    own_organisation = "own_organisation"  # the owner: projects of its organisation
    assigned = "assigned"  # the agent: projects it is the deputy of
    department_reached = "department_reached"  # a reviewer: projects one of whose steps of its department opened


SCOPE: dict[str, Scope] = {
    "owner": Scope.own_organisation,
    "agent": Scope.assigned,
    "reviewer": Scope.department_reached,
    "section_chief": Scope.everything,
    "office": Scope.everything,
    "leader": Scope.everything,
}

# The roles allowed to attempt each action; the project's own checks then decide for this
# project (its owner, its agent, the step's department, the problem's level).
GATES: dict[str, frozenset[str]] = {
    "create_project": frozenset({"owner", "agent"}),
    "withdraw": frozenset({"owner", "agent"}),
    "submit": frozenset({"owner", "agent"}),
    # Application materials: the applicant uploads; whoever may see the project reads them.
    "upload_document": frozenset({"owner", "agent"}),
    "decide": frozenset({"reviewer"}),
    "verify": frozenset({"reviewer"}),
    "rate": frozenset({"owner"}),
    "open_problem": frozenset({"owner", "agent", "reviewer"}),
    "answer_rectification": frozenset({"reviewer"}),
    "judge_rectification": frozenset({"owner"}),
    # Anyone may try; the problem's level decides (the holder or anyone above it).
    "raise_problem": frozenset(ROLES),
    "resolve_problem": frozenset(ROLES),
    "read_statistics": frozenset({"section_chief", "office", "leader"}),
    "manage": frozenset({"office"}),  # the calendar, the catalog and the users
}

# The escalation ladder: who holds each level.
LADDER: dict[int, Role] = {1: "agent", 2: "section_chief", 3: "office", 4: "leader"}
LEVEL_OF: dict[str, int] = {role: level for level, role in LADDER.items()}


def may_see(actor: Actor, project: ProjectState) -> bool:
    """Whether the actor may see the project at all."""
    scope = SCOPE.get(actor.role)
    if scope is Scope.everything:
        return True
    if scope is Scope.own_organisation:
        return actor.organisation is not None and actor.organisation == project.owner_org
    if scope is Scope.assigned:
        return actor.username == project.agent
    if scope is Scope.department_reached:
        return any(s.department == actor.department and s.opened_at is not None for s in project.steps)
    return False


def may_attempt(actor: Actor, action: str) -> bool:
    """Whether the actor's role may attempt the action at all."""
    return actor.role in GATES[action]


def require_role(actor: Actor, action: str) -> None:
    """403 unless the actor's role may attempt the action at all."""
    allowed = GATES[action]
    if not may_attempt(actor, action):
        needs = ", ".join(r for r in ROLES if r in allowed)
        raise forbidden("forbidden_role", f"role {actor.role} may not do this (needs {needs})")


def is_applicant(actor: Actor, project: ProjectState) -> bool:
    """The project's owner, or its assigned agent acting for the owner."""
    if actor.role == "owner":
        return actor.organisation == project.owner_org
    return actor.role == "agent" and actor.username == project.agent


def require_visible(actor: Actor, project: ProjectState) -> None:
    """404 unless the actor may see the project: the API's answer for a project it may not see."""
    if not may_see(actor, project):
        raise ActionRefused("not_found", f"project {project.code} not found", status=404)


def require_applicant(actor: Actor, project: ProjectState) -> None:
    """403 unless the actor is the project's owner or its agent."""
    if not is_applicant(actor, project):
        raise forbidden("not_applicant", "only the project's owner or its assigned agent may do this")


def require_owner(actor: Actor, project: ProjectState, what: str) -> None:
    """403 unless the actor is the project's owner (the agent may not rate or judge for it)."""
    if actor.role != "owner" or actor.organisation != project.owner_org:
        raise forbidden("not_owner", f"only the project's owner {what}")


def require_reviewer(actor: Actor, step: Step) -> None:
    """403 unless the actor reviews for the step's department."""
    if actor.role != "reviewer":
        raise forbidden("not_reviewer", "only a reviewer of the step's department may do this")
    if actor.department != step.department:
        raise forbidden(
            "wrong_department", f"step {step.key} belongs to department {step.department}, not {actor.department}"
        )


def require_involved(actor: Actor, project: ProjectState) -> None:
    """Who may raise a problem: the applicant, or a reviewer of a department the project reached."""
    if actor.role == "reviewer":
        if not may_see(actor, project):
            raise forbidden("not_involved", "the project has not reached your department")
    elif not is_applicant(actor, project):
        raise forbidden("not_applicant", "only the project's owner or its assigned agent may do this")


def holds_level(actor: Actor, project: ProjectState, level: int, stage: Stage) -> bool:
    """The holder of a problem's level, or anyone above it (a section chief only for its stage)."""
    rank = LEVEL_OF.get(actor.role, 0)
    if rank < level:
        return False
    if actor.role == "agent":
        return actor.username == project.agent
    if actor.role == "section_chief":
        return actor.stage == stage
    return True
