"""A light changes on an open page by itself: the project page asks for its lights every 5 s.

A stack of its own where a working day lasts WORKDAY_SECONDS: a 10-working-day step turns
yellow after 8 days (continuous counting on the compressed clock) and red after 10, so the
yellow light shows for 2 days, longer than the page's 5 s between two looks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, expect

from bench.demo import FIRST_STEP, Office
from bench.stack import Stack
from launch.processes import TemporalDevServer
from tests.browser.support import Site, live_stack, new_project, open_project

pytestmark = pytest.mark.asyncio(loop_scope="session")
WORKDAY_SECONDS = 4.0
REGION_CODE = "310106"  # 静安区: no other stack of the session uses it
YELLOW_AFTER_DAYS = 8
POLL_SECONDS = 5


@pytest.fixture(scope="module")
async def short_day(temporal_server: TemporalDevServer) -> AsyncIterator[Stack]:
    async with live_stack(temporal_server, WORKDAY_SECONDS, REGION_CODE) as stack:
        yield stack


async def test_a_step_light_turns_yellow_on_an_open_page(short_day: Stack, browser: Browser) -> None:
    site = Site(browser, short_day.api_url)
    code = await new_project(site, "宝山区滨江码头改造")
    async with Office(short_day.api_url) as office:
        await office.step("owner-a", code, FIRST_STEP, "submit", {})
    async with site.person("owner-a") as page:
        await open_project(page, code)
        light = page.locator(f'[id="light-{FIRST_STEP}"]')
        await expect(light).to_contain_text("绿灯")
        await page.evaluate("window.stayed = true")  # a reload would forget it
        # Yellow from day 8 on; the page sees it at its next look, a few seconds later at most.
        within = (YELLOW_AFTER_DAYS * WORKDAY_SECONDS + 2 * POLL_SECONDS) * 1000
        await expect(light).to_contain_text("黄灯", timeout=within)
        await expect(page.locator("#light-project")).to_contain_text("黄灯")
        assert await page.evaluate("window.stayed === true"), "the page was reloaded, not updated in place"
