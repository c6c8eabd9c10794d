"""Rendering pages: one Jinja2 environment, the caller's language, its CSRF token, and htmx partials."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from web import filters
from web.i18n import COOKIE, Language, language, negotiate
from web.session import CSRF_FIELD, csrf_token, keep_csrf_cookie

TEMPLATES = Path(__file__).with_name("templates")

environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.filters.update(filters.FILTERS)
environment.globals.update(filters.GLOBALS)


def caller_language(request: Request) -> Language:
    """The language of this request's caller (switch cookie, else the browser's)."""
    return language(negotiate(request.cookies.get(COOKIE), request.headers.get("accept-language")))


def is_htmx(request: Request) -> bool:
    """Whether htmx asked for a part of the page rather than the whole page."""
    return request.headers.get("hx-request") == "true"


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """The page (or partial) `template` in the caller's language."""
    lang = caller_language(request)
    settings = request.app.state.services.settings
    values = {
        "request": request,
        "lang": lang,
        "_": lang.gettext,
        "gettext": lang.gettext,
        "ngettext": lang.ngettext,
        "csrf_field": CSRF_FIELD,
        "csrf_token": csrf_token(request),
        "tz": settings.timezone,
        "user": getattr(request.state, "user", None),
        "unread": getattr(request.state, "unread", None),  # the bell's count (web/pages.py)
        "flash": None,
        "errors": {},
        **context,
    }
    html = environment.get_template(template).render(values)
    response = HTMLResponse(html, status_code=status_code)
    response.headers["Content-Language"] = lang.tag
    response.headers["Cache-Control"] = "no-store"
    keep_csrf_cookie(request, response, settings)
    return response
