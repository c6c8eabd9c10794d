"""The pages of enterprises, deputies and reviewers: project lists, a new project, the code card,
finding a project by its code, the to-do list and the step page, for each role that may see
them and as the 403/404 pages for the others."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import uuid
from collections.abc import AsyncIterator
from html import unescape
from typing import Any

import pytest
import segno
from temporalio.client import Client

from api.main import create_app
from domain.bilingual import split_bilingual
from domain.codes import make_project_code
from launch.processes import TemporalDevServer
from models.seed import ORG_A
from tests.chain import create
from tests.conftest import Api, eventually, make_settings, open_api
from tests.support import samples
from tests.web.support import Browser, signed_in
from worker import build_worker

pytestmark = pytest.mark.asyncio(loop_scope="session")
PUBLIC_URL = "https://approvals.district.gov.cn"
# On the second stack a working day lasts half a second: a 5-day step is overdue within seconds.
FAST_WORKDAY = 0.5


@pytest.fixture(scope="module")
async def fast(database_url: str, temporal_server: TemporalDevServer, temporal_client: Client) -> AsyncIterator[Api]:
    """A stack of its own with short working days and a public address for the code cards."""
    settings = make_settings(database_url, temporal_server.address, workday_seconds=FAST_WORKDAY, public_url=PUBLIC_URL)
    async with build_worker(temporal_client, settings):
        async for api in open_api(create_app(settings)):
            yield api


async def inbox_pages(browser: Browser) -> str:
    """Every page of the caller's to-do list, one after another, following each page's next link."""
    text, url = "", "/inbox"
    for _ in range(500):
        r = await browser.get(url)
        assert r.status_code == 200, r.text
        text += r.text
        following = re.search(r'href="(/inbox\?cursor=[^"]+)"', r.text)
        if following is None:
            return text
        url = unescape(following.group(1))
    raise AssertionError("the to-do list did not end within 500 pages")


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


async def by_deputy(api: Api, name: str) -> str:
    """A project of owner-a's enterprise created by agent-1, who is then its deputy (other tests add
    agents the creation of an owner's project could be given to)."""
    body = {"name": name, "category": "general", "owner_credit_code": ORG_A, "investment_wan": 800.0}
    r = await api.post("/projects", "agent-1", json=body)
    assert r.status_code == 201 and r.json()["agent"] == "agent-1", r.text
    code: str = r.json()["code"]
    return code


async def submit(api: Api, code: str, as_user: str = "owner-a", step: str = "project_approval", **body: Any) -> None:
    r = await api.post(f"/projects/{code}/steps/{step}/submit", as_user, json=body)
    assert r.status_code == 200, r.text


async def uploaded(api: Api, code: str, name: str) -> str:
    """A document of the owner's, uploaded through the API; its id."""
    r = await api.call("POST", f"/projects/{code}/documents", "owner-a", files={"file": (name, samples.pdf())})
    assert r.status_code == 201, r.text
    document: str = r.json()["id"]
    return document


def text_of(html: str) -> str:
    """The page's text without tags, for phrases that span markup."""
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def rows_of(response: Any) -> list[list[str]]:
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


# ---- the list of projects --------------------------------------------------------------------


async def test_each_role_lists_the_projects_it_may_see(api: Api) -> None:
    name = unique("列表项目")
    code = await by_deputy(api, name)
    expected = {
        "owner-a": ("我的项目", True),
        "agent-1": ("我代办的项目", True),
        "agent-2": ("我代办的项目", False),
        "reviewer-drc": ("项目", True),  # the first step is the DRC's: the project reached it
        "office-1": ("项目", True),
        "owner-b": ("我的项目", False),
        "reviewer-fire": ("项目", False),
    }
    for username, (title, sees) in expected.items():
        browser = await signed_in(api, username)
        r = await browser.get(f"/p?q={name}")
        assert r.status_code == 200 and f"<h1>{title}</h1>" in r.text, username
        assert (code in r.text) is sees, username
    owner = await signed_in(api, "owner-a")
    page = text_of((await owner.get(f"/p?q={name}")).text)
    assert "绿灯" in page and "一般项目（全流程）" in page and "立项用地规划许可" in page and "办理中" in page


async def test_the_list_filters_pages_and_refuses_a_value_no_option_offers(api: Api) -> None:
    name = unique("筛选项目")
    first = (await create(api, name=f"{name} 甲"))["code"]
    second = (await create(api, name=f"{name} 乙", category="photovoltaic"))["code"]
    owner = await signed_in(api, "owner-a")
    only_pv = (await owner.get(f"/p?q={name}&category=photovoltaic")).text
    assert second in only_pv and first not in only_pv
    assert first in (await owner.get(f"/p?q={first}")).text  # the search box takes a code too
    after_first = (await owner.get(f"/p?q={name}&cursor={first}")).text
    assert second in after_first and first not in after_first and "第一页" in after_first
    assert first not in (await owner.get(f"/p?q={name}&colour=red")).text
    r = await owner.get("/p?colour=purple")
    assert r.status_code == 422 and "请检查填写内容" in r.text


async def test_the_list_downloads_as_csv_with_the_same_filters(api: Api) -> None:
    name = unique("导出项目")
    code = (await create(api, name=name))["code"]
    other = (await create(api, name=unique("不导出")))["code"]
    owner = await signed_in(api, "owner-a")
    r = await owner.get(f"/p.csv?q={name}")
    assert r.content.startswith("\ufeff".encode())  # spreadsheets read UTF-8 after a BOM
    header, *rows = rows_of(r)
    assert header[:3] == ["项目码", "名称", "亮灯"] and "统一社会信用代码" in header
    assert [row[0] for row in rows] == [code] and other not in r.text
    assert rows[0][2:6] == ["绿灯", "一般项目（全流程）", "立项用地规划许可", "办理中"]
    assert rows[0][6] == "上海甲建设有限公司" and rows[0][7] == ORG_A


# ---- a new project ---------------------------------------------------------------------------


async def test_only_enterprises_and_deputies_get_the_new_project_form(api: Api) -> None:
    owner = await signed_in(api, "owner-a")
    r = await owner.get("/p/new")
    assert r.status_code == 200 and "一般项目（全流程）" in r.text and ORG_A in r.text
    assert 'name="owner_credit_code"' not in r.text  # an owner's own code, shown read-only
    assert re.search(r'name="idempotency_key" value="[0-9a-f-]{36}"', r.text)
    assert "改扩建项目" in text_of(r.text)  # the categories that have a phased permit are named
    agent = await signed_in(api, "agent-1")
    r = await agent.get("/p/new")
    assert r.status_code == 200 and 'name="owner_credit_code"' in r.text and "代表项目单位办理" in r.text
    for username in ("reviewer-drc", "office-1"):
        r = await (await signed_in(api, username)).get("/p/new")
        assert r.status_code == 403 and "无权操作" in r.text


def new_project(name: str, key: str, **more: str) -> dict[str, str]:
    return {"category": "general", "name": name, "investment_wan": "1,200.5", "idempotency_key": key, **more}


async def test_an_owner_creates_a_project_through_the_form(api: Api) -> None:
    owner = await signed_in(api, "owner-a")
    await owner.get("/p/new")
    name = unique("表单新建")
    form = new_project(name, str(uuid.uuid4()), key_project="true", phases="地下室\n主体结构\n", sections="一期")
    r = await owner.post("/p/new", form)
    assert r.status_code == 303 and r.headers["location"].endswith("?done=created"), r.text
    code = r.headers["location"].split("/")[2].split("?")[0]
    shown = (await api.get(f"/projects/{code}", "owner-a")).json()
    assert shown["name"] == name and shown["investment_wan"] == 1200.5 and shown["key_project"] is True
    keys = [s["key"] for stage in shown["stages"] for s in stage["steps"]]
    assert "construction_permit.1" in keys and "construction_permit.2" in keys
    page = text_of((await owner.get(r.headers["location"])).text)
    assert "项目已创建" in page and "一般项目（全流程）" in page and "上海甲建设有限公司" in page
    users = {u["username"]: u for u in (await api.get("/users", "office-1")).json()}
    named = users[shown["agent"]]["display_name"]
    deputy = split_bilingual(named).zh if named else shown["agent"]  # its Chinese name where it has one
    assert f"代办员 {deputy}" in page


async def test_a_refused_form_says_why_in_the_summary_and_creates_nothing(api: Api) -> None:
    owner = await signed_in(api, "owner-a")
    await owner.get("/p/new")
    name = unique("不可分期")
    r = await owner.post("/p/new", new_project(name, str(uuid.uuid4()), category="photovoltaic", phases="一期"))
    assert r.status_code == 422 and 'class="error-summary"' in r.text
    assert '<a href="#phases">该类别没有分阶段施工许可，此项请留空。</a>' in r.text
    assert f'value="{name}"' in r.text  # what was typed stays
    r = await owner.post("/p/new", new_project(unique("无投资"), str(uuid.uuid4()), investment_wan="很多"))
    assert r.status_code == 422 and '<a href="#investment_wan">请以万元为单位填写数字' in r.text
    agent = await signed_in(api, "agent-1")
    await agent.get("/p/new")
    wrong = ORG_A[:17] + ("0" if ORG_A[17] != "0" else "1")
    r = await agent.post("/p/new", new_project(unique("错码"), str(uuid.uuid4()), owner_credit_code=wrong))
    assert r.status_code == 422 and "最后一位校验码与前面各位不符" in r.text
    r = await agent.post("/p/new", new_project(unique("乱码"), str(uuid.uuid4()), owner_credit_code="123"))
    assert r.status_code == 422 and "统一社会信用代码为 18 位" in r.text
    listed = (await api.get(f"/projects?q={name}", "office-1")).json()["items"]
    assert listed == []


async def test_the_same_form_sent_twice_creates_one_project(api: Api) -> None:
    owner = await signed_in(api, "owner-a")
    await owner.get("/p/new")
    name = unique("双击")
    form = new_project(name, str(uuid.uuid4()))
    first, second = await asyncio.gather(owner.post("/p/new", form), owner.post("/p/new", form))
    assert first.status_code == second.status_code == 303, (first.text, second.text)
    assert first.headers["location"] == second.headers["location"]
    again = await owner.post("/p/new", form)  # a reload of the same form later
    assert again.headers["location"] == first.headers["location"]
    listed = (await api.get(f"/projects?q={name}", "office-1")).json()["items"]
    assert len(listed) == 1


# ---- the code card and finding a project -----------------------------------------------------


def qr_path(svg: str) -> str:
    found = re.search(r'<svg[^>]*class="qr"[^>]*>.*?<path[^>]*class="qrline"[^>]* d="([^"]+)"', svg, re.S)
    assert found, "no QR code on the page"
    return found.group(1)


def segno_path(url: str) -> str:
    return qr_path(segno.make(url, error="m").svg_inline(svgclass="qr"))


async def test_the_code_card_holds_a_qr_code_of_the_project_page(api: Api, fast: Api) -> None:
    code = (await create(api))["code"]
    owner = await signed_in(api, "owner-a")
    r = await owner.get(f"/p/{code}/card")
    assert r.status_code == 200 and f'class="code-card__code">{code}<' in r.text
    assert "上海甲建设有限公司" in r.text and "一般项目（全流程）" in r.text
    assert qr_path(r.text) == segno_path(f"http://approvals.test/p/{code}")  # no public address: the request's
    assert qr_path(r.text) != segno_path(f"http://approvals.test/p/{code}x")  # the comparison can fail
    card = await (await signed_in(fast, "owner-a")).get(f"/p/{code}/card")
    assert qr_path(card.text) == segno_path(f"{PUBLIC_URL}/p/{code}") and f"{PUBLIC_URL}/p/{code}" in card.text
    reviewer = await signed_in(api, "reviewer-drc")
    assert (await reviewer.get(f"/p/{code}/card")).status_code == 200
    stranger = await signed_in(api, "owner-b")
    r = await stranger.get(f"/p/{code}/card")
    assert r.status_code == 404 and "找不到" in r.text


async def test_lookup_opens_a_visible_project_and_says_what_is_wrong_with_a_code(api: Api) -> None:
    code = (await create(api))["code"]
    owner = await signed_in(api, "owner-a")
    assert (await owner.get("/p/lookup")).status_code == 200
    for typed in (code, code.lower(), f" {code} ", f"{PUBLIC_URL}/p/{code}", f"http://approvals.test/p/{code}/"):
        r = await owner.get("/p/lookup", params={"code": typed})
        assert r.status_code == 303 and r.headers["location"] == f"/p/{code}", typed
    wrong = code[:23] + ("0" if code[23] != "0" else "1")
    r = await owner.get("/p/lookup", params={"code": wrong})
    assert r.status_code == 422 and "最后一位校验码与前面各位不符" in r.text and f'value="{wrong}"' in r.text
    r = await owner.get("/p/lookup", params={"code": "2026-3101"})
    assert r.status_code == 422 and "项目码共 24 位" in r.text
    r = await owner.get("/p/lookup", params={"code": ""})
    assert r.status_code == 422 and "请输入项目码" in r.text
    hidden = await (await signed_in(api, "owner-b")).get("/p/lookup", params={"code": code})
    unknown = await owner.get("/p/lookup", params={"code": make_project_code(2020, "310115", "01", "01", 99999)})
    assert hidden.status_code == unknown.status_code == 404  # the same answer: no hint the project exists
    assert "找不到" in hidden.text and code not in hidden.text


# ---- the to-do list --------------------------------------------------------------------------


async def test_the_department_inbox_lists_the_soonest_deadline_first(api: Api) -> None:
    first = (await create(api, name=unique("先提交")))["code"]
    second = (await create(api, name=unique("后提交")))["code"]
    await submit(api, first, note="材料齐全")
    await submit(api, second)
    reviewer = await signed_in(api, "reviewer-drc")
    r = await reviewer.get("/inbox")
    assert r.status_code == 200 and "<h1>部门待办</h1>" in r.text
    pages = await inbox_pages(reviewer)  # the shared database holds other tests' tasks: page on
    assert pages.index(first) < pages.index(second)
    assert f'href="/p/{first}/steps/project_approval"' in pages and "审查并作出决定" in pages
    assert "项目审批（核准、备案）" in pages and "剩 " in pages  # the step's Chinese name, working days left
    tasks = await api.every("/tasks", "reviewer-drc")
    mine = [t for t in tasks if t["project_code"] == first]
    assert mine[0]["todo"] == "decide" and mine[0]["summary"].endswith("decide")  # the API keeps its summary
    count = await reviewer.get("/inbox/count", headers={"HX-Request": "true"})
    assert count.status_code == 200 and f">{len(tasks)}</span>" in count.text and 'hx-trigger="every 15s"' in count.text
    assert 'hx-get="/inbox/count"' in r.text  # the menu's count refreshes itself
    owner = await signed_in(api, "owner-a")
    waiting = await inbox_pages(owner)
    assert f"/p/{first}/steps/land_prereview" in waiting  # the owner's next application
    assert f"/p/{first}/steps/project_approval" not in waiting  # in review: the department holds it


async def test_the_inbox_downloads_as_csv(api: Api) -> None:
    code = (await create(api, name=unique("待办导出")))["code"]
    owner = await signed_in(api, "owner-a")
    header, *rows = rows_of(await owner.get("/inbox.csv"))
    assert header == ["办理期限", "剩余时限", "项目码", "项目", "环节", "待办事项", "详情"]
    mine = sorted(row[4:6] for row in rows if row[2] == code)
    assert mine == [["用地预审", "提交申请"], ["项目审批（核准、备案）", "提交申请"]]


async def test_an_overdue_row_says_so_in_words(fast: Api) -> None:
    code = (await create(fast, category="energy_storage"))["code"]  # its filing has 5 working days
    await submit(fast, code, step="filing")
    reviewer = await signed_in(fast, "reviewer-drc")

    async def overdue() -> str:
        page = (await reviewer.get("/inbox")).text
        start = page.rindex("<tr", 0, page.index(code))
        row = page[start : page.index("</tr>", start)]
        assert "list__row--red overdue" in row and "逾期" in row
        return row

    row = await eventually(overdue, within=30)
    assert re.search(r"逾期 \d+ 个工作日|逾期不足 1 个工作日", row)
    line = next(r for r in rows_of(await reviewer.get("/inbox.csv")) if r[2] == code)
    assert line[1].startswith("逾期")


# ---- the step page ---------------------------------------------------------------------------


async def test_a_reviewer_returns_from_the_step_page_and_the_owner_resubmits(api: Api) -> None:
    code = (await create(api))["code"]
    documents = [await uploaded(api, code, name) for name in ("可行性研究报告.pdf", "用地证明.pdf")]
    await submit(api, code, note="材料齐全", documents=documents)
    step = f"/p/{code}/steps/project_approval"
    reviewer = await signed_in(api, "reviewer-drc")
    r = await reviewer.get(step)
    assert r.status_code == 200 and "<h1>项目审批（核准、备案）</h1>" in r.text
    assert "材料齐全" in r.text and "可行性研究报告" in r.text and "用地证明" in r.text
    assert "发展和改革委员会" in r.text and "绿灯" in r.text and 'value="decide"' in r.text
    assert f'name="next" value="{step}"' in r.text
    # Returning without an opinion: the step page again, the reason in its summary.
    r = await reviewer.post(
        f"/p/{code}/act",
        {"action": "decide", "target": "project_approval", "outcome": "return", "comment": " ", "next": step},
    )
    assert r.status_code == 422 and 'class="error-summary"' in r.text and "<h1>项目审批（核准、备案）</h1>" in r.text
    r = await reviewer.post(
        f"/p/{code}/act",
        {
            "action": "decide",
            "target": "project_approval",
            "outcome": "return",
            "comment": "缺少环评批复",
            "next": step,
        },
    )
    assert r.status_code == 303 and r.headers["location"].startswith(f"{step}?done=decide")
    assert "已办理：退回补正" in (await reviewer.get(r.headers["location"])).text
    owner = await signed_in(api, "owner-a")
    r = await owner.get(step)
    assert "退回理由" in r.text and "缺少环评批复" in r.text and 'value="submit"' in r.text
    r = await owner.post(
        f"/p/{code}/act", {"action": "submit", "target": "project_approval", "note": "已补环评批复", "next": step}
    )
    assert r.status_code == 303 and r.headers["location"].startswith(step)
    page = (await reviewer.get(step)).text
    assert "补正后重新提交" in page and "已补环评批复" in page and 'value="decide"' in page
    # `next` goes only to a step page of the same project.
    r = await reviewer.post(
        f"/p/{code}/act",
        {"action": "decide", "target": "project_approval", "outcome": "approve", "next": "https://evil.example/"},
    )
    assert r.status_code == 303 and r.headers["location"].startswith(f"/p/{code}?done=decide")


async def test_the_step_page_is_for_those_who_may_see_the_project(api: Api) -> None:
    code = (await create(api))["code"]
    r = await (await signed_in(api, "owner-a")).get(f"/p/{code}/steps/project_approval")
    assert r.status_code == 200 and "该环节尚未提交申请" in r.text and 'value="submit"' in r.text
    r = await (await signed_in(api, "owner-a")).get(f"/p/{code}/steps/no_such_step")
    assert r.status_code == 404 and "找不到" in r.text
    for stranger in ("owner-b", "reviewer-fire"):
        r = await (await signed_in(api, stranger)).get(f"/p/{code}/steps/project_approval")
        assert r.status_code == 404 and "找不到" in r.text, stranger


async def test_a_deputy_acts_on_behalf_of_the_enterprise(api: Api) -> None:
    code = await by_deputy(api, unique("代办项目"))
    deputy = await signed_in(api, "agent-1")
    step = f"/p/{code}/steps/project_approval"
    r = await deputy.get(step)
    assert r.status_code == 200 and "代表项目单位办理" in r.text
    r = await deputy.post(
        f"/p/{code}/act", {"action": "submit", "target": "project_approval", "note": "代办提交", "next": step}
    )
    assert r.status_code == 303, r.text
    owner = await signed_in(api, "owner-a")
    for path in (step, f"/p/{code}"):
        assert "代办员一 代 项目单位" in text_of((await owner.get(path)).text), path
    assert "代办员 代办员一" in text_of((await owner.get(f"/p/{code}")).text)  # the deputy by its name
    events = (await api.get(f"/projects/{code}/events", "owner-a")).json()
    assert [e["on_behalf_of"] for e in events if e["action"] == "submitted"] == [ORG_A]
