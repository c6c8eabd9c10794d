"""A real browser on the pages: Debian's Chromium driven by Playwright, one context per person.

Shared by the browser tests (tests/browser/) and `make screenshots` (bench/screenshots.py). The
browser is the system's (`apt-get install chromium`, scripts/ensure-tools.sh), never one that
Playwright downloads.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from playwright.async_api import Browser, Page, async_playwright

CHROMIUM = Path("/usr/bin/chromium")
# Quiet and offline apart from the stack on loopback: no update checks, no first-run pages, no GPU.
FLAGS = ["--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"]
PHONE = 390
DESKTOP = 1280
HEIGHT = {PHONE: 844, DESKTOP: 800}
# A page of the service answers in well under a second; a step waiting on Temporal in a few.
ACTION_TIMEOUT_MS = 20_000
DEMO_PASSWORD = "demo"


def executable() -> str:
    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} is missing: run `bash scripts/ensure-tools.sh` (apt-get install chromium)")
    return str(CHROMIUM)


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """The system's Chromium, headless, for as long as the block runs."""
    flags = [*FLAGS, "--no-sandbox"] if os.geteuid() == 0 else FLAGS  # Chromium's sandbox refuses root
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable(), args=flags)
        try:
            yield browser
        finally:
            await browser.close()


@asynccontextmanager
async def person(
    browser: Browser, base_url: str, username: str | None, width: int = PHONE, password: str = DEMO_PASSWORD
) -> AsyncIterator[Page]:
    """A tab of a fresh browser profile in Chinese, `width` px wide, signed in as `username` (None: nobody)."""
    context = await browser.new_context(
        base_url=base_url, locale="zh-CN", viewport={"width": width, "height": HEIGHT.get(width, 800)}
    )
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    try:
        page = await context.new_page()
        if username is not None:
            await sign_in(page, username, password)
        yield page
    finally:
        await context.close()


async def sign_in(page: Page, username: str, password: str = DEMO_PASSWORD) -> None:
    """Through the login form, as a person does; returns once the browser has left it."""
    await page.goto("/login")
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码").fill(password)
    await page.get_by_role("button", name="登录").click()
    await page.wait_for_url(lambda url: "/login" not in url)
