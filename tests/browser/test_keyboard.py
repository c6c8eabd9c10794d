"""By keyboard alone: the skip link comes first and shows where focus is, and a person signs in
and sends a form without a mouse."""

from __future__ import annotations

import pytest
from playwright.async_api import Locator, Page, expect

from bench.demo import FIRST_STEP, Office
from tests.browser.support import Site, new_project, step

pytestmark = pytest.mark.asyncio(loop_scope="session")
# The focus ring of app.css: a yellow halo around a dark outline.
FOCUS_RING = "window.getComputedStyle(document.activeElement).boxShadow"


async def tab_to(page: Page, target: Locator, most: int = 40) -> None:
    """Press Tab until `target` has the focus (at most `most` times)."""
    for _ in range(most):
        if await target.evaluate("field => field === document.activeElement"):
            return
        await page.keyboard.press("Tab")
    raise AssertionError(f"{target} was not reached in {most} presses of Tab")


async def test_sign_in_and_submit_by_keyboard_alone(site: Site, office: Office) -> None:
    code = await new_project(site, "青浦区物流园区配套道路")
    async with site.person(None) as page:
        await page.goto(f"/p/{code}")  # without a session: the login form, then back here
        await page.keyboard.press("Tab")
        skip = page.get_by_role("link", name="跳到主要内容")
        await expect(skip).to_be_focused()
        await expect(skip).to_be_in_viewport()
        assert "255, 221, 0" in await page.evaluate(FOCUS_RING)
        await page.keyboard.press("Enter")
        await expect(page.locator("main")).to_be_focused()
        await page.keyboard.press("Tab")
        await expect(page.get_by_label("用户名")).to_be_focused()
        await page.keyboard.type("owner-a")
        await page.keyboard.press("Tab")
        await page.keyboard.type("demo")
        async with page.expect_navigation(url=f"**/p/{code}"):
            await page.keyboard.press("Enter")
        await tab_to(page, step(page, FIRST_STEP).get_by_label("给审批部门的说明"))
        await page.keyboard.type("材料已上传")
        await page.keyboard.press("Tab")  # the materials' file chooser comes next, then the button
        await expect(step(page, FIRST_STEP).get_by_label("申报材料")).to_be_focused()
        await page.keyboard.press("Tab")
        await expect(step(page, FIRST_STEP).get_by_role("button", name="提交", exact=True)).to_be_focused()
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        await expect(page.get_by_role("status")).to_contain_text("申请已提交。")
