"""Projects: creation, lists, the project view, its timeline, withdrawal and raising a problem."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.actions import ActionRoute, action_route
from api.commands import CommandsDep
from api.deps import (
    CodePath,
    IdempotencyKey,
    ServicesDep,
    SessionDep,
    StatementSessionDep,
    UserDep,
    actor_of,
    allowed,
    on_project,
)
from api.deps import request_key as scoped_key
from api.errors import ON_WORKFLOW, refusals
from api.queries import list_projects, project_events, project_view, visible_project
from api.schemas import (
    EventOut,
    ProblemCreate,
    ProjectCreate,
    ProjectOut,
    ProjectPage,
    StageName,
    WithdrawBody,
)
from domain.codes import validate_project_code
from domain.project import OpenProblem, Withdraw
from domain.status import Colour, ProjectStatus
from models.tables import UserRow
from workflows.project import ProjectWorkflow

router = APIRouter(tags=["projects"])
# Free text in a query: no control characters (a NUL breaks PostgreSQL).
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
Creator = Annotated[UserRow, allowed("create_project")]


@router.post(
    "/projects",
    status_code=201,
    response_model=ProjectOut,
    responses=refusals(
        "forbidden_role",
        "not_own_organisation",
        "unknown_category",
        "invalid_credit_code",
        "invalid_region_code",
        "phases_not_applicable",
        "sections_not_applicable",
        "no_agent",
        *ON_WORKFLOW[:2],
    ),
)
async def create_project(
    body: ProjectCreate,
    user: Creator,
    svc: ServicesDep,
    db: StatementSessionDep,
    send: CommandsDep,
    response: Response,
    key: IdempotencyKey = None,
) -> ProjectOut:
    """Create a project: a project code is issued and its workflow started."""
    actor = actor_of(user)
    catalog = await svc.catalog.get(db)
    code = await send.create_project(db, catalog, actor, body.model_dump(), scoped_key(user, key))
    response.headers["Location"] = f"/projects/{code}"
    return await project_view(db, actor, code, await svc.calendar.calendar(db), datetime.now(UTC))


@router.get("/projects", response_model=ProjectPage)
async def get_projects(
    user: UserDep,
    db: SessionDep,
    colour: Colour | None = None,
    stage: StageName | None = None,
    status: ProjectStatus | None = None,
    category: Annotated[str | None, Query(max_length=40, pattern=PRINTABLE)] = None,
    q: Annotated[str | None, Query(max_length=100, pattern=PRINTABLE)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=24, pattern=PRINTABLE)] = None,
) -> ProjectPage:
    """The projects the caller may see, filtered and paged."""
    filters: dict[str, str | None] = {"colour": colour, "stage": stage, "status": status, "category": category}
    items, next_cursor = await list_projects(db, actor_of(user), filters, q, limit, cursor)
    return ProjectPage(items=items, next_cursor=next_cursor)


@router.get("/projects/{code}", response_model=ProjectOut, responses=refusals("invalid_project_code"))
async def get_project(code: CodePath, user: UserDep, svc: ServicesDep, db: SessionDep) -> ProjectOut:
    """One project with its stages, steps, clocks and open problems."""
    calendar = await svc.calendar.calendar(db)
    return await project_view(db, actor_of(user), validate_project_code(code), calendar, datetime.now(UTC))


@router.get("/projects/{code}/events", response_model=list[EventOut], responses=refusals("invalid_project_code"))
async def get_events(code: CodePath, user: UserDep, db: SessionDep) -> list[EventOut]:
    """The audit timeline: every event with time, actor, action and step."""
    code = validate_project_code(code)
    await visible_project(db, actor_of(user), code)
    return await project_events(db, code)


for route in (
    ActionRoute(
        "/projects/{code}/withdraw",
        WithdrawBody,
        Withdraw,
        ProjectWorkflow.withdraw,
        ("invalid_project_code", "forbidden_role", "not_applicant", "project_ended", *ON_WORKFLOW),
        "End the project; its open steps are cancelled.",
    ),
    ActionRoute(
        "/projects/{code}/problems",
        ProblemCreate,
        OpenProblem,
        ProjectWorkflow.open_problem,
        (
            "invalid_project_code",
            "forbidden_role",
            "not_applicant",
            "not_involved",
            "unknown_step",
            "project_ended",
            *ON_WORKFLOW,
        ),
        "Raise a coordination problem: level 1, or 2 for a key project.",
        status_code=201,
    ),
):
    action_route(router, route, lambda gate: on_project(gate, seen_by_workflow=True))
