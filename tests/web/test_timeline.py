"""The project page's timeline: its latest records, a link to the whole of it, and the reason a step
was returned even when the return is older than what the page shows."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.chain import create
from tests.conftest import Api
from tests.web.support import signed_in
from web.routes.project import TIMELINE_LATEST

pytestmark = pytest.mark.asyncio(loop_scope="session")

STEP = "project_approval"
ROW = re.compile(r"<li><span class=\"muted nowrap\">")


def timeline_rows(html: str) -> int:
    """The rows of the page's timeline (the project page's, or a step page's, which is its last list)."""
    return len(ROW.findall(html.split('id="timeline"', 1)[1] if 'id="timeline"' in html else html))


async def events(api: Api, code: str) -> list[dict[str, Any]]:
    r = await api.get(f"/projects/{code}/events", "owner-a")
    assert r.status_code == 200, r.text
    return list(r.json())


async def event_count(api: Api, code: str) -> int:
    return len(await events(api, code))


async def test_the_page_shows_the_latest_records_and_links_to_all_of_them(api: Api) -> None:
    code = (await create(api))["code"]
    r = await api.post(f"/projects/{code}/steps/{STEP}/submit", "owner-a", json={})
    assert r.status_code == 200, r.text
    body = {"outcome": "return", "comment": "请补充项目建议书的投资估算明细"}
    r = await api.post(f"/projects/{code}/steps/{STEP}/decision", "reviewer-drc", json=body)
    assert r.status_code == 200, r.text
    # Problems raised since bury the return under more records than the page shows.
    n = 0
    while (total := await event_count(api, code)) <= TIMELINE_LATEST + 2:
        n += 1
        r = await api.post(f"/projects/{code}/problems", "owner-a", json={"summary": f"协调事项 {n}"})
        assert r.status_code == 201, r.text
    owner = await signed_in(api, "owner-a")

    page = (await owner.get(f"/p/{code}")).text
    assert timeline_rows(page) == TIMELINE_LATEST
    assert f"共 {total} 条记录，这里是最近的 {TIMELINE_LATEST} 条。" in page
    assert f'href="/p/{code}?timeline=all#timeline"' in page
    assert page.count("查看全部办理记录") == 2  # above the list and where it ends
    assert "项目创建" not in page.split('id="timeline"', 1)[1]  # the first record is older than those shown
    assert "退回理由" in page and "请补充项目建议书的投资估算明细" in page  # the step's reason all the same

    step_page = (await owner.get(f"/p/{code}/steps/{STEP}")).text  # the step's own records, all of them
    assert timeline_rows(step_page) == len([e for e in await events(api, code) if e["step"] == STEP]) > 2
    assert "请补充项目建议书的投资估算明细" in step_page

    whole = (await owner.get(f"/p/{code}?timeline=all")).text
    assert timeline_rows(whole) == total and "项目创建" in whole.split('id="timeline"', 1)[1]
    assert "timeline=all" not in whole and "这里是最近的" not in whole


async def test_a_short_timeline_is_shown_whole_without_a_link(api: Api) -> None:
    code = (await create(api))["code"]
    page = (await (await signed_in(api, "owner-a")).get(f"/p/{code}")).text
    assert timeline_rows(page) == await event_count(api, code) > 0
    assert "timeline=all" not in page
