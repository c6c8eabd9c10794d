"""Adds the pages to the app: static files, the routers, the local API docs, and error pages."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from web.errors import PageErrors
from web.labels import N_
from web.pages import login_redirect, page, refused_form
from web.routes import (
    auth,
    dashboard,
    documents,
    home,
    inbox,
    my_settings,
    notifications,
    office_calendar,
    office_catalog,
    office_users,
    project,
    projects,
    queue,
    statistics,
    steps,
)
from web.session import CsrfRefused, LoginRequired

STATIC = Path(__file__).with_name("static")
SWAGGER = "/static/vendor/swagger-ui"
# What an error page says, by status.
ERROR_PAGES = {
    401: (N_("Please sign in"), N_("Your session has ended. Sign in again to go on.")),
    403: (N_("Not allowed"), N_("You may see this, but not do this.")),
    404: (N_("Page not found"), N_("It does not exist, or you may not see it. Check the address or the project code.")),
    409: (N_("Not possible now"), N_("The project is not in a state that allows this any more. Reload the page.")),
    422: (N_("Check what you entered"), N_("Something in the request is not valid.")),
    429: (N_("Too many attempts"), N_("Wait a while and try again.")),
    503: (N_("Service busy"), N_("Part of the service does not answer right now. Try again in a moment.")),
}


def error_page(request: Request, status: int) -> HTMLResponse:
    title, message = ERROR_PAGES.get(status, (N_("Something went wrong"), N_("Try again in a moment.")))
    return page(request, "error.html", status, title=title, message=message)


def accessible_docs(html: str) -> str:
    """Swagger UI's page in English, with the colours it needs for WCAG AA contrast (api-docs.css)."""
    html = html.replace("<html>", '<html lang="en">', 1)
    return html.replace("</head>", '<link rel="stylesheet" href="/static/css/api-docs.css">\n</head>', 1)


def install_pages(app: FastAPI) -> None:
    """Mount everything the pages need on the API's app."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    # /p/new, /p/lookup and /p.csv before /p/{code}: the first route that matches answers.
    for module in (
        auth,
        home,
        projects,
        inbox,
        steps,
        project,
        documents,
        dashboard,
        queue,
        statistics,
        office_calendar,
        office_users,
        office_catalog,
        notifications,
        my_settings,
    ):
        app.include_router(module.router)
    app.add_middleware(PageErrors, render=error_page)

    @app.exception_handler(LoginRequired)
    async def _login(_: Request, exc: LoginRequired) -> Response:
        return login_redirect(exc)

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, exc: CsrfRefused) -> Response:
        return refused_form(request, exc)

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        swagger = get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Investment-project approvals · API",
            swagger_js_url=f"{SWAGGER}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER}/favicon-32x32.png",
            oauth2_redirect_url="/docs/oauth2-redirect",
            # A deep link is an anchor inside each operation's button: a control nested in a control.
            swagger_ui_parameters={"deepLinking": False},
        )
        return HTMLResponse(accessible_docs(bytes(swagger.body).decode()))

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    async def docs_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()
