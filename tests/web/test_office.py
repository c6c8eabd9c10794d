"""The office's own pages: the working-day calendar editor, the users and the catalog, over HTTP
against the real app, Temporal and database; and a calendar saved on the page reaching a running
project on the real calendar."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta
from html import unescape
from typing import Any

import pytest
from temporalio.client import Client

from launch.processes import TemporalDevServer
from tests.chain import create, steps, view
from tests.conftest import Api, eventually
from tests.test_calendar_change import (
    LONG,
    LONG_CATEGORY,
    SHANGHAI,
    local,
    nth_working_day_after,
    real_calendar_stack,
    submitted,
)
from tests.web.reading import banner, csv_rows, text
from tests.web.support import Browser, signed_in

pytestmark = pytest.mark.asyncio(loop_scope="session")
PAGES = {"/office/calendar": "工作日历", "/office/users": "用户", "/office/catalog": "事项目录"}
DOWNLOADS = ("/office/calendar/2026.csv", "/office/users.csv", "/office/catalog.csv")
ERRORS = re.compile(r'<div class="error-summary" role="alert" tabindex="-1">(.*?)</div>', re.S)
LINKED_ERROR = re.compile(r'<li><a href="#([^"]+)">([^<]*)</a></li>')


def errors_of(page: Any) -> dict[str, str]:
    """The error summary of a page: each message by the field it links to ("" for one without)."""
    found = ERRORS.search(page.text)
    assert found, f"no error summary on the page ({page.status_code})"
    linked = {field: unescape(message) for field, message in LINKED_ERROR.findall(found.group(1))}
    return linked or {"": text(found.group(1)).removeprefix("请修改以下问题 ")}


def textarea(page: Any, name: str) -> str:
    found = re.search(rf'<textarea id="{name}" name="{name}"[^>]*>(.*?)</textarea>', page.text, re.S)
    assert found, name
    return unescape(found.group(1))


async def test_the_office_sees_its_pages_and_everyone_else_gets_the_403_page(api: Api) -> None:
    office = await signed_in(api, "office-1")
    for path, heading in PAGES.items():
        r = await office.get(path)
        assert r.status_code == 200 and heading in r.text and 'lang="zh-CN"' in r.text, path
    for username in ("leader-1", "chief-initiation", "owner-a", "reviewer-drc", "agent-1"):
        browser = await signed_in(api, username)
        for path in (*PAGES, *DOWNLOADS):
            r = await browser.get(path)
            assert r.status_code == 403 and "无权操作" in r.text, (username, path)
        await browser.get("/")  # a page with a form, for the CSRF token
        posts = {
            "/office/calendar/2033": {"holidays": "2033-01-01", "workdays": ""},
            "/office/users": {"username": "nobody-here", "password": "long-enough-1", "role": "leader"},
            "/office/users/owner-b": {"change": "deactivate"},
            "/office/catalog/low_risk": {"limit-filing": "9"},
        }
        for path, form in posts.items():
            r = await browser.post(path, form)
            assert r.status_code == 403, (username, path)
    assert (await api.get("/calendar/2033", "office-1")).json()["provisional"] is True
    assert not any(u["username"] == "nobody-here" for u in (await api.get("/users", "office-1")).json())


# ---- the working-day calendar ----------------------------------------------------------------


async def test_the_calendar_editor_reads_ranges_and_says_what_the_rules_refuse(api: Api) -> None:
    office = await signed_in(api, "office-1")
    before = (await api.get("/calendar/2033", "office-1")).json()
    page = await office.get("/office/calendar?year=2033")
    assert before["provisional"] is True and "暂定：本年度日历尚未录入。" in page.text
    assert textarea(page, "holidays").startswith("2033-01-01\n")  # the provisional days, to correct

    refused = {
        ("", "2033-03-01"): ("workdays", "调休上班日只能是星期六或星期日，以下日期不是：2033-03-01。"),
        ("2034-01-01", ""): ("holidays", "以下日期不在 2033 年内：2034-01-01。"),
        ("2033-02-05", "2033-02-05"): ("workdays", "以下日期既填为节假日又填为调休上班日：2033-02-05。"),
        ("2033-02-30", ""): ("holidays", "日历上没有 2033-02-30 这一天。"),
        ("2033-01-01, soon", ""): ("holidays", "“soon”不是日期，请按 2027-02-05 的格式填写。"),
        ("2033-02-06 至 2033-02-01", ""): ("holidays", "日期范围 2033-02-06 至 2033-02-01 的结束日期早于开始日期。"),
    }
    for (holidays, workdays), (field, message) in refused.items():
        r = await office.post("/office/calendar/2033", {"holidays": holidays, "workdays": workdays})
        assert r.status_code == 422, (holidays, workdays)
        assert errors_of(r) == {field: message}
        assert textarea(r, "holidays") == holidays and textarea(r, "workdays") == workdays  # as typed
    assert (await api.get("/calendar/2033", "office-1")).json() == before

    english = Browser(api)
    english.client.cookies.set("lang", "en")
    await english.sign_in("office-1")
    r = await english.post("/office/calendar/2033", {"holidays": "", "workdays": "2033-03-01"})
    assert errors_of(r) == {"workdays": "A make-up working day is a Saturday or a Sunday; these are not: 2033-03-01."}

    # The State Council's way of writing it: ranges with 至 or ~, dates separated by 、, commas, lines.
    holidays = "2033-01-01\n2033-01-30 至 2033-02-05、2033-04-04, 2033-05-01~2033-05-03"
    workdays = "2033-01-29 2033-02-12"
    assert all(date.fromisoformat(d).weekday() >= 5 for d in workdays.split())
    r = await office.post("/office/calendar/2033", {"holidays": holidays, "workdays": workdays})
    assert r.status_code == 303 and r.headers["location"] == "/office/calendar?year=2033&done=saved", r.text
    spelled = ["2033-01-01", *[f"2033-{d}" for d in ("01-30", "01-31", "02-01", "02-02", "02-03", "02-04")]]
    spelled += ["2033-02-05", "2033-04-04", "2033-05-01", "2033-05-02", "2033-05-03"]
    stored = (await api.get("/calendar/2033", "leader-1")).json()
    assert stored == {
        "year": 2033,
        "holidays": spelled,
        "workdays": ["2033-01-29", "2033-02-12"],
        "source": "office",
        "provisional": False,
    }
    page = await office.get(r.headers["location"])
    assert banner(page).startswith("2033 年工作日历已保存。") and "已录入" in page.text
    assert textarea(page, "holidays") == "2033-01-01\n2033-01-30 至 2033-02-05\n2033-04-04\n2033-05-01 至 2033-05-03"
    rows = csv_rows(await office.get("/office/calendar/2033.csv"))
    assert rows[0] == ["日期", "星期", "类型", "来源"]
    assert rows[1:] == [[d, *_weekday_kind(d, "节假日")] for d in spelled] + [
        [d, *_weekday_kind(d, "调休上班日")] for d in stored["workdays"]
    ]


def _weekday_kind(day: str, kind: str) -> list[str]:
    weekday = "星期" + "一二三四五六日"[date.fromisoformat(day).weekday()]
    return [weekday, kind, "office"]


@pytest.fixture(scope="module")
async def real_calendar(temporal_server: TemporalDevServer, temporal_client: Client) -> AsyncIterator[Api]:
    async for api in real_calendar_stack(temporal_server, temporal_client, region_code="310113"):
        yield api


async def test_a_calendar_saved_on_the_page_moves_a_running_projects_deadline(real_calendar: Api) -> None:
    api = real_calendar
    assert (await api.call("PUT", "/catalog/long_review", "office-1", json=LONG_CATEGORY)).status_code == 200
    step, at = await submitted(api, "long_review", "long_review")
    before = local(step["deadline"])
    year = (before - timedelta(days=1)).year
    assert step["provisional"] is True, step
    office = await signed_in(api, "office-1")
    page = await office.get(f"/office/calendar?year={year}")
    off = {date.fromisoformat(d) for d in (await api.get(f"/calendar/{year}", "office-1")).json()["holidays"]}
    # A whole working week off (a local closure, say) ending at least a week before the deadline,
    # written as one range after what the page shows: the deadline moves five working days later.
    monday = before.date() - timedelta(days=7 + before.date().weekday())
    while any(monday + timedelta(days=n) in off for n in range(5)):
        monday -= timedelta(days=7)
    week = {monday + timedelta(days=n) for n in range(5)}
    assert monday.year == year and max(week).year == year, monday
    holidays = f"{textarea(page, 'holidays')}\n{monday.isoformat()} 至 {max(week).isoformat()}"
    r = await office.post(f"/office/calendar/{year}", {"holidays": holidays, "workdays": ""})
    assert r.status_code == 303, r.text
    expected = datetime.combine(
        nth_working_day_after(at.date(), LONG, off | week) + timedelta(days=1), time(0), SHANGHAI
    )
    assert expected > before

    async def deadline_moved() -> None:
        shown = steps(await view(api, step["code"]))["long_review"]
        assert local(shown["deadline"]) == expected and shown["provisional"] is False

    await eventually(deadline_moved, within=30)
    events = (await api.get(f"/projects/{step['code']}/events", "owner-a")).json()
    moved = [e for e in events if e["action"] == "deadline_moved"]
    assert len(moved) == 1 and "office-1" in moved[0]["detail"]["reason"], moved


# ---- users -----------------------------------------------------------------------------------


def new_username(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def can_sign_in(api: Api, username: str, password: str) -> int:
    r = await api.client.post("/auth/token", data={"username": username, "password": password})
    return r.status_code


async def test_the_office_creates_a_user_on_the_page_and_is_told_what_to_correct(api: Api) -> None:
    office = await signed_in(api, "office-1")
    name = new_username("reviewer")
    good = {"username": name, "display_name": "审查员 张三", "password": "long-enough-1", "role": "reviewer"}
    refused = [
        ({}, {"department": "审批人员须选择所属部门。"}),
        (
            {"username": "x", "password": "short"},
            {
                "username": "请使用 3 至 64 个字符：小写字母、数字、点、短横线或下划线，以字母开头。",
                "password": "请使用 8 至 128 个字符。",
                "department": "审批人员须选择所属部门。",
            },
        ),
        ({"department": "fire", "password": "short"}, {"password": "请使用 8 至 128 个字符。"}),
        ({"department": "fire", "stage": "initiation"}, {"stage": "所选角色不需要此项，请留空。"}),
        (
            {"department": "fire", "username": "Zhang San"},
            {"username": "请使用 3 至 64 个字符：小写字母、数字、点、短横线或下划线，以字母开头。"},
        ),
        ({"role": "boss"}, {"role": "请选择一项。"}),
        (
            {"role": "owner", "organisation": "91310115MA1K4ABC0X"},
            {"organisation": "不是有效的统一社会信用代码：共 18 位，最后一位为校验码。"},
        ),
        (
            {"role": "owner", "organisation": "123"},
            {"organisation": "不是有效的统一社会信用代码：共 18 位，最后一位为校验码。"},
        ),
    ]
    for change, expected in refused:
        r = await office.post("/office/users", {**good, **change})
        assert r.status_code == 422, change
        assert errors_of(r) == expected and list(errors_of(r)) == list(expected), change
        assert f'value="{change.get("username", name)}"' in r.text  # the form keeps what was typed
    assert not any(u["username"] == name for u in (await api.get("/users", "office-1")).json())

    r = await office.post("/office/users", {**good, "department": "fire"})
    assert r.status_code == 303 and r.headers["location"] == f"/office/users?done=created&who={name}#user-{name}"
    page = await office.get(r.headers["location"])
    assert banner(page) == f"用户 {name} 已创建。"
    row = text(page.text.split(f'id="user-{name}"', 1)[1].split("</tr>", 1)[0])
    assert "审查员 张三" in row and "审批人员" in row and "消防救援支队" in row
    assert await can_sign_in(api, name, "long-enough-1") == 200

    r = await office.post("/office/users", {**good, "department": "fire"})
    assert r.status_code == 409 and errors_of(r) == {"username": "该用户名已存在。"}
    rows = csv_rows(await office.get("/office/users.csv"))
    assert rows[0] == ["用户名", "姓名", "角色", "所属", "电子邮箱", "手机号码", "可否登录", "锁定至"]
    assert [name, "审查员 张三", "审批人员", "消防救援支队", "", "", "是", ""] in rows
    assert "long-enough-1" not in (await office.get("/office/users.csv")).text


async def test_the_office_deactivates_reactivates_resets_and_unlocks_on_the_page(api: Api) -> None:
    name, password = new_username("chief"), "first-password-1"
    body = {"username": name, "password": password, "role": "section_chief", "stage": "acceptance"}
    assert (await api.post("/users", "office-1", json=body)).status_code == 201
    person = Browser(api)
    await person.sign_in(name, password)
    assert (await person.get("/dashboard")).status_code == 200
    office = await signed_in(api, "office-1")

    r = await office.post(f"/office/users/{name}", {"change": "deactivate"})
    assert (
        r.status_code == 303 and banner(await office.get(r.headers["location"])) == f"{name} 已停用，其登录已全部失效。"
    )
    assert (await person.get("/dashboard")).status_code == 303  # the session ended: back to the login form
    assert await can_sign_in(api, name, password) == 401

    r = await office.post("/office/users/office-1", {"change": "deactivate"})
    assert r.status_code == 409 and errors_of(r) == {"change-office-1": "不能停用自己的账号。"}
    assert (await office.get("/office/users")).status_code == 200  # still signed in

    r = await office.post(f"/office/users/{name}", {"change": "reactivate"})
    assert r.status_code == 303 and await can_sign_in(api, name, password) == 200

    r = await office.post(f"/office/users/{name}", {"change": "password", "password": "short"})
    assert r.status_code == 422 and errors_of(r) == {f"password-{name}": "请使用 8 至 128 个字符。"}
    r = await office.post(f"/office/users/{name}", {"change": "password", "password": "second-password-2"})
    assert r.status_code == 303
    assert await can_sign_in(api, name, password) == 401 and await can_sign_in(api, name, "second-password-2") == 200

    for _ in range(5):
        assert await can_sign_in(api, name, "a wrong password") == 401
    assert await can_sign_in(api, name, "second-password-2") == 429
    page = await office.get("/office/users")
    assert "多次登录失败，锁定至" in text(page.text.split(f'id="user-{name}"', 1)[1].split("</tr>", 1)[0])
    r = await office.post(f"/office/users/{name}", {"change": "unlock"})
    assert r.status_code == 303 and await can_sign_in(api, name, "second-password-2") == 200

    assert (await office.post("/office/users/nobody-at-all", {"change": "unlock"})).status_code == 404
    assert (await office.post(f"/office/users/{name}", {"change": "promote"})).status_code == 422


# ---- the catalog -----------------------------------------------------------------------------


async def category_limits(api: Api, key: str) -> dict[str, int]:
    catalog = (await api.get("/catalog", "office-1")).json()
    category = next(c for c in catalog["categories"] if c["key"] == key)
    return {s["key"]: s["limit_working_days"] for s in category["steps"]}


async def test_the_office_changes_a_categorys_limits_on_the_page_for_new_projects_only(api: Api) -> None:
    catalog = (await api.get("/catalog", "office-1")).json()
    low_risk = next(c for c in catalog["categories"] if c["key"] == "low_risk")
    body = {k: v for k, v in low_risk.items() if k not in ("stages", "name", "description")}
    body |= {"key": "page_limits", "name_zh": "页面改时限", "name_en": "Limits changed on the page"}
    assert (await api.call("PUT", "/catalog/page_limits", "office-1", json=body)).status_code == 200
    before = await category_limits(api, "page_limits")
    running = (await create(api, "page_limits"))["code"]

    office = await signed_in(api, "office-1")
    page = await office.get("/office/catalog")
    assert 'id="page_limits"' in page.text and "页面改时限" in page.text
    assert f'name="limit-filing" value="{before["filing"]}"' in page.text
    field = "limit-page_limits-filing"
    for typed, message in (
        ("abc", "请填写工作日天数（整数）。"),
        ("0", "至少 1 个工作日。"),
        ("121", "最多 120 个工作日。"),
    ):
        r = await office.post("/office/catalog/page_limits", {"limit-filing": typed})
        assert r.status_code == 422 and errors_of(r) == {field: message}, typed
        assert f'id="{field}" name="limit-filing" value="{typed}"' in r.text
    assert await category_limits(api, "page_limits") == before

    r = await office.post("/office/catalog/page_limits", {"limit-filing": "4", "limit-combined_permit": " 6 "})
    assert r.status_code == 303 and r.headers["location"] == "/office/catalog?done=page_limits#page_limits"
    assert banner(await office.get(r.headers["location"])).startswith("“页面改时限”的办理时限已保存。")
    assert await category_limits(api, "page_limits") == {**before, "filing": 4, "combined_permit": 6}
    assert steps(await view(api, running))["filing"]["limit_working_days"] == before["filing"]
    fresh = (await create(api, "page_limits"))["code"]
    assert steps(await view(api, fresh))["filing"]["limit_working_days"] == 4

    rows = csv_rows(await office.get("/office/catalog.csv"))
    assert rows[0][:4] == ["类别代码", "类别", "环节代码", "环节"]
    filing = next(r for r in rows if r[0] == "page_limits" and r[2] == "filing")
    assert filing[1] == "页面改时限" and filing[5] == "发展和改革委员会" and filing[7] == "4"
    assert len([r for r in rows if r[0] == "page_limits"]) == len(before)
    assert (await office.post("/office/catalog/no_such_category", {"limit-filing": "4"})).status_code == 404
