"""Login and the caller's own identity."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

import structlog
from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy import or_, update
from sqlmodel import col

from api.deps import ServicesDep, SessionDep, UserDep
from api.errors import ApiError, refusals
from api.schemas import Me, Token
from api.security import issue_token
from models.passwords import verify_password
from models.tables import UserRow

router = APIRouter(tags=["auth"])
log = structlog.get_logger("approvals.auth")
# After this many failed logins in a row the account is locked for LOCK_MINUTES.
MAX_FAILURES = 5
LOCK_MINUTES = 15
# A username is 1-64 printable characters; anything else names nobody and never reaches the database.
USERNAME = re.compile(r"^[^\x00-\x1f\x7f]{1,64}$")
MAX_PASSWORD = 1024


def _locked(until: datetime | None, now: datetime) -> ApiError | None:
    if until is None or until <= now:
        return None
    seconds = max(1, int((until - now).total_seconds()))
    return ApiError(
        429, "account_locked", "too many failed logins: try again later", headers={"Retry-After": str(seconds)}
    )


async def _check(password: str, password_hash: str | None) -> bool:
    """The argon2 check, off the event loop: it costs tens of milliseconds of CPU by design."""
    if len(password) > MAX_PASSWORD:
        password = ""
    return await asyncio.to_thread(verify_password, password, password_hash)


async def _record_failure(db: SessionDep, username: str, now: datetime) -> None:
    """Count a failure atomically (concurrent guesses cannot lose counts) and lock at the limit."""
    where = col(UserRow.username) == username
    stmt = update(UserRow).where(where).values(failed_logins=col(UserRow.failed_logins) + 1)
    failures = (await db.execute(stmt.returning(col(UserRow.failed_logins)))).scalar_one_or_none()
    if failures is not None and failures >= MAX_FAILURES:
        lock = (
            update(UserRow)
            .where(where, col(UserRow.failed_logins) >= MAX_FAILURES)
            .values(locked_until=now + timedelta(minutes=LOCK_MINUTES), failed_logins=0)
        )
        if (await db.execute(lock)).rowcount:  # type: ignore[attr-defined]
            log.warning("account_locked", username=username)
    await db.commit()


async def _record_success(db: SessionDep, username: str, now: datetime) -> bool:
    """Reset the failure count unless the account got locked meanwhile (by concurrent failures)."""
    stmt = (
        update(UserRow)
        .where(
            col(UserRow.username) == username,
            or_(col(UserRow.locked_until).is_(None), col(UserRow.locked_until) <= now),
        )
        .values(failed_logins=0)
    )
    done = bool((await db.execute(stmt)).rowcount)  # type: ignore[attr-defined]
    await db.commit()
    return done


@router.post("/auth/token", response_model=Token, responses=refusals("invalid_credentials", "account_locked"))
async def login(form: Annotated[OAuth2PasswordRequestForm, Depends()], svc: ServicesDep, db: SessionDep) -> Token:
    """OAuth2 password login: a bearer token for a valid username and password."""
    wrong = ApiError(401, "invalid_credentials", "wrong username or password")
    now = datetime.now(UTC)
    user = await db.get(UserRow, form.username) if USERNAME.match(form.username) else None
    if user is not None and (locked := _locked(user.locked_until, now)) is not None:
        raise locked
    # Every path pays for one argon2 check, so timing does not tell which usernames exist.
    valid = await _check(form.password, user.password_hash if user is not None else None)
    if user is None:
        log.info("login_failed", reason="unknown_user")
        raise wrong
    if not valid or not user.active:
        await _record_failure(db, user.username, now)
        log.info("login_failed", username=user.username, reason="inactive" if valid else "wrong_password")
        raise wrong
    if not await _record_success(db, user.username, now):
        await db.refresh(user)
        raise _locked(user.locked_until, datetime.now(UTC)) or wrong
    minutes = svc.settings.token_minutes
    log.info("login", actor=user.username, role=user.role)
    return Token(access_token=issue_token(user.username, svc.settings.secret_key, minutes), expires_in=minutes * 60)


@router.get("/me", response_model=Me)
async def me(user: UserDep) -> Me:
    """The caller: username, role, department, stage, organisation."""
    return Me.model_validate(user, from_attributes=True)
