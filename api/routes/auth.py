"""Login and the caller's own identity."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm

from api.deps import ServicesDep, SessionDep, UserDep
from api.errors import refusals
from api.login import sign_in
from api.schemas import Me, NoticeSettings, Token
from api.users import change_notice_settings

router = APIRouter(tags=["auth"])


@router.post("/auth/token", response_model=Token, responses=refusals("invalid_credentials", "account_locked"))
async def login(form: Annotated[OAuth2PasswordRequestForm, Depends()], svc: ServicesDep, db: SessionDep) -> Token:
    """OAuth2 password login: a bearer token for a valid username and password."""
    _, token = await sign_in(db, svc.settings, form.username, form.password)
    return Token(access_token=token, expires_in=svc.settings.token_minutes * 60)


@router.get("/me", response_model=Me)
async def me(user: UserDep) -> Me:
    """The caller: username, role, department, stage, organisation, and how notices reach them."""
    return Me.model_validate(user, from_attributes=True)


@router.patch("/me/notifications", response_model=Me)
async def change_notices(body: NoticeSettings, user: UserDep, db: SessionDep) -> Me:
    """Turn mailed or gateway notices on or off, choose their language, set or remove (empty) the
    e-mail address and the mobile number. The in-app notifications always stay."""
    return await change_notice_settings(db, user, body)
