"""Signing in and out of the pages, and the language switch."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlparse

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response

from api.deps import ServicesDep, SessionDep
from api.errors import ApiError
from api.login import sign_in
from web.i18n import COOKIE, LANGUAGES
from web.labels import N_
from web.pages import FormChecked, page, page_router, see_other
from web.session import end_session, session_user, set_session

router = page_router()


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this site only, never another host."""
    if not target:
        return "/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@router.get("/login")
async def login_form(request: Request, svc: ServicesDep, db: SessionDep, next: str | None = None) -> Response:
    if await session_user(request, db, svc) is not None:
        return see_other(safe_next(next))
    return page(request, "login.html", title=N_("Sign in"), next=safe_next(next), errors={}, username="")


@router.post("/login", dependencies=[FormChecked])
async def login(
    request: Request,
    svc: ServicesDep,
    db: SessionDep,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    try:
        _, token = await sign_in(db, svc.settings, username.strip(), password)
    except ApiError as err:
        message = (
            N_("Too many failed attempts: this account is locked for a while. Try again later.")
            if err.status == 429
            else N_("The username or the password is wrong.")
        )
        context = {"title": N_("Sign in"), "next": safe_next(next), "username": username}
        return page(request, "login.html", err.status, errors={"username": message}, **context)
    response = see_other(safe_next(next))
    set_session(response, token, svc.settings)
    return response


@router.post("/logout", dependencies=[FormChecked])
async def logout() -> Response:
    response = see_other("/login")
    end_session(response)
    return response


@router.get("/lang/{tag}")
async def switch_language(tag: str, svc: ServicesDep, next: str | None = None) -> Response:
    """Remember the language chosen, then go back to the page."""
    response: Response = RedirectResponse(safe_next(next), status_code=303)
    if tag in LANGUAGES:
        secure = svc.settings.environment == "production"
        response.set_cookie(COOKIE, tag, max_age=365 * 24 * 3600, samesite="lax", secure=secure)
    return response
