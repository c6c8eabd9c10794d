"""What the browser tests do on the pages, in the words a person reads on them (Chinese)."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

from playwright.async_api import Browser, Locator, Page, Response, expect

from bench.browser import PHONE, person
from bench.stack import Stack, open_stack
from launch.processes import TemporalDevServer


@asynccontextmanager
async def live_stack(
    temporal_server: TemporalDevServer, workday_seconds: float, region_code: str
) -> AsyncIterator[Stack]:
    """API and worker processes where a working day lasts `workday_seconds`, on the session's
    Temporal server and a database of their own (PostgreSQL when the tests use it, else SQLite).

    A region code of its own keeps its project codes (the workflow ids) apart from every other
    stack's on that server.
    """
    database = os.environ.get("APPROVALS_TEST_DATABASE_URL") or "sqlite"
    async with open_stack(workday_seconds, database=database, temporal=temporal_server, region_code=region_code) as s:
        yield s


@dataclass(frozen=True)
class Site:
    """The live stack's pages in the session's browser."""

    browser: Browser
    base_url: str

    def person(self, username: str | None, width: int = PHONE) -> AbstractAsyncContextManager[Page]:
        """A fresh browser profile signed in as `username` (None: nobody), `width` px wide."""
        return person(self.browser, self.base_url, username, width)


async def new_project(site: Site, name: str, owner: str = "owner-a") -> str:
    """A new `general` project of `owner`'s, created on the new-project page by clicking; its code."""
    async with site.person(owner) as page:
        await page.goto("/p/new")
        await page.get_by_label("类别").select_option("general")
        await page.get_by_label("项目名称").fill(name)
        await page.get_by_label("总投资（万元）").fill("12000")
        async with page.expect_navigation():
            await page.get_by_role("button", name="创建项目", exact=True).click()
        await expect(page.get_by_role("status")).to_contain_text("项目已创建")
        found = re.search(r"/p/([0-9X-]{24})", page.url)
        assert found, page.url
        return found.group(1)


def step(page: Page, key: str) -> Locator:
    """A step's card on the project page."""
    return page.locator(f'article.step[id="{key}"]')


async def open_project(page: Page, code: str) -> Response:
    """Go to the project page (again: what others did since shows)."""
    response = await page.goto(f"/p/{code}")
    assert response is not None and response.ok, f"/p/{code}: {response.status if response else 'no answer'}"
    return response


async def send(page: Page, form: Locator, button: str, done: str) -> None:
    """Press a form's button; the page that follows must say `done` in its banner."""
    async with page.expect_navigation():
        await form.get_by_role("button", name=button, exact=True).click()
    await expect(page.get_by_role("status")).to_contain_text(done)


async def unfold(form: Locator, summary: str) -> None:
    """Open a folded form by its summary (a `details` element), if it is not open yet."""
    details = form.locator("details", has=form.page.locator("summary", has_text=summary))
    if await details.get_attribute("open") is None:
        await details.locator("summary").click()


async def open_every_fold(page: Page) -> None:
    """Unfold every `details` of the page, so that scans see every form."""
    await page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
