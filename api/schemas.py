"""Request and response bodies of the HTTP API, version 1. Unknown fields are refused."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from domain.project import StepView

# Free text may hold tabs and line breaks but no other control character: PostgreSQL cannot
# store a NUL, and a value the read model refuses would stall the project's projection.
# (Lone surrogates such as JSON "\ud800" are already refused by pydantic as invalid strings.)
PRINTABLE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"

Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000, pattern=PRINTABLE)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=PRINTABLE)]
Required = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000, pattern=PRINTABLE)]


class Strict(BaseModel):
    """A request body: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class ProjectCreate(Strict):
    name: Name
    category: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,39}$")]
    owner_credit_code: Annotated[str, StringConstraints(min_length=18, max_length=18)]
    region_code: Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")] | None = None
    investment_wan: float = Field(gt=0, le=100_000_000, description="total investment in 万元 (10,000 yuan)")
    key_project: bool = False
    phases: list[Name] | None = Field(default=None, max_length=10)
    sections: list[Name] | None = Field(default=None, max_length=30)


class SubmitBody(Strict):
    commitment: bool = False
    note: Text = ""
    documents: list[Name] = Field(default=[], max_length=50)


class DecisionBody(Strict):
    outcome: Literal["approve", "return", "reject"]
    comment: Text = ""


class VerificationBody(Strict):
    outcome: Literal["pass", "fail"]
    comment: Text = ""


class RatingBody(Strict):
    score: int = Field(ge=1, le=5)
    comment: Text = ""


class WithdrawBody(Strict):
    reason: Text = ""


class ProblemCreate(Strict):
    step: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_.]{1,60}$")] | None = None
    summary: Required


class ProblemRaise(Strict):
    reason: Required


class ProblemResolve(Strict):
    resolution: Required


class RectificationAnswer(Strict):
    answer: Required


class RectificationJudgement(Strict):
    accept: bool
    comment: Text = ""


class CalendarYear(Strict):
    holidays: list[date] = Field(max_length=120)
    workdays: list[date] = Field(max_length=60)


class CalendarOut(BaseModel):
    year: int
    holidays: list[date]
    workdays: list[date]
    source: str
    provisional: bool


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class Me(BaseModel):
    username: str
    display_name: str
    role: str
    department: str | None
    stage: str | None
    organisation: str | None


# A step as the API shows it: the domain's own view of a step.
StepOut = StepView


class StageOut(BaseModel):
    stage: str
    steps: list[StepOut]


class ProblemOut(BaseModel):
    id: str
    project_code: str
    step: str | None
    stage: str
    level: int
    status: str
    origin: str
    summary: str
    raised_by: str
    reminders: int
    opened_at: datetime
    due_at: datetime | None
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: str | None


class RectificationOut(BaseModel):
    id: str
    step: str
    department: str
    status: str
    score: int
    opened_at: datetime
    due_at: datetime | None
    answer: str | None


class SectionOut(BaseModel):
    id: str
    name: str
    accepted_at: datetime | None


class ProjectSummary(BaseModel):
    code: str
    name: str
    category: str
    status: str
    colour: str
    stage: str
    owner: str
    agent: str
    key_project: bool
    created_at: datetime


class ProjectOut(ProjectSummary):
    region_code: str
    investment_wan: float
    version: int
    stages: list[StageOut]
    sections: list[SectionOut]
    open_problems: list[ProblemOut]
    rectifications: list[RectificationOut]


class ProjectPage(BaseModel):
    items: list[ProjectSummary]
    next_cursor: str | None


class EventOut(BaseModel):
    seq: int
    at: datetime
    actor: str
    role: str
    on_behalf_of: str | None
    action: str
    step: str | None
    detail: dict[str, Any]


class TaskOut(BaseModel):
    kind: Literal["step", "verification", "rectification", "problem"]
    project_code: str
    project_name: str
    step: str | None
    id: str | None
    status: str
    deadline: datetime | None
    summary: str


class ActionOut(BaseModel):
    project_code: str
    version: int
    step: StepOut | None = None
    created_id: str | None = None
