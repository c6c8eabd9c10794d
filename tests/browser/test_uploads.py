"""The submission form's uploads with JavaScript (web/static/js/upload.js): each file sent ahead
with a progress bar, refused files named beside the field in Chinese, and the submission naming
the documents that were kept."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import FilePayload, expect

from bench.demo import FIRST_STEP, Office
from tests.browser.support import Site, new_project
from tests.support import samples

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_files_upload_ahead_with_progress_and_the_submission_names_them(site: Site, office: Office) -> None:
    code = await new_project(site, "浦东新区物流仓库扩建")
    async with site.person("owner-a") as page:
        await page.goto(f"/p/{code}/steps/{FIRST_STEP}")
        form = page.locator(f'form[action="/p/{code}/steps/{FIRST_STEP}/submit"]')
        field = form.get_by_label("申报材料")
        # Not an accepted kind: the reason beside the field, in Chinese, and nothing ticked.
        await field.set_input_files(FilePayload(name="说明.txt", mimeType="text/plain", buffer=b"just text"))
        await expect(form.locator(".error-message")).to_contain_text("说明.txt: 不接受此类文件")
        await expect(form.locator('input[name="documents"]')).to_have_count(0)
        # A PDF: a progress bar while it travels, then its ticked box; the file field empty again.
        await field.set_input_files(
            FilePayload(name="可行性研究报告.pdf", mimeType="application/pdf", buffer=samples.pdf())
        )
        box = form.get_by_role("checkbox", name="可行性研究报告.pdf")
        await expect(box).to_be_checked()
        await expect(form.locator(".error-message")).to_be_hidden()
        assert await field.input_value() == ""
        await form.get_by_label("给审批部门的说明（选填）").fill("材料齐全")
        await form.get_by_role("button", name="提交").click()
        await expect(page.locator(".banner")).to_be_visible()
        await expect(page.locator("#documents + .documents")).to_contain_text("可行性研究报告.pdf")
    events: Any = await office.call("owner-a", "GET", f"/projects/{code}/events")
    submitted = next(e for e in events if e["action"] == "submitted")
    assert [d["filename"] for d in submitted["detail"]["documents"]] == ["可行性研究报告.pdf"]
