"""Projects: creation, lists, the project view, its timeline, and every action on its steps."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query, Response
from temporalio.client import Client

from api.commands import Commands, owner_has_open_revocation
from api.deps import ServicesDep, SessionDep, UserDep, actor_of, require_role
from api.errors import ApiError
from api.queries import list_projects, project_events, project_out, step_out, visible_project
from api.schemas import (
    ActionOut,
    DecisionBody,
    EventOut,
    ProblemCreate,
    ProjectCreate,
    ProjectOut,
    ProjectPage,
    RatingBody,
    SubmitBody,
    VerificationBody,
    WithdrawBody,
)
from domain.codes import PROJECT_CODE_PATTERN, validate_project_code
from domain.inputs import Decide, OpenProblem, Rate, Submit, Verify, Withdraw
from domain.project import Step
from models.catalog_store import effective_catalog
from models.tables import UserRow
from workflows.project import ProjectWorkflow

router = APIRouter(tags=["projects"])
CodePath = Annotated[str, Path(pattern=PROJECT_CODE_PATTERN, description="project code (项目码)")]
StepPath = Annotated[str, Path(pattern=r"^[a-z0-9_.]{1,60}$", description="step key")]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]
Colour = Literal["green", "yellow", "red"]
Status = Literal["active", "suspended", "completed", "withdrawn"]
# Free text in a query: no control characters (a NUL breaks PostgreSQL).
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
StageName = Literal["initiation", "engineering", "construction", "acceptance"]


def commands(svc: ServicesDep) -> Commands:
    """The write side for this request."""
    client: Client = svc.temporal
    return Commands(client, svc.settings)


def request_key(user: UserRow, key: str | None) -> str | None:
    """An idempotency key scoped to its caller."""
    return f"{user.username}:{key}" if key else None


async def visible_code(db: SessionDep, user: UserRow, code: str) -> str:
    """Validate the code's check character, then make sure the caller may see the project."""
    code = validate_project_code(code)
    await visible_project(db, user, code)
    return code


@router.post("/projects", status_code=201, response_model=ProjectOut)
async def create_project(
    body: ProjectCreate, user: UserDep, svc: ServicesDep, db: SessionDep, response: Response, key: IdempotencyKey = None
) -> ProjectOut:
    """Create a project: a project code is issued and its workflow started."""
    require_role(user, "owner", "agent")
    catalog = await effective_catalog(db)
    code, _ = await commands(svc).create_project(db, catalog, actor_of(user), body.model_dump(), request_key(user, key))
    response.headers["Location"] = f"/projects/{code}"
    row = await visible_project(db, user, code)
    return project_out(row, await svc.calendar.clock(db), datetime.now(UTC))


@router.get("/projects", response_model=ProjectPage)
async def get_projects(
    user: UserDep,
    db: SessionDep,
    colour: Colour | None = None,
    stage: StageName | None = None,
    status: Status | None = None,
    category: Annotated[str | None, Query(max_length=40, pattern=PRINTABLE)] = None,
    q: Annotated[str | None, Query(max_length=100, pattern=PRINTABLE)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=24, pattern=PRINTABLE)] = None,
) -> ProjectPage:
    """The projects the caller may see, filtered and paged."""
    filters: dict[str, str | None] = {"colour": colour, "stage": stage, "status": status, "category": category}
    items, next_cursor = await list_projects(db, user, filters, q, limit, cursor)
    return ProjectPage(items=items, next_cursor=next_cursor)


@router.get("/projects/{code}", response_model=ProjectOut)
async def get_project(code: CodePath, user: UserDep, svc: ServicesDep, db: SessionDep) -> ProjectOut:
    """One project with its stages, steps, clocks and open problems."""
    row = await visible_project(db, user, validate_project_code(code))
    return project_out(row, await svc.calendar.clock(db), datetime.now(UTC))


@router.get("/projects/{code}/events", response_model=list[EventOut])
async def get_events(code: CodePath, user: UserDep, db: SessionDep) -> list[EventOut]:
    """The audit timeline: every event with time, actor, action and step."""
    return await project_events(db, await visible_code(db, user, code))


async def act(
    svc: ServicesDep, db: SessionDep, user: UserRow, code: str, update: Any, inp: Any, key: str | None, step: str | None
) -> ActionOut:
    result = await commands(svc).update(code, update, inp, request_key(user, key))
    shown = None
    if result.step is not None:
        shown = step_out(Step.model_validate(result.step), await svc.calendar.clock(db), datetime.now(UTC))
    return ActionOut(project_code=code, version=result.version, step=shown, created_id=result.created_id)


@router.post("/projects/{code}/withdraw", response_model=ActionOut)
async def withdraw(
    code: CodePath, body: WithdrawBody, user: UserDep, svc: ServicesDep, db: SessionDep, key: IdempotencyKey = None
) -> ActionOut:
    """End the project; its open steps are cancelled."""
    code = await visible_code(db, user, code)
    require_role(user, "owner", "agent")
    inp = Withdraw(actor=actor_of(user), reason=body.reason)
    return await act(svc, db, user, code, ProjectWorkflow.withdraw, inp, key, None)


@router.post("/projects/{code}/steps/{step}/submit", response_model=ActionOut)
async def submit(
    code: CodePath,
    step: StepPath,
    body: SubmitBody,
    user: UserDep,
    svc: ServicesDep,
    db: SessionDep,
    key: IdempotencyKey = None,
) -> ActionOut:
    """First submission, resubmission after return, or a new attempt after rejection."""
    code = await visible_code(db, user, code)
    require_role(user, "owner", "agent")
    if body.commitment:
        row = await visible_project(db, user, code)
        if await owner_has_open_revocation(db, row.owner_org):
            raise ApiError(409, "revocation_unresolved", "the owner has a revoked commitment still unresolved")
    inp = Submit(step=step, actor=actor_of(user), **body.model_dump())
    return await act(svc, db, user, code, ProjectWorkflow.submit, inp, key, step)


@router.post("/projects/{code}/steps/{step}/decision", response_model=ActionOut)
async def decide(
    code: CodePath,
    step: StepPath,
    body: DecisionBody,
    user: UserDep,
    svc: ServicesDep,
    db: SessionDep,
    key: IdempotencyKey = None,
) -> ActionOut:
    """A reviewer of the step's department approves, returns or rejects."""
    code = await visible_code(db, user, code)
    require_role(user, "reviewer")
    inp = Decide(step=step, actor=actor_of(user), outcome=body.outcome, comment=body.comment)
    return await act(svc, db, user, code, ProjectWorkflow.decide, inp, key, step)


@router.post("/projects/{code}/steps/{step}/verification", response_model=ActionOut)
async def verify(
    code: CodePath,
    step: StepPath,
    body: VerificationBody,
    user: UserDep,
    svc: ServicesDep,
    db: SessionDep,
    key: IdempotencyKey = None,
) -> ActionOut:
    """A reviewer verifies a granted commitment: pass, or fail (revokes the permit)."""
    code = await visible_code(db, user, code)
    require_role(user, "reviewer")
    inp = Verify(step=step, actor=actor_of(user), outcome=body.outcome, comment=body.comment)
    return await act(svc, db, user, code, ProjectWorkflow.verify, inp, key, step)


@router.post("/projects/{code}/steps/{step}/rating", response_model=ActionOut)
async def rate(
    code: CodePath,
    step: StepPath,
    body: RatingBody,
    user: UserDep,
    svc: ServicesDep,
    db: SessionDep,
    key: IdempotencyKey = None,
) -> ActionOut:
    """The owner rates an ended step once; 1 or 2 opens a rectification for the department."""
    code = await visible_code(db, user, code)
    require_role(user, "owner")
    inp = Rate(step=step, actor=actor_of(user), score=body.score, comment=body.comment)
    return await act(svc, db, user, code, ProjectWorkflow.rate, inp, key, step)


@router.post("/projects/{code}/problems", status_code=201, response_model=ActionOut)
async def open_problem(
    code: CodePath, body: ProblemCreate, user: UserDep, svc: ServicesDep, db: SessionDep, key: IdempotencyKey = None
) -> ActionOut:
    """Raise a coordination problem: level 1, or 2 for a key project."""
    code = await visible_code(db, user, code)
    require_role(user, "owner", "agent", "reviewer")
    inp = OpenProblem(actor=actor_of(user), summary=body.summary, step=body.step)
    return await act(svc, db, user, code, ProjectWorkflow.open_problem, inp, key, None)
