"""Who is told what, through real projects, and the in-app notifications API (docs/notifications.md).

The rules themselves are tested table by table in tests/domain/test_notices.py; here the whole
path runs: an action or the workflow's own timer, the publish writing the notifications with the
events, and each user's list as `GET /notifications` shows it.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio.client import Client

from domain.codes import make_credit_code
from launch.processes import TemporalDevServer
from settings import Settings
from tests.api.support import make_user
from tests.chain import create
from tests.conftest import Api, eventually
from tests.test_clock import compressed_stack

pytestmark = pytest.mark.asyncio(loop_scope="session")
PA = "project_approval"


@pytest.fixture(scope="module")
async def fast(database_url: str, temporal_server: TemporalDevServer, temporal_client: Client) -> AsyncIterator[Api]:
    """A stack where a working day lasts one second: limits run out while the test watches."""
    async for api in compressed_stack(database_url, temporal_server, temporal_client, 1.0):
        yield api


async def told(api: Api, user: str, code: str, **params: Any) -> list[dict[str, Any]]:
    """The user's notifications about the project (newest first), those whose params match."""
    r = await api.get("/notifications", user, params={"limit": 100})
    assert r.status_code == 200, r.text
    items = [n for n in r.json()["items"] if n["project_code"] == code]
    return [n for n in items if all(n["params"].get(k) == v for k, v in params.items())]


async def kinds(api: Api, user: str, code: str) -> list[str]:
    return [n["kind"] for n in await told(api, user, code)]


async def test_a_submission_tells_the_reviewers_and_a_return_the_owner_and_the_deputy(api: Api) -> None:
    project = await create(api)
    code, deputy = project["code"], project["agent"]
    assert (await api.post(f"/projects/{code}/steps/{PA}/submit", "owner-a", json={})).status_code == 200
    [notice] = await told(api, "reviewer-drc", code)
    assert notice["kind"] == "submitted" and notice["step"] == PA and notice["link"] == f"/p/{code}"
    assert (
        "请发展和改革委员会审查" in notice["text_zh"] and "awaits review by Development and Reform" in notice["text_en"]
    )
    assert await kinds(api, "reviewer-nrp", code) == []  # another department
    assert await kinds(api, "owner-a", code) == []  # not told of its own submission
    r = await api.post(
        f"/projects/{code}/steps/{PA}/decision", "reviewer-drc", json={"outcome": "return", "comment": "no site plan"}
    )
    assert r.status_code == 200, r.text
    for user in ("owner-a", deputy):
        [returned] = await told(api, user, code)
        assert returned["kind"] == "returned" and returned["params"]["comment"] == "no site plan"
    assert await kinds(api, "reviewer-drc", code) == ["submitted"]  # not told of its own return
    assert await kinds(api, "owner-b", code) == []  # another organisation


async def test_the_inbox_pages_counts_and_marks_only_the_callers_own(api: Api, settings: Settings) -> None:
    # An organisation of its own with two users: every notice to the owner goes to both, and to no one else.
    org = make_credit_code(f"91310115MA1K{random.randrange(10**5):05d}")
    first, _ = await make_user(settings, "owner", password="demo", organisation=org)
    second, _ = await make_user(settings, "owner", password="demo", organisation=org)
    body = {"name": "Inbox test plant", "category": "general", "owner_credit_code": org, "investment_wan": 80.0}
    r = await api.post("/projects", first, json=body)
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    for outcome in ("return", "return", "reject"):  # three notices to the owner
        assert (await api.post(f"/projects/{code}/steps/{PA}/submit", first, json={})).status_code == 200
        decided = await api.post(
            f"/projects/{code}/steps/{PA}/decision", "reviewer-drc", json={"outcome": outcome, "comment": "why"}
        )
        assert decided.status_code == 200, decided.text

    page = (await api.get("/notifications", first)).json()
    assert [n["kind"] for n in page["items"]] == ["rejected", "returned", "returned"]  # newest first
    assert page["unread_count"] == 3 and page["next_cursor"] is None
    ids = [n["id"] for n in page["items"]]
    one = (await api.get("/notifications", first, params={"limit": 2})).json()
    assert [n["id"] for n in one["items"]] == ids[:2] and one["next_cursor"] == str(ids[1])
    two = (await api.get("/notifications", first, params={"limit": 2, "cursor": one["next_cursor"]})).json()
    assert [n["id"] for n in two["items"]] == ids[2:] and two["next_cursor"] is None
    beyond = (await api.get("/notifications", first, params={"cursor": "9999999999"})).json()
    assert [n["id"] for n in beyond["items"]] == ids  # a cursor past every id: from the newest

    read = await api.post(f"/notifications/{ids[0]}/read", first)
    assert read.status_code == 200 and read.json()["read_at"] is not None
    again = await api.post(f"/notifications/{ids[0]}/read", first)
    assert again.json()["read_at"] == read.json()["read_at"]  # read once, the first time kept
    unread = (await api.get("/notifications", first, params={"unread": True})).json()
    assert [n["id"] for n in unread["items"]] == ids[1:] and unread["unread_count"] == 2
    for someone_else in (second, "owner-a", "office-1"):  # another user's notification does not exist for them
        assert (await api.post(f"/notifications/{ids[1]}/read", someone_else)).status_code == 404
    assert (await api.post("/notifications/2147483647/read", first)).status_code == 404
    everything = await api.post("/notifications/read-all", first)
    assert everything.status_code == 200 and everything.json() == {"marked": 2, "unread_count": 0}
    assert (await api.get("/notifications", first, params={"unread": True})).json()["items"] == []
    others = (await api.get("/notifications", second)).json()
    assert [n["kind"] for n in others["items"]] == ["rejected", "returned", "returned"]
    assert others["unread_count"] == 3  # the other user's copies are untouched


async def test_me_shows_and_changes_how_notices_reach_the_caller(api: Api, settings: Settings) -> None:
    user, _ = await make_user(settings, "leader", password="demo")
    me = (await api.get("/me", user)).json()
    assert (me["email"], me["mobile"], me["language"], me["email_enabled"], me["webhook_enabled"]) == (
        None,
        None,
        "zh-CN",
        True,
        True,
    )
    change = {"email": "li.lei@example.gov.cn", "mobile": "+8613900001111", "language": "en", "webhook_enabled": False}
    r = await api.call("PATCH", "/me/notifications", user, json=change)
    assert r.status_code == 200, r.text
    assert {k: r.json()[k] for k in change} == change and r.json()["email_enabled"] is True
    cleared = (await api.call("PATCH", "/me/notifications", user, json={"mobile": ""})).json()
    assert cleared["mobile"] is None and cleared["email"] == "li.lei@example.gov.cn"
    for bad in ({"email": "not an address"}, {"language": "fr"}, {"email_enabled": "no"}, {"role": "office"}):
        refused = await api.call("PATCH", "/me/notifications", user, json=bad)
        assert refused.status_code == 422, (bad, refused.text)
    assert (await api.get("/me", user)).json() == {**me, **change, "mobile": None}  # refusals changed nothing


async def test_a_step_left_alone_tells_deputy_and_department_then_the_chief(fast: Api) -> None:
    project = await create(fast)
    code, deputy = project["code"], project["agent"]
    assert (await fast.post(f"/projects/{code}/steps/{PA}/submit", "owner-a", json={})).status_code == 200

    async def overdue() -> None:
        for user in (deputy, "reviewer-drc"):
            assert {"step_yellow", "overdue"} <= set(await kinds(fast, user, code)), user
        assert "overdue" in await kinds(fast, "chief-initiation", code)

    await eventually(overdue, within=30, interval=0.2)
    assert "step_red" not in await kinds(fast, deputy, code)  # the red at the deadline is told as overdue
    assert await kinds(fast, "chief-engineering", code) == []  # another stage


async def test_a_problem_climbing_tells_each_new_holder(fast: Api) -> None:
    project = await create(fast)
    code, deputy = project["code"], project["agent"]
    r = await fast.post(f"/projects/{code}/problems", "owner-a", json={"summary": "utility connection blocked"})
    assert r.status_code == 201, r.text
    problem = r.json()["created_id"]
    assert [n["params"]["level"] for n in await told(fast, deputy, code, problem=problem)] == [1]
    holders = {2: "chief-initiation", 3: "office-1", 4: "leader-1"}
    for level, holder in holders.items():

        async def told_to_holder(user: str = holder, lvl: int = level) -> None:
            climbed = await told(fast, user, code, problem=problem, level=lvl)
            assert [n["kind"] for n in climbed] == ["problem_escalated"], climbed

        await eventually(told_to_holder, within=15, interval=0.2)

    async def reminded() -> None:
        assert "problem_reminder" in await kinds(fast, "leader-1", code)

    await eventually(reminded, within=15, interval=0.2)
    assert await told(fast, "chief-acceptance", code) == []  # another stage's chief
