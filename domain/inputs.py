"""One input type per workflow action: what the API sends and the workflow validates."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from domain.catalog import CategorySpec, Stage

Role = Literal["owner", "agent", "reviewer", "section_chief", "office", "leader"]


class Actor(BaseModel):
    """Who acts, as the API authenticated them."""

    username: str
    role: Role
    department: str | None = None
    stage: Stage | None = None
    organisation: str | None = None  # an owner's unified social credit code


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


class Submit(BaseModel):
    step: str
    actor: Actor
    commitment: bool = False
    note: str = ""
    documents: list[str] = []


class Decide(BaseModel):
    step: str
    actor: Actor
    outcome: Literal["approve", "return", "reject"]
    comment: str = ""


class Verify(BaseModel):
    step: str
    actor: Actor
    outcome: Literal["pass", "fail"]
    comment: str = ""


class Rate(BaseModel):
    step: str
    actor: Actor
    score: int = Field(ge=1, le=5)
    comment: str = ""


class Withdraw(BaseModel):
    actor: Actor
    reason: str = ""


class OpenProblem(BaseModel):
    actor: Actor
    summary: str
    step: str | None = None


class RaiseProblem(BaseModel):
    problem_id: str
    actor: Actor
    reason: str


class ResolveProblem(BaseModel):
    problem_id: str
    actor: Actor
    resolution: str


class AnswerRectification(BaseModel):
    rectification_id: str
    actor: Actor
    answer: str


class JudgeRectification(BaseModel):
    rectification_id: str
    actor: Actor
    accept: bool
    comment: str = ""


class ActionResult(BaseModel):
    """What an update returns: the version it produced and the id of anything it created."""

    version: int
    created_id: str | None = None
    step: dict[str, Any] | None = None  # the acted-on step as published, so the API need not read it back
