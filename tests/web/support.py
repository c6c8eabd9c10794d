"""A browser-like client for the pages: cookies kept, the CSRF token read from each form."""

from __future__ import annotations

import re
from typing import Any

import httpx
from fastapi import FastAPI

from tests.api.support import every_route
from tests.conftest import Api

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """One person's browser on the pages, over the app's ASGI transport."""

    def __init__(self, api: Api) -> None:
        transport = api.client._transport  # the same app and lifespan as the session's API client
        self.client = httpx.AsyncClient(transport=transport, base_url="http://approvals.test", follow_redirects=False)
        self.csrf = ""

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        r = await self.client.get(path, **kwargs)
        found = CSRF.search(r.text)
        if found:
            self.csrf = found.group(1)
        return r

    async def post(self, path: str, data: dict[str, str], with_csrf: bool = True, **kwargs: Any) -> httpx.Response:
        form = {"csrf_token": self.csrf, **data} if with_csrf else data
        return await self.client.post(path, data=form, **kwargs)

    async def sign_in(self, username: str, password: str = "demo") -> None:
        await self.get("/login")
        r = await self.post("/login", {"username": username, "password": password})
        assert r.status_code == 303, r.text


async def signed_in(api: Api, username: str) -> Browser:
    browser = Browser(api)
    await browser.sign_in(username)
    return browser


def page_operations(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path template) the app serves as a page: its routes kept out of the API's
    schema, but for the API docs (Swagger UI's)."""
    return {
        (method, route.path)
        for route in every_route(app)
        if not route.include_in_schema and not route.path.startswith("/docs")
        for method in route.methods or ()
        if method != "HEAD"
    }
