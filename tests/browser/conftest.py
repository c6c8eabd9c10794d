"""The browser tests' stack: a real API process (uvicorn) and a worker process on a database of
their own and the session's Temporal server, and Debian's Chromium on the pages over loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser

from bench.browser import chromium
from bench.demo import Demo, Office, make_demo
from bench.stack import Stack
from launch.processes import TemporalDevServer
from tests.browser.support import Site, live_stack

# A working day of the main stack: long enough that no light changes during the session.
WORKDAY_SECONDS = 3600.0
REGION_CODE = "310105"  # 长宁区: no other stack of the session uses it


@pytest.fixture(scope="session")
async def live(temporal_server: TemporalDevServer) -> AsyncIterator[Stack]:
    async with live_stack(temporal_server, WORKDAY_SECONDS, REGION_CODE) as stack:
        yield stack


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as opened:
        yield opened


@pytest.fixture(scope="session")
async def site(browser: Browser, live: Stack) -> Site:
    return Site(browser, live.api_url)


@pytest.fixture(scope="session")
async def office(live: Stack) -> AsyncIterator[Office]:
    """The JSON API of the live stack, for what a test only sets up."""
    async with Office(live.api_url) as opened:
        yield opened


@pytest.fixture(scope="session")
async def demo(live: Stack) -> Demo:
    return await make_demo(live.api_url)
