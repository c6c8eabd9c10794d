"""Login and the caller's own identity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import structlog
from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm

from api.deps import ServicesDep, SessionDep, UserDep
from api.errors import ApiError
from api.schemas import Me, Token
from api.security import issue_token, verify_password
from models.tables import UserRow

router = APIRouter(tags=["auth"])
log = structlog.get_logger("approvals.auth")
# After this many failed logins in a row the account is locked for LOCK_MINUTES.
MAX_FAILURES = 5
LOCK_MINUTES = 15


@router.post("/auth/token", response_model=Token)
async def login(form: Annotated[OAuth2PasswordRequestForm, Depends()], svc: ServicesDep, db: SessionDep) -> Token:
    """OAuth2 password login: a bearer token for a valid username and password."""
    now = datetime.now(UTC)
    user = await db.get(UserRow, form.username[:64])
    if user is not None and user.locked_until is not None and user.locked_until > now:
        raise ApiError(429, "account_locked", "too many failed logins: try again later")
    if user is None or not user.active or not verify_password(form.password, user.password_hash):
        if user is not None:
            user.failed_logins += 1
            if user.failed_logins >= MAX_FAILURES:
                user.locked_until = now + timedelta(minutes=LOCK_MINUTES)
                user.failed_logins = 0
                log.warning("account_locked", username=user.username)
            db.add(user)
            await db.commit()
        raise ApiError(401, "invalid_credentials", "wrong username or password")
    if user.failed_logins:
        user.failed_logins = 0
        db.add(user)
        await db.commit()
    minutes = svc.settings.token_minutes
    log.info("login", actor=user.username, role=user.role)
    return Token(access_token=issue_token(user.username, svc.settings.secret_key, minutes), expires_in=minutes * 60)


@router.get("/me", response_model=Me)
async def me(user: UserDep) -> Me:
    """The caller: username, role, department, stage, organisation."""
    return Me.model_validate(user, from_attributes=True)
