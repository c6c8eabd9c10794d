"""The project page's other forms and refusals, clicked in Chinese: a rating, a problem raised by
the owner and resolved by the leader, another enterprise's 404 page, a form without its CSRF token."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from bench.demo import FIRST_STEP, Demo, Office
from tests.browser.support import Site, new_project, open_project, send, step, unfold

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_the_owner_rates_an_approved_step(site: Site, office: Office) -> None:
    code = await new_project(site, "闵行区小学新建教学楼")
    await office.step("owner-a", code, FIRST_STEP, "submit", {})
    await office.step("reviewer-drc", code, FIRST_STEP, "decision", {"outcome": "approve"})
    async with site.person("owner-a") as page:
        await open_project(page, code)
        card = step(page, FIRST_STEP)
        await unfold(card, "评价该环节")
        await card.get_by_label("★★★★ 4", exact=True).check()
        await card.get_by_label("留言").fill("审批人员解释清楚，办理及时")
        await send(page, card, "提交评价", "感谢您的评价。")
        await expect(step(page, FIRST_STEP)).to_contain_text("★★★★ (4/5)")
        await expect(step(page, FIRST_STEP).get_by_text("评价该环节")).to_have_count(0)  # rated once


async def test_the_owner_raises_a_problem_and_the_leader_resolves_it(site: Site, office: Office) -> None:
    code = await new_project(site, "松江区污水处理厂提标改造")
    async with site.person("owner-a") as owner:
        await open_project(owner, code)
        actions = owner.locator(".project-actions")
        await unfold(actions, "提出协调问题")
        await actions.get_by_label("遇到了什么问题？").fill("电力接入方案需供电公司与住建委会商")
        await send(owner, actions, "提出问题", "协调问题已提出。")
        problem = owner.locator("li.card", has_text="电力接入方案")
        await expect(problem).to_contain_text("一级 · 代办员")
        await expect(owner.locator("#light-project")).to_contain_text("黄灯")
    async with site.person("leader-1") as leader:  # from the leader's problem queue
        await leader.goto("/queue")
        problem = leader.locator("li.card", has_text="电力接入方案")
        await unfold(problem, "解决")
        await problem.get_by_label("解决情况").fill("已协调供电公司提前接入")
        await send(leader, problem, "办结问题", "问题已解决。")
        assert "/queue" in leader.url  # back on the queue, which no longer lists it
        await expect(leader.locator("li.card", has_text="电力接入方案")).to_have_count(0)
        await open_project(leader, code)
        await expect(leader.locator("ol.events")).to_contain_text("已协调供电公司提前接入")
        await expect(leader.locator("#light-project")).to_contain_text("绿灯")


async def test_another_enterprise_gets_the_not_found_page(site: Site, demo: Demo) -> None:
    async with site.person("owner-b") as page:
        response = await page.goto(f"/p/{demo.in_review}")
        assert response is not None and response.status == 404
        await expect(page.get_by_role("heading", level=1)).to_have_text("找不到页面")
        await expect(page.locator("main")).not_to_contain_text(demo.in_review)


async def test_a_form_without_its_csrf_token_is_refused(site: Site, office: Office) -> None:
    code = await new_project(site, "嘉定区汽车研发中心")
    async with site.person("owner-a") as page:
        await open_project(page, code)
        card = step(page, FIRST_STEP)
        await card.locator("input[name=csrf_token]").evaluate("field => field.remove()")
        async with page.expect_navigation() as sent:
            await card.get_by_role("button", name="提交", exact=True).click()
        assert (await sent.value).status == 403
        await expect(page.get_by_role("heading", level=1)).to_have_text("表单被拒绝")
        await open_project(page, code)
        await expect(step(page, FIRST_STEP)).to_contain_text("待申报")  # nothing was submitted
