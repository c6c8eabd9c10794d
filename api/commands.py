"""The write side: issue project codes, start project workflows and send them validated updates."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import structlog
from fastapi import Depends
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.deps import Acting, ServicesDep
from api.errors import ApiError
from api.queries import visible_project
from api.schemas import ActionOut
from domain.access import Actor
from domain.catalog import Catalog
from domain.codes import make_project_code, validate_credit_code, validate_region_code
from domain.project import (
    COLD_REST_LIMIT,
    GENERATION,
    REST_LIMIT,
    Action,
    ActionResult,
    CreateProject,
    Opened,
    ProjectInput,
)
from domain.status import LIVE
from models.db import insert
from models.tables import CodeSerialRow, IssuedCodeRow, ProjectRow, UserRow
from settings import Settings
from workflows.calendar import CalendarRollout, CalendarRolloutWorkflow
from workflows.project import ProjectWorkflow

log = structlog.get_logger("approvals.api")
# Supervising-department field of the project code: the district development and reform
# commission files every project here (a local choice, see docs/codes.md).
SUPERVISING_DEPARTMENT = "01"


async def next_serial(db: AsyncSession, prefix: str) -> int:
    """Atomically take the next serial for a code prefix (one statement on both databases)."""
    table = CodeSerialRow.__table__  # type: ignore[attr-defined]
    values = insert(db, table).values(prefix=prefix, last=1)
    upsert = values.on_conflict_do_update(index_elements=["prefix"], set_={"last": table.c.last + 1})
    serial = (await db.execute(upsert.returning(table.c.last))).scalar_one()
    await db.commit()
    return int(serial)


async def assign_agent(db: AsyncSession) -> str:
    """The active agent with the fewest open projects (ties by name)."""
    load = (
        select(func.count())
        .where(col(ProjectRow.agent) == col(UserRow.username), col(ProjectRow.status).in_(LIVE))
        .scalar_subquery()
    )
    stmt = (
        select(col(UserRow.username))
        .where(col(UserRow.role) == "agent", col(UserRow.active))
        .order_by(load, col(UserRow.username))
        .limit(1)
    )
    agent = (await db.execute(stmt)).scalar_one_or_none()
    if agent is None:
        raise ApiError(409, "no_agent", "no deputy (代办员) is available to take the project")
    return str(agent)


def map_update_error(err: Exception, code: str) -> ApiError:
    """Turn a Temporal error into the API's answer: the validator's refusal keeps its status and code."""
    cause: BaseException | None = err.cause if isinstance(err, WorkflowUpdateFailedError) else err
    if isinstance(cause, ApplicationError) and cause.type == "ActionRefused":
        details = list(cause.details)
        status = int(details[1]) if len(details) > 1 else 409
        return ApiError(status, str(details[0]) if details else "refused", cause.message)
    if isinstance(err, RPCError) and err.status == RPCStatusCode.NOT_FOUND:
        return ApiError(409, "project_closed", f"project {code} is closed: its workflow has ended")
    if isinstance(err, WorkflowUpdateRPCTimeoutOrCancelledError):
        return not_confirmed()
    if isinstance(err, RPCError) and err.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
        return ApiError(503, "temporal_unavailable", "the workflow service does not answer; retry with the same key")
    raise err


def not_confirmed() -> ApiError:
    """503: the action may have been accepted; a retry with the same Idempotency-Key gets its outcome."""
    detail = "the action was sent but not confirmed in time; retry with the same Idempotency-Key"
    return ApiError(503, "not_confirmed", detail, headers={"Retry-After": "1"})


class Commands:
    """Sends actions to project workflows; one instance per request."""

    def __init__(self, client: Client, settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.client = client
        self.settings = settings
        self.sessions = sessions

    async def create_project(
        self, db: AsyncSession, catalog: Catalog, actor: Actor, body: dict[str, Any], request_key: str | None
    ) -> str:
        """Validate, issue a project code, start the workflow and wait until the project is visible."""
        category = catalog.get(body["category"])
        if category is None:
            known = ", ".join(c.key for c in catalog.categories)
            raise ApiError(422, "unknown_category", f"category {body['category']!r} is not in the catalog ({known})")
        credit = validate_credit_code(body["owner_credit_code"])
        region = validate_region_code(body.get("region_code") or self.settings.region_code)
        if actor.role == "owner" and credit != actor.organisation:
            raise ApiError(403, "not_own_organisation", "an owner creates projects for its own organisation only")
        if body.get("phases") and not any(s.mode == "phased" for s in category.steps):
            raise ApiError(422, "phases_not_applicable", f"category {category.key} has no phased permit")
        if body.get("sections") and not any(s.joint_role for s in category.steps):
            raise ApiError(422, "sections_not_applicable", f"category {category.key} has no joint acceptance")
        agent = actor.username if actor.role == "agent" else await assign_agent(db)
        code = await self._issue_code(db, region, category.project_type, request_key)
        create = CreateProject(
            code=code,
            name=body["name"],
            category=category,
            owner_org=credit,
            agent=agent,
            region_code=region,
            investment_wan=body["investment_wan"],
            key_project=bool(body.get("key_project")),
            phases=body.get("phases") or [],
            sections=body.get("sections") or [],
            actor=actor,
        )
        start = WithStartWorkflowOperation(
            ProjectWorkflow.run,
            ProjectInput(create=create, rest_limit=REST_LIMIT, cold_rest_limit=COLD_REST_LIMIT, generation=GENERATION),
            id=code,
            task_queue=self.settings.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        opened = self.client.execute_update_with_start_workflow(
            ProjectWorkflow.opened,
            Opened(requested_by=actor.username),
            start_workflow_operation=start,
            id=_update_id(request_key),
        )
        await self._answer(opened, code)
        log.info("project_created", project_code=code, workflow_id=code, actor=actor.username, category=category.key)
        return code

    async def _issue_code(self, db: AsyncSession, region: str, project_type: str, request_key: str | None) -> str:
        """A new project code; a retried request (same Idempotency-Key) gets the code it was issued before."""
        if request_key is not None:
            issued = await db.get(IssuedCodeRow, request_key)
            if issued is not None:
                return issued.code
        year = datetime.now(ZoneInfo(self.settings.timezone)).year
        prefix = f"{year}{region}{SUPERVISING_DEPARTMENT}{project_type}"
        serial = await next_serial(db, prefix)
        code = make_project_code(year, region, SUPERVISING_DEPARTMENT, project_type, serial)
        if request_key is not None:
            db.add(IssuedCodeRow(request_key=request_key, code=code, created_at=datetime.now(UTC)))
            await db.commit()
        return code

    async def act(self, acting: Acting, update: Callable[..., Any], action: Action) -> ActionOut:
        """Send one action as a validated update; the answer arrives once the read model holds it."""
        handle = self.client.get_workflow_handle(acting.code)
        sent = handle.execute_update(update, action, id=_update_id(acting.request_key))  # type: ignore[call-overload]
        try:
            result = await self._answer(sent, acting.code)
        except ApiError as err:
            if err.code == "project_closed" and acting.seen_by_workflow:
                # No running workflow, and nobody has checked visibility yet: 404 before 409.
                async with self.sessions() as db:
                    await visible_project(db, acting.actor, acting.code)
            raise
        log.info(
            "project_action",
            project_code=acting.code,
            workflow_id=acting.code,
            actor=acting.actor.username,
            action=getattr(update, "__name__", str(update)),
            version=result.version,
        )
        return ActionOut(
            project_code=acting.code, version=result.version, step=result.step, created_id=result.created_id
        )

    async def roll_out_calendar(self, year: int, username: str, changed_at: datetime) -> None:
        """Start telling every project whose clocks reach into `year` (durably: a workflow)."""
        try:
            await self.client.start_workflow(
                CalendarRolloutWorkflow.run,
                CalendarRollout(year=year, changed_by=username),
                id=f"calendar-{year}-{changed_at.strftime('%Y%m%dT%H%M%S%f')}",
                task_queue=self.settings.task_queue,
            )
        except RPCError as err:
            detail = "the calendar is saved but running projects were not told: repeat the request"
            raise ApiError(503, "temporal_unavailable", detail, headers={"Retry-After": "5"}) from err
        log.info("calendar_rollout_started", year=year, actor=username)

    async def _answer(self, update: Awaitable[ActionResult], code: str) -> ActionResult:
        """The workflow's answer, waited for at most `update_wait_seconds` (no worker, a dead read model).

        Past that the caller gets 503 not_confirmed. The update may still be applied later; a retry
        with the same Idempotency-Key carries the same update id, so it acts at most once and
        returns that outcome.
        """
        try:
            async with asyncio.timeout(self.settings.update_wait_seconds):
                return await update
        except TimeoutError:
            raise not_confirmed() from None
        except (WorkflowUpdateFailedError, RPCError, WorkflowUpdateRPCTimeoutOrCancelledError) as err:
            raise map_update_error(err, code) from err


def _update_id(request_key: str | None) -> str:
    """Temporal deduplicates updates by id, so a retried request with the same key acts once."""
    return f"req-{request_key}" if request_key else str(uuid.uuid4())


async def commands(svc: ServicesDep) -> Commands:
    """The write side for this request."""
    return Commands(svc.temporal, svc.settings, svc.sessions)


CommandsDep = Annotated[Commands, Depends(commands)]
