"""Who is using the pages: a session cookie holding the same signed token as the API's bearer
tokens (so the same cut-off applies), and a CSRF token for every form.

CSRF is a double submit: a random token in an HttpOnly, SameSite=Strict cookie, repeated in
every form as a hidden field (or by htmx in a header). A page on another site can make the
browser send the cookie, but cannot read it to fill the field.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import Depends, Request, Response
from sqlmodel.ext.asyncio.session import AsyncSession

from api.deps import Services, ServicesDep, SessionDep, user_for_token
from models.tables import UserRow
from settings import Settings

SESSION_COOKIE = "approvals_session"
CSRF_COOKIE = "approvals_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class LoginRequired(Exception):
    """No valid session: the page answers with a redirect to the login form."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class CsrfRefused(Exception):
    """A form came without the token this browser was given."""


def set_session(response: Response, token: str, settings: Settings) -> None:
    """Keep the signed token in an HttpOnly cookie for as long as it is valid."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.token_minutes * 60,
        httponly=True,
        samesite="lax",
        secure=settings.environment == "production",
    )


def end_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE)


async def session_user(request: Request, db: AsyncSession, svc: Services) -> UserRow | None:
    """The user of the session cookie, if it holds a token still valid."""
    token = request.cookies.get(SESSION_COOKIE)
    return await user_for_token(db, svc, token) if token else None


async def page_user(request: Request, svc: ServicesDep, db: SessionDep) -> UserRow:
    """The signed-in user; without one, the page redirects to the login form."""
    user = await session_user(request, db, svc)
    if user is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(path)
    return user


PageUser = Annotated[UserRow, Depends(page_user)]


def csrf_token(request: Request) -> str:
    """This browser's CSRF token: the cookie's, or a new one the response will set."""
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf", None)
    if token is None:
        token = secrets.token_urlsafe(32)
        request.state.new_csrf = token
    return token


def keep_csrf_cookie(request: Request, response: Response, settings: Settings) -> None:
    """Set the cookie when this response handed out a new token."""
    token = getattr(request.state, "new_csrf", None)
    if token is not None:
        response.set_cookie(
            CSRF_COOKIE, token, httponly=True, samesite="strict", secure=settings.environment == "production"
        )


async def csrf_checked(request: Request) -> None:
    """Refuse a form post whose token does not match this browser's cookie."""
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()
        field = form.get(CSRF_FIELD)
        sent = field if isinstance(field, str) else None
    check_csrf(request, sent)


def check_csrf(request: Request, field: str | None) -> None:
    """Refuse a post whose token (the header's, else the form's field) is not this browser's cookie's.
    For a form read by the route itself (an upload, whose body is read as it streams)."""
    expected = request.cookies.get(CSRF_COOKIE)
    sent = request.headers.get(CSRF_HEADER) or field
    if not expected or not sent or not hmac.compare_digest(expected, sent):
        raise CsrfRefused()


CsrfChecked = Depends(csrf_checked)
