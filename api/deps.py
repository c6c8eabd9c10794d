"""Request dependencies: shared services, the database session, the authenticated caller, and the
role gates of the access policy (domain/access.py).

A route acting on a project resolves the project before its gate: a caller who may not see the
project gets 404 before any 403 could hint that it exists.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

import structlog
from fastapi import Depends, Header, Path, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from api.callers import CallerCache, token_counts
from api.errors import DATABASE_DOWN, ApiError
from api.queries import owning_project, visible_project
from api.schemas import PROJECT_CODE, PROJECT_CODE_RULES
from api.security import read_claims
from domain.access import Actor, may_attempt, require_role
from domain.catalog import Catalog
from domain.codes import validate_project_code
from models.calendar_store import CalendarSource
from models.catalog_store import catalog_source
from models.kept import Kept
from models.notification_store import as_actor
from models.storage import Storage
from models.tables import ProblemRow, RectificationRow, UserRow
from settings import Settings


@dataclass
class Services:
    """What the lifespan opens once and every request shares."""

    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    temporal: Client
    calendar: CalendarSource
    storage: Storage  # the bytes of uploaded documents
    callers: CallerCache = field(default_factory=CallerCache)  # users of recent tokens, for a few seconds
    catalog: Kept[Catalog] = field(default_factory=catalog_source)  # what creations read
    readers: async_sessionmaker[AsyncSession] | None = None  # for requests that only read (models/db.py)


async def services(request: Request) -> Services:
    """The application's shared services (async, as every dependency on the hot path: FastAPI runs a
    plain function dependency in a worker thread, a hop that cost more than the function)."""
    found: Services = request.app.state.services
    return found


ServicesDep = Annotated[Services, Depends(services)]
log = structlog.get_logger("approvals.api")
oauth2 = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)


# Requests that only read: they get a session without a transaction (models/db.py, reader_factory).
READING = frozenset({"GET", "HEAD"})


async def request_method(request: Request) -> str:
    return request.method


async def session(
    svc: ServicesDep, method: Annotated[str, Depends(request_method)] = "POST"
) -> AsyncIterator[AsyncSession]:
    """One read-model session per request; without a transaction for a GET (`method`: the request's).

    It is closed after the answer has gone out. Closing rolls back what is still open, and if the
    database died since the request's last statement that rollback fails: nothing is lost (what
    was committed stays, the rest is gone with the server), the dead connection is discarded, and
    the answer stands, so the failure is only logged.
    """
    async with _closing((svc.readers or svc.sessions)() if method in READING else svc.sessions()) as db:
        yield db


async def statement_session(svc: ServicesDep) -> AsyncIterator[AsyncSession]:
    """A session in which every statement commits on its own, as a GET's: for a write made of single
    atomic statements only (a creation: a deputy chosen, a serial taken, a code recorded, the new
    project read back), which so sends no BEGIN, COMMIT or ROLLBACK and keeps prepared statements."""
    async with _closing((svc.readers or svc.sessions)()) as db:
        yield db


@asynccontextmanager
async def _closing(db: AsyncSession) -> AsyncIterator[AsyncSession]:
    try:
        yield db
    finally:
        try:
            await db.close()
        except DATABASE_DOWN as err:
            log.warning("session_close_failed", error=type(err).__name__)


SessionDep = Annotated[AsyncSession, Depends(session)]
StatementSessionDep = Annotated[AsyncSession, Depends(statement_session)]


async def user_for_token(db: AsyncSession, svc: Services, token: str) -> UserRow | None:
    """The active user a token names, if it is signed, unexpired and issued after the user's cut-off
    (a password reset or a deactivation): the one check behind bearer tokens and page sessions. The
    row comes from the short-lived cache (api/callers.py): a detached copy, so a route that changes
    the user reads the row itself."""
    claims = read_claims(token, svc.settings.secret_key)
    user = await svc.callers.user(db, claims[0]) if claims else None
    return user if claims is not None and token_counts(user, claims[1]) else None


async def current_user(svc: ServicesDep, db: SessionDep, token: Annotated[str | None, Depends(oauth2)]) -> UserRow:
    """The caller named by a valid bearer token (401 otherwise)."""
    if not token:
        raise ApiError(401, "not_authenticated", "a bearer token is required")
    user = await user_for_token(db, svc, token)
    if user is None:
        raise ApiError(401, "invalid_token", "the token is invalid, expired, or issued before a password reset")
    return user


UserDep = Annotated[UserRow, Depends(current_user)]


def actor_of(user: UserRow) -> Actor:
    """The caller as the rules see them."""
    return as_actor(user)


def allowed(action: str) -> Any:
    """A dependency: the caller, if its role may attempt `action` (403 otherwise)."""

    async def gate(user: UserDep) -> UserRow:
        require_role(actor_of(user), action)
        return user

    return Depends(gate)


CodePath = Annotated[str, Path(pattern=PROJECT_CODE, description=PROJECT_CODE_RULES)]
ProblemId = Annotated[
    str,
    Path(
        pattern=r"^[0-9]{4}-[0-9]{6}-[0-9]{2}-[0-9]{2}-[0-9]{5}[0-9X]-P[0-9]{1,4}$",
        description="A problem id: its project's code, then -P and its number.",
    ),
]
RectificationId = Annotated[
    str,
    Path(
        pattern=r"^[0-9]{4}-[0-9]{6}-[0-9]{2}-[0-9]{2}-[0-9]{5}[0-9X]-R[0-9]{1,4}$",
        description="A rectification id: its project's code, then -R and its number.",
    ),
]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        pattern=r"^[\x21-\x7e]*$",
        description="1 to 200 visible ASCII characters (a UUID, say), chosen by the caller for this request "
        "(empty: none). A repeat by the same caller with the same key, path and body gets the first answer "
        "again without acting twice (`Idempotent-Replayed: true`); the same key with another request is "
        "refused with 422 `idempotency_key_reused`, which no schema can foresee.",
    ),
]


@dataclass
class Acting:
    """A caller acting on a project it may see, and the key its request repeats under."""

    code: str
    actor: Actor
    request_key: str | None
    item_id: str = ""  # the step, problem or rectification acted on
    # Visibility left to the workflow's validator (its 404); a project without a running
    # workflow is then checked against the read model (api/commands.py).
    seen_by_workflow: bool = False


def request_key(user: UserRow, key: str | None) -> str | None:
    """An idempotency key scoped to its caller."""
    return f"{user.username}:{key}" if key else None


def on_project(action: str, seen_by_workflow: bool = False) -> Any:
    """A dependency for a route acting on `{code}`: 404 unless visible, then the role gate (403).

    With `seen_by_workflow` (a route that only sends the update), a caller whose role may attempt
    the action skips the read model: the update's validator answers the same 404 from the
    project's own state. A role the gate refuses is still checked here, 404 before 403.
    """

    async def resolve(code: CodePath, user: UserDep, db: SessionDep, key: IdempotencyKey = None) -> Acting:
        code = validate_project_code(code)
        seen = await _seen(db, actor_of(user), action, code, seen_by_workflow)
        return _gated(user, action, code, key, seen_by_workflow=seen)

    return Depends(resolve)


async def _seen(db: AsyncSession, actor: Actor, action: str, code: str, by_workflow: bool) -> bool:
    """Whether the workflow is left to check visibility; otherwise the read model does, now (404)."""
    if by_workflow and may_attempt(actor, action):
        return True
    await visible_project(db, actor, code)
    return False


StepPath = Annotated[
    str, Path(pattern=r"^[a-z0-9_.]{1,60}$", description="A step key of the project (404 `unknown_step` otherwise).")
]


def on_step(action: str, seen_by_workflow: bool = False) -> Any:
    """The same for a route acting on a step `{code}/steps/{step}`; the step key is the item acted on."""

    async def resolve(
        code: CodePath, step: StepPath, user: UserDep, db: SessionDep, key: IdempotencyKey = None
    ) -> Acting:
        code = validate_project_code(code)
        seen = await _seen(db, actor_of(user), action, code, seen_by_workflow)
        return _gated(user, action, code, key, step, seen)

    return Depends(resolve)


def on_problem(action: str) -> Any:
    """The same for a route acting on `{problem_id}`: its project must be visible."""

    async def resolve(problem_id: ProblemId, user: UserDep, db: SessionDep, key: IdempotencyKey = None) -> Acting:
        code = await owning_project(db, actor_of(user), ProblemRow, problem_id)
        return _gated(user, action, code, key, problem_id)

    return Depends(resolve)


def on_rectification(action: str) -> Any:
    """The same for a route acting on `{rectification_id}`."""

    async def resolve(
        rectification_id: RectificationId, user: UserDep, db: SessionDep, key: IdempotencyKey = None
    ) -> Acting:
        code = await owning_project(db, actor_of(user), RectificationRow, rectification_id)
        return _gated(user, action, code, key, rectification_id)

    return Depends(resolve)


def _gated(
    user: UserRow, action: str, code: str, key: str | None, item_id: str = "", seen_by_workflow: bool = False
) -> Acting:
    actor = actor_of(user)
    require_role(actor, action)
    return Acting(code, actor, request_key(user, key), item_id, seen_by_workflow)
