"""The pages of section chiefs, the office and district leaders: the dashboard, the problems queue
and the statistics, over HTTP against the real app, Temporal and database."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape
from typing import Any

import pytest
from sqlmodel import select

from models.db import make_engine, session_factory
from models.tables import StepRow
from settings import Settings
from tests.chain import create, walk
from tests.conftest import Api
from tests.web.reading import SECTION, card, csv_rows, hidden, table_rows, text
from tests.web.support import Browser, signed_in
from web.i18n import language
from web.routes import queue

pytestmark = pytest.mark.asyncio(loop_scope="session")
READERS = ("chief-initiation", "office-1", "leader-1")
OTHERS = ("owner-a", "agent-1", "reviewer-drc")
ZH = language("zh-CN")
TZ = "Asia/Shanghai"
CARD_ID = re.compile(r'<li class="card [^"]*" id="([^"]+)"')
NEXT_PAGE = re.compile(r'<a href="([^"]+)">下一页</a>')


async def stats(api: Api) -> dict[str, Any]:
    r = await api.get("/stats", "office-1")
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()
    return found


async def key_project_problem(api: Api, summary: str) -> tuple[str, str]:
    """A new key project (its problems start at level 2, with the section chief) and its first problem."""
    code = (await create(api, key_project=True))["code"]
    return code, await problem(api, code, summary)


async def problem(api: Api, code: str, summary: str) -> str:
    r = await api.post(f"/projects/{code}/problems", "owner-a", json={"summary": summary})
    assert r.status_code == 201, r.text
    return str(r.json()["created_id"])


async def queue_pages(browser: Browser, url: str) -> tuple[list[str], list[str]]:
    """Every page of the queue from `url`, following "next page": the problem ids in order, and each page's HTML."""
    ids: list[str] = []
    pages: list[str] = []
    next_url: str | None = url
    while next_url:
        r = await browser.get(next_url)
        assert r.status_code == 200, r.text
        pages.append(r.text)
        ids += CARD_ID.findall(r.text)
        found = NEXT_PAGE.search(r.text)
        next_url = unescape(found.group(1)) if found else None
    return ids, pages


# ---- who may see the pages -------------------------------------------------------------------


async def test_chiefs_the_office_and_leaders_see_the_pages_and_others_get_the_403_page(api: Api) -> None:
    pages = {"/dashboard": "驾驶舱", "/queue": "协调问题", "/statistics": "统计分析"}
    downloads = ("/dashboard.csv", "/queue.csv", "/statistics/on_time.csv")
    for username in READERS:
        browser = await signed_in(api, username)
        for path, heading in pages.items():
            r = await browser.get(path)
            assert r.status_code == 200 and f"<h1>{heading}</h1>" in r.text, (username, path)
    for username in OTHERS:
        browser = await signed_in(api, username)
        for path in (*pages, *downloads, "/dashboard/counts"):
            r = await browser.get(path)
            assert r.status_code == 403 and "无权操作" in r.text, (username, path)
    stranger = Browser(api)
    r = await stranger.get("/queue?level=2")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/queue%3Flevel%3D2"


# ---- the dashboard ---------------------------------------------------------------------------


def dashboard_counts(html: str) -> dict[str, dict[str, int]]:
    """The numbers the dashboard (or its refresh) shows, by group and key."""
    groups = {"colour": "by_colour", "stage": "by_stage", "status": "by_status", "level": "open_by_level"}
    found: dict[str, dict[str, int]] = {}
    for group, key, n in re.findall(r'<span id="count-(\w+)-(\w+)"[^>]*>(\d+)', html):
        found.setdefault(groups[group], {})[key] = int(n)
    return found


def expected_counts(stats: dict[str, Any]) -> dict[str, dict[str, int]]:
    """`GET /stats`'s counts, each group with every key the dashboard lists (none counted: 0)."""
    keys = {
        "by_colour": ("red", "yellow", "green"),
        "by_stage": ("initiation", "engineering", "construction", "acceptance"),
        "by_status": ("active", "suspended", "completed", "withdrawn"),
        "open_by_level": ("1", "2", "3", "4"),
    }
    counted = {**stats["projects"], "open_by_level": stats["problems"]["open_by_level"]}
    return {group: {k: counted[group].get(k, 0) for k in names} for group, names in keys.items()}


async def test_the_dashboard_counts_as_get_stats_does_and_follows_a_project_turning_red(api: Api) -> None:
    office = await signed_in(api, "office-1")
    before = expected_counts(await stats(api))
    page = await office.get("/dashboard")
    assert dashboard_counts(page.text) == before
    # Each number opens its list; only the numbers are refreshed, every 15 seconds.
    for link, number in (("/p?colour=red", "colour-red"), ("/p?stage=acceptance", "stage-acceptance")):
        assert re.search(rf'<a [^>]*href="{re.escape(link)}">.*?<span id="count-{number}">', page.text, re.S)
    assert re.search(r'href="/queue\?level=3">[^<]*</a></td><td class="number"><span id="count-level-3">', page.text)
    assert 'hx-get="/dashboard/counts" hx-trigger="every 15s" hx-swap="none"' in page.text and "红灯" in page.text

    # A new key project whose problem the office raises to level 3: one more red project, at level 3.
    _, raised = await key_project_problem(api, "the site has no power")
    r = await api.post(f"/problems/{raised}/raise", "office-1", json={"reason": "the grid company does not answer"})
    assert r.status_code == 200, r.text
    after = await office.get("/dashboard/counts")
    assert "<html" not in after.text and "<a " not in after.text
    assert after.text.count('hx-swap-oob="true"') == 1 + 3 + 4 + 4 + 4
    expected = {group: dict(counts) for group, counts in before.items()}
    for group, key in (("by_colour", "red"), ("by_stage", "initiation"), ("by_status", "active")):
        expected[group][key] += 1
    expected["open_by_level"]["3"] += 1
    assert dashboard_counts(after.text) == expected == expected_counts(await stats(api))

    rows = csv_rows(await office.get("/dashboard.csv"))
    assert rows[0] == ["类别", "项目", "数量"]
    assert ["亮灯", "红灯", str(expected["by_colour"]["red"])] in rows
    assert ["待解决的协调问题", "三级 · 政务办", str(expected["open_by_level"]["3"])] in rows
    assert len(rows) == 1 + 3 + 4 + 4 + 4


# ---- the problems queue ----------------------------------------------------------------------


async def test_the_queue_pages_problems_oldest_first_with_their_age_and_next_climb(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queue, "PAGE_SIZE", 2)
    code, first = await key_project_problem(api, "no grid connection")
    later = [await problem(api, code, summary) for summary in ("no water supply", "no access road")]
    chief = await signed_in(api, "chief-initiation")
    ids, pages = await queue_pages(chief, "/queue?level=2")
    listed = await api.every("/problems", "office-1", level=2, status="open")
    assert ids == [p["id"] for p in listed] and len(pages) >= 2
    assert ids.index(first) < ids.index(later[0]) < ids.index(later[1])

    shown = next(page for page in pages if f'id="{first}"' in page)
    words = text(card(shown, first))
    raised = next(p for p in listed if p["id"] == first)
    due = datetime.fromisoformat(raised["due_at"])
    hours_left = int((due - datetime.now(UTC)).total_seconds() // 3600)  # two working days of an hour each
    assert hours_left == 1, raised
    assert f"自动上报时间 {ZH.datetime(due, TZ)} · 还有 1 小时" in words, words
    assert f"提出时间 {ZH.datetime(datetime.fromisoformat(raised['opened_at']), TZ)} · 已等待 不到 1 小时" in words
    assert "层级 二级 · 审批段长" in words and "当前责任人 审批段长 · 立项用地规划许可" in words
    assert "环节 整个项目" in words and "来源 人工提出" in words and "no grid connection" in words

    rows = csv_rows(await chief.get("/queue.csv?level=2"))
    assert [row[0] for row in rows[1:]] == ids  # every problem, not one page
    row = next(r for r in rows if r[0] == first)
    assert row[1] == code and row[4] == "二级 · 审批段长" and row[9] == ZH.datetime(due, TZ)
    assert (await chief.get("/queue?cursor=not-a-cursor")).status_code == 422


async def test_resolve_and_raise_from_the_queue_and_come_back_to_it(api: Api) -> None:
    code, resolved = await key_project_problem(api, "road closed")
    raised = await problem(api, code, "crane permit missing")
    chief = await signed_in(api, "chief-initiation")
    ids, pages = await queue_pages(chief, "/queue?level=2")
    shown = next(page for page in pages if f'id="{resolved}"' in page)
    resolved_card = card(shown, resolved)
    back = hidden(resolved_card.split('value="resolve"', 1)[1], "next")
    assert back == "/queue?level=2&status=open&done=resolve"

    r = await chief.post(
        f"/p/{code}/act", {"action": "resolve", "target": resolved, "resolution": "road reopened", "next": back}
    )
    assert r.status_code == 303 and r.headers["location"] == back, r.text
    ids, pages = await queue_pages(chief, back)
    assert resolved not in ids and raised in ids
    assert "问题已解决。" in pages[0]
    done = await chief.get("/queue?status=resolved")
    assert "road reopened" in text(card(done.text, resolved)) and "用时" in text(card(done.text, resolved))

    r = await chief.post(
        f"/p/{code}/act",
        {"action": "raise", "target": raised, "reason": "needs the office", "next": "/queue?level=2&done=raise"},
    )
    assert r.status_code == 303 and r.headers["location"] == "/queue?level=2&done=raise"
    ids, pages = await queue_pages(chief, "/queue?level=2&done=raise")
    assert raised not in ids and "问题已上报一级。" in pages[0]
    ids, pages = await queue_pages(chief, "/queue?level=3")
    at_three = next(page for page in pages if f'id="{raised}"' in page)
    words = text(card(at_three, raised))
    assert "层级 三级 · 政务办" in words and "当前责任人 政务办" in words
    assert 'value="resolve"' not in card(at_three, raised)

    # The office holds it now; a `next` pointing to another site is ignored: back to the project page.
    office = await signed_in(api, "office-1")
    _, office_pages = await queue_pages(office, "/queue?level=3")
    assert 'value="resolve"' in next(p for p in office_pages if f'id="{raised}"' in p)
    r = await office.post(
        f"/p/{code}/act",
        {"action": "resolve", "target": raised, "resolution": "permit issued", "next": "//elsewhere.example/q"},
    )
    assert r.status_code == 303 and r.headers["location"].startswith(f"/p/{code}?done=resolve"), r.headers


# ---- statistics ------------------------------------------------------------------------------


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def days(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


async def decided_steps_by_stage(settings: Settings) -> dict[str, list[tuple[float, int]]]:
    """Every step of the read model decided after a review, by stage: (working days used, limit)."""
    engine = make_engine(settings.database_url)
    try:
        async with session_factory(engine)() as db:
            rows = (await db.exec(select(StepRow))).all()
    finally:
        await engine.dispose()
    found: dict[str, list[tuple[float, int]]] = {}
    for step in rows:
        if step.status in ("approved", "rejected") and not step.commitment:
            found.setdefault(step.stage, []).append((step.used_days, step.limit_days))
    return found


DEPARTMENTS = {"drc": "发展和改革委员会", "nrp": "规划和自然资源局", "housing": "住房和城乡建设委员会"}
DEPARTMENTS |= {"fire": "消防救援支队", "cad": "民防办", "archives": "城建档案馆", "survey": "测绘院（多测合一）"}
STAGES = {"initiation": "立项用地规划许可", "engineering": "工程建设许可", "construction": "施工许可"}
STAGES |= {"acceptance": "竣工验收"}
LEVELS = {"1": "一级 · 代办员", "2": "二级 · 审批段长", "3": "三级 · 政务办", "4": "四级 · 区级领导"}


def expected_tables(numbers: dict[str, Any]) -> dict[str, list[list[str]]]:
    """The page's tables as `GET /stats`'s numbers make them: headers, then rows in any order."""
    departments, ladder = numbers["departments"].items(), numbers["problems"]
    mean_hours = ladder["mean_hours_to_resolve"]
    return {
        "on_time": [
            ["部门", "已办结环节", "按时办结"],
            *[[DEPARTMENTS.get(d, d), str(s["decided_steps"]), percent(s["on_time_rate"])] for d, s in departments],
        ],
        "stages": [
            ["阶段", "已办结环节", "平均用时（工作日）", "平均承诺时限（工作日）"],
            *[
                [STAGES[k], str(s["decided_steps"]), days(s["mean_working_days"]), days(s["mean_limit_working_days"])]
                for k, s in numbers["stages"].items()
            ],
        ],
        "satisfaction": [
            ["部门", "评价数", "4 星及以上"],
            *[
                [DEPARTMENTS.get(d, d), str(s["ratings"]), percent(s["satisfaction_rate"])]
                for d, s in departments
                if s["ratings"]
            ],
        ],
        "problems": [
            ["层级", "待解决的协调问题"],
            *[[words, str(ladder["open_by_level"].get(n, 0))] for n, words in LEVELS.items()],
        ],
        "resolution": [
            ["已解决的协调问题", "平均解决用时（小时）"],
            [str(ladder["resolved"]), "—" if mean_hours is None else days(mean_hours)],
        ],
    }


async def test_statistics_show_get_stats_numbers_as_charts_tables_and_csv(api: Api, settings: Settings) -> None:
    completed = (await create(api, "low_risk"))["code"]
    await walk(api, completed)
    r = await api.post(f"/projects/{completed}/steps/filing/rating", "owner-a", json={"score": 4})
    assert r.status_code == 200, r.text
    started = (await create(api))["code"]
    await walk(api, started, until="land_prereview")

    numbers = await stats(api)
    # Stage durations: the mean working days the decided steps of each stage took, and their limits.
    by_stage = await decided_steps_by_stage(settings)
    assert list(numbers["stages"]) == [
        s for s in ("initiation", "engineering", "construction", "acceptance") if s in by_stage
    ]
    for stage, decided in by_stage.items():
        shown = numbers["stages"][stage]
        assert shown["decided_steps"] == len(decided), stage
        assert shown["mean_limit_working_days"] == round(sum(limit for _, limit in decided) / len(decided), 3)
        assert abs(shown["mean_working_days"] - sum(used for used, _ in decided) / len(decided)) <= 0.0005 + 1e-9

    leader = await signed_in(api, "leader-1")
    page = await leader.get("/statistics")
    sections = {found["name"]: found["body"] for found in SECTION.finditer(page.text)}
    assert list(sections) == ["on_time", "stages", "satisfaction", "problems", "resolution"]
    expected = expected_tables(numbers)
    for name, rows in expected.items():
        shown_rows = table_rows(sections[name])
        assert sorted(shown_rows[1:]) == sorted(rows[1:]) and shown_rows[0] == rows[0], name
        assert csv_rows(await leader.get(f"/statistics/{name}.csv")) == shown_rows, name
    for name in ("on_time", "stages", "satisfaction", "problems"):
        body = sections[name]
        assert re.search(rf'<svg class="chart" role="img" aria-labelledby="chart-{name}-title chart-{name}-desc"', body)
        assert f'<title id="chart-{name}-title">' in body and "<table>" in body
        bars = body.count("<rect")
        series = 2 if name == "stages" else 1
        assert bars == series * (len(expected[name]) - 1), name
    assert (await leader.get("/statistics/nothing.csv")).status_code == 422
