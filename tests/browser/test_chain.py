"""A `general` project walked through its whole chain by clicking, in Chinese, as its people do:
the owner and its deputy apply, each department's reviewer decides on the same project page.

On the way: a written commitment (告知承诺) for the land pre-review, verified later by the
reviewer; a return for correction (first sent without the opinion it needs, which the page asks
for) and the resubmission; both phases of the construction permit; the survey and every joint
inspection (which open in review by themselves once the survey is approved); then the
completion filing, until the page says 已办结.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack

import pytest
from playwright.async_api import Locator, Page, expect

from bench.demo import Office
from tests.browser.support import Site, new_project, open_project, send, step, unfold

pytestmark = pytest.mark.asyncio(loop_scope="session")
Move = Callable[[Page, Locator], Awaitable[None]]


async def submit(page: Page, card: Locator) -> None:
    await card.get_by_label("给审批部门的说明").fill("材料已按清单上传")
    await send(page, card, "提交", "申请已提交。")


async def resubmit(page: Page, card: Locator) -> None:
    await expect(card.locator("p", has_text="退回理由")).to_contain_text("请补充项目建议书批复文件")
    await card.get_by_label("给审批部门的说明").fill("已补充批复文件")
    await send(page, card, "重新提交", "申请已提交。")


async def commit(page: Page, card: Locator) -> None:
    await unfold(card, "改为签署告知承诺书")
    await send(page, card, "签署承诺", "已签署告知承诺书，许可当场发放。")
    await expect(step(page, "land_prereview")).to_contain_text("告知承诺已发证")


async def approve(page: Page, card: Locator) -> None:
    await card.get_by_label("准予许可").check()
    await send(page, card, "提交审批决定", "审批决定已记录。")


async def return_for_correction(page: Page, card: Locator) -> None:
    """Return without an opinion first: the page keeps the choice, and its error leads to the field."""
    await card.get_by_label("退回补正").check()
    async with page.expect_navigation() as sent:
        await card.get_by_role("button", name="提交审批决定").click()
    assert (await sent.value).status == 422
    summary = page.locator(".error-summary")
    await expect(summary).to_contain_text("请填写意见，说明理由。")
    await summary.get_by_role("link").click()
    opinion = card.get_by_label("审批意见")
    await expect(opinion).to_be_focused()
    await expect(card.get_by_label("退回补正")).to_be_checked()
    await page.keyboard.type("请补充项目建议书批复文件")
    await send(page, card, "提交审批决定", "审批决定已记录。")


async def verify(page: Page, card: Locator) -> None:
    await card.get_by_label("承诺属实").check()
    await send(page, card, "提交核查结果", "核查结果已记录。")


async def inspect(page: Page, card: Locator) -> None:
    await card.get_by_label("验收通过").check()
    await send(page, card, "提交验收结果", "审批决定已记录。")


# Who does what, in an order the chain allows: "owner", "deputy", or a reviewer's department.
CHAIN: list[tuple[str, str, Move]] = [
    ("owner", "project_approval", submit),
    ("drc", "project_approval", return_for_correction),
    ("owner", "project_approval", resubmit),
    ("owner", "land_prereview", commit),
    ("drc", "project_approval", approve),
    ("nrp", "land_prereview", verify),
    ("owner", "land_use_permit", submit),
    ("nrp", "land_use_permit", approve),
    ("deputy", "design_review", submit),
    ("nrp", "design_review", approve),
    ("deputy", "planning_permit", submit),
    ("nrp", "planning_permit", approve),
    ("deputy", "construction_permit.1", submit),
    ("housing", "construction_permit.1", approve),
    ("owner", "construction_permit.2", submit),
    ("housing", "construction_permit.2", approve),
    ("owner", "survey", submit),
    ("survey", "survey", approve),
    ("nrp", "planning_check", inspect),
    ("fire", "fire_inspection", inspect),
    ("cad", "cad_inspection", inspect),
    ("archives", "archives_inspection", inspect),
    ("housing", "quality_inspection", inspect),
    ("deputy", "completion_filing", submit),
    ("housing", "completion_filing", approve),
]


async def test_a_general_project_walks_its_whole_chain_by_clicking(site: Site, office: Office) -> None:
    code = await new_project(site, "虹桥商务区会展配套酒店")
    deputy = (await office.call("office-1", "GET", f"/projects/{code}"))["agent"]
    users = {"owner": "owner-a", "deputy": deputy}
    async with AsyncExitStack() as people:
        pages: dict[str, Page] = {}
        for who, key, move in CHAIN:
            if who not in pages:
                username = users.get(who, f"reviewer-{who}")
                pages[who] = await people.enter_async_context(site.person(username))
            page = pages[who]
            await open_project(page, code)
            await move(page, step(page, key))
        owner = pages["owner"]
        await open_project(owner, code)
        await expect(owner.locator("dl.summary").first).to_contain_text("已办结")
        await expect(owner.locator("ol.events")).to_contain_text("项目办结")
