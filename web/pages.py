"""What every page shares: the signed-in caller, the menu of its role, HTML error pages, and the
project a page acts on (the same visibility and gates as the API: 404 before 403)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlparse

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import Acting, CodePath, ServicesDep, SessionDep, actor_of, request_key
from api.notifications import unread_count
from api.queries import inbox_count, visible_project
from domain.access import require_role
from domain.codes import validate_project_code
from models.tables import UserRow
from web.labels import N_
from web.render import is_htmx, render
from web.session import CsrfRefused, LoginRequired, PageUser, csrf_checked


def page_router() -> APIRouter:
    """A router of pages: kept out of the API's OpenAPI schema, and its errors answered as pages."""
    return APIRouter(include_in_schema=False, dependencies=[Depends(mark_page)])


async def mark_page(request: Request) -> None:
    request.state.page = True


async def signed_in(request: Request, user: PageUser, db: SessionDep) -> UserRow:
    """The caller of a page, remembered for the layout with the count of its to-do list and of its
    unread notifications (the bell)."""
    request.state.user = user
    if request.method == "GET" and not is_htmx(request):
        request.state.unread = await unread_count(db, user.username)
        if any(h == TODO_PAGE for h, _ in MENUS.get(user.role, [])):
            request.state.todo_count = await inbox_count(db, actor_of(user))
    return user


Caller = Annotated[UserRow, Depends(signed_in)]
FormChecked = Depends(csrf_checked)


@dataclass
class MenuItem:
    href: str
    label: str
    current: bool = False
    count: int | None = None
    count_url: str = ""


# The menu entry of the to-do list shows how many tasks wait; htmx refreshes the count from TODO_COUNT.
TODO_PAGE, TODO_COUNT = "/inbox", "/inbox/count"
# The menu of each role: where its work is.
MENUS: dict[str, list[tuple[str, str]]] = {
    "owner": [
        ("/p", N_("My projects")),
        ("/p/new", N_("New project")),
        ("/inbox", N_("To do")),
        ("/p/lookup", N_("Find a project")),
    ],
    "agent": [
        ("/p", N_("My projects")),
        ("/inbox", N_("To do")),
        ("/p/new", N_("New project")),
        ("/p/lookup", N_("Find a project")),
    ],
    "reviewer": [("/inbox", N_("Department inbox")), ("/p", N_("Projects")), ("/p/lookup", N_("Find a project"))],
    "section_chief": [
        ("/", N_("Dashboard")),
        ("/queue", N_("Problems")),
        ("/inbox", N_("To do")),
        ("/statistics", N_("Statistics")),
        ("/p", N_("Projects")),
    ],
    "leader": [
        ("/", N_("Dashboard")),
        ("/queue", N_("Problems")),
        ("/inbox", N_("To do")),
        ("/statistics", N_("Statistics")),
        ("/p", N_("Projects")),
    ],
    "office": [
        ("/", N_("Dashboard")),
        ("/queue", N_("Problems")),
        ("/inbox", N_("To do")),
        ("/statistics", N_("Statistics")),
        ("/p", N_("Projects")),
        ("/office/calendar", N_("Working-day calendar")),
        ("/office/users", N_("Users")),
        ("/office/catalog", N_("Catalog")),
    ],
}


def menu(request: Request, user: UserRow) -> list[MenuItem]:
    """The caller's menu, the current page marked."""
    path = request.url.path
    count = getattr(request.state, "todo_count", None)
    items = [MenuItem(href, label, current=href == path) for href, label in MENUS.get(user.role, [])]
    for item in items:
        if item.href == TODO_PAGE and count is not None:
            item.count, item.count_url = count, TODO_COUNT
    return items


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A full page with the caller's menu."""
    user = getattr(request.state, "user", None)
    return render(request, template, status_code, menu=menu(request, user) if user else [], **context)


async def acting_on(code: str, user: UserRow, db: Any, action: str, key: str | None = None) -> Acting:
    """The project a page acts on: 404 unless visible, then the role gate (403)."""
    code = validate_project_code(code)
    actor = actor_of(user)
    await visible_project(db, actor, code)
    require_role(actor, action)
    return Acting(code=code, actor=actor, request_key=request_key(user, key))


async def visible_code(code: CodePath, user: Caller, db: SessionDep) -> str:
    """The code of a project the caller may see (a 404 page otherwise)."""
    code = validate_project_code(code)
    await visible_project(db, actor_of(user), code)
    return code


VisibleCode = Annotated[str, Depends(visible_code)]


def page_code(code: CodePath) -> str:
    """A well-formed project code, for a page whose own read of the project answers 404 when the
    caller may not see it (the same page as `VisibleCode`'s, one query fewer)."""
    return validate_project_code(code)


PageCode = Annotated[str, Depends(page_code)]


def see_other(url: str) -> RedirectResponse:
    """After a form post: go to the page that shows the result (303, so a reload does not post again)."""
    return RedirectResponse(url, status_code=303)


def local_path(target: str) -> str:
    """A path of this site (never another host), or empty: where a form may send the caller back."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target or urlparse(target).netloc:
        return ""
    return target


def login_redirect(exc: LoginRequired) -> Response:
    from urllib.parse import quote

    return RedirectResponse(f"/login?next={quote(exc.next_path)}", status_code=303)


def refused_form(request: Request, exc: CsrfRefused) -> HTMLResponse:
    message = N_("This form has expired or did not come from this site. Go back, reload the page and try again.")
    return page(request, "error.html", 403, title=N_("The form was refused"), message=message)


__all__ = ["Caller", "FormChecked", "ServicesDep", "SessionDep", "VisibleCode", "page", "page_router", "see_other"]
