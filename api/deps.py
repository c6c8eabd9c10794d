"""Request dependencies: settings, database session, Temporal client and the authenticated caller."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from activities.calendar_source import CalendarSource
from api.errors import ApiError
from api.security import read_claims
from domain.inputs import Actor
from models.tables import UserRow
from settings import Settings


@dataclass
class Services:
    """What the lifespan opens once and every request shares."""

    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    temporal: Client
    calendar: CalendarSource


def services(request: Request) -> Services:
    """The application's shared services."""
    found: Services = request.app.state.services
    return found


ServicesDep = Annotated[Services, Depends(services)]
oauth2 = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)


async def session(svc: ServicesDep) -> AsyncIterator[AsyncSession]:
    """One read-model session per request."""
    async with svc.sessions() as db:
        yield db


SessionDep = Annotated[AsyncSession, Depends(session)]


async def current_user(svc: ServicesDep, db: SessionDep, token: Annotated[str | None, Depends(oauth2)]) -> UserRow:
    """The caller named by a valid bearer token (401 otherwise)."""
    if not token:
        raise ApiError(401, "not_authenticated", "a bearer token is required")
    claims = read_claims(token, svc.settings.secret_key)
    user = await db.get(UserRow, claims[0]) if claims else None
    if user is None or not user.active or claims is None:
        raise ApiError(401, "invalid_token", "the token is invalid or expired")
    if user.tokens_valid_after is not None and claims[1] < user.tokens_valid_after:
        raise ApiError(401, "invalid_token", "the token was issued before a password reset or deactivation")
    return user


UserDep = Annotated[UserRow, Depends(current_user)]


def actor_of(user: UserRow) -> Actor:
    """The caller as the workflow sees them."""
    return Actor.model_validate(
        {
            "username": user.username,
            "role": user.role,
            "department": user.department,
            "stage": user.stage,
            "organisation": user.organisation,
        }
    )


def require_role(user: UserRow, *roles: str) -> None:
    """403 unless the caller has one of the roles."""
    if user.role not in roles:
        raise ApiError(403, "forbidden_role", f"role {user.role} may not do this (needs {', '.join(roles)})")
