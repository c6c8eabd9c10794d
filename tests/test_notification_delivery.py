"""Notices leave by mail and by the gateway's webhook, against real servers on loopback: an SMTP
server and an HTTP gateway in the test process, a real worker with its dispatcher, the real API.

What each test shows (docs/notifications.md, "Guarantees"): the mail's recipient, language, link
and Message-ID; the user's switches; a gateway that is down and then failing still gets each
message once, signed, under one idempotency key; a mail taken but never acknowledged is sent
again under the same Message-ID; the digest on a working day, and none on a day off.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from temporalio.client import Client, ScheduleActionStartWorkflow, ScheduleRange

from api.main import create_app
from settings import Settings
from tests.chain import create, steps, view
from tests.conftest import Api, eventually, open_api
from tests.support.mailbox import Gateway, Mail, Mailbox
from tests.support.outbox import MAIL_DOMAIN, PUBLIC_URL, WEBHOOK_SECRET, deliveries, notifying_settings
from worker import build_worker, start_background_work
from workflows.notifications import DailyDigestWorkflow, DigestInput, digest_schedule_id, dispatcher_id
from workflows.search import connect

pytestmark = pytest.mark.asyncio(loop_scope="session")
PA = "project_approval"
DRC_MAIL = "reviewer-drc@demo.invalid"
# A Wednesday and a Sunday of 2026 that no holiday arrangement moves.
WORKING_DAY, DAY_OFF = date(2026, 6, 10), date(2026, 6, 14)


@dataclass
class Stack:
    settings: Settings
    api: Api
    client: Client
    mailbox: Mailbox
    gateway: Gateway
    exits: AsyncExitStack


@pytest.fixture(scope="module")
async def stack() -> AsyncIterator[Stack]:
    async with AsyncExitStack() as exits:
        settings, mailbox, gateway = await exits.enter_async_context(
            notifying_settings(workday_seconds=0, notify_send_timeout_seconds=5)
        )
        client = await connect(settings.temporal_address, settings.temporal_namespace)
        await exits.enter_async_context(build_worker(client, settings))
        await start_background_work(client, settings)
        api = await exits.enter_async_context(opened_api(settings))
        yield Stack(settings, api, client, mailbox, gateway, exits)


@asynccontextmanager
async def opened_api(settings: Settings) -> AsyncIterator[Api]:
    async for api in open_api(create_app(settings)):
        yield api


async def submitted(api: Api) -> dict[str, Any]:
    """A new project of owner-a whose project approval was just submitted (reviewer-drc is told)."""
    project = await create(api, name=f"Riverside plant {uuid.uuid4().hex[:6]}")
    r = await api.post(f"/projects/{project['code']}/steps/{PA}/submit", "owner-a", json={})
    assert r.status_code == 200, r.text
    return project


async def mail_for(mailbox: Mailbox, address: str, code: str, within: float = 30) -> Mail:
    async def arrived() -> Mail:
        found = [m for m in mailbox.to(address) if f"/p/{code}" in m.body]
        assert found, f"no mail to {address} about {code} yet"
        return found[0]

    return await eventually(arrived, within=within)


async def sent(settings: Settings, username: str, code: str, kind: str, channel: str, within: float = 30) -> Any:
    async def settled() -> Any:
        row = (await deliveries(settings, username, code, kind)).get(channel)
        assert row is not None and row.status == "sent", row
        return row

    return await eventually(settled, within=within)


async def test_a_submission_mails_the_reviewer_in_chinese_with_the_link_and_its_message_id(stack: Stack) -> None:
    project = await submitted(stack.api)
    code, name = project["code"], project["name"]
    mail = await mail_for(stack.mailbox, DRC_MAIL, code)
    step = steps(await view(stack.api, code))[PA]
    assert mail.rcpt == DRC_MAIL and mail.message["To"] == DRC_MAIL
    assert mail.subject == f"【项目审批】待审查：{name}"
    assert f"项目「{name}」：{step['name_zh']}已提交，请发展和改革委员会审查。" in mail.body
    assert f"查看项目：{PUBLIC_URL}/p/{code}" in mail.body
    delivery = await sent(stack.settings, "reviewer-drc", code, "submitted", "email")
    assert mail.message_id == f"<{delivery.message_id}@{MAIL_DOMAIN}>"
    assert delivery.attempts == 1
    assert [m.message_id for m in stack.mailbox.mails].count(mail.message_id) == 1  # once


async def test_mail_follows_the_readers_language_and_a_user_without_mail_still_sees_the_notice(stack: Stack) -> None:
    api = stack.api
    project = await submitted(api)
    code, deputy = project["code"], project["agent"]
    assert (await api.call("PATCH", "/me/notifications", "owner-a", json={"email_enabled": False})).status_code == 200
    r = await api.call("PATCH", "/me/notifications", deputy, json={"language": "en"})
    assert r.status_code == 200 and r.json()["language"] == "en"
    try:
        r = await api.post(
            f"/projects/{code}/steps/{PA}/decision",
            "reviewer-drc",
            json={"outcome": "return", "comment": "no site plan"},
        )
        assert r.status_code == 200, r.text
        mail = await mail_for(stack.mailbox, f"{deputy}@demo.invalid", code)
        assert mail.subject == f"[Approvals] Returned for correction: {project['name']}"
        assert mail.body.startswith("Dear ") and "Reason: no site plan" in mail.body
        assert f"Open the project: {PUBLIC_URL}/p/{code}" in mail.body
        # owner-a turned mail off: the notice is in the pages and goes to the gateway, but no mail.
        told = (await api.get("/notifications", "owner-a", params={"limit": 100})).json()["items"]
        assert any(n["project_code"] == code and n["kind"] == "returned" for n in told)
        assert set(await deliveries(stack.settings, "owner-a", code, "returned")) == {"webhook"}
        assert not [m for m in stack.mailbox.to("owner-a@demo.invalid") if f"/p/{code}" in m.body]
    finally:
        await api.call("PATCH", "/me/notifications", "owner-a", json={"email_enabled": True})
        await api.call("PATCH", "/me/notifications", deputy, json={"language": "zh-CN"})


async def test_the_gateway_down_then_failing_gets_each_message_once_signed_under_one_key(stack: Stack) -> None:
    gateway = stack.gateway
    code = (await submitted(stack.api))["code"]

    async def refused_while_down() -> str:
        row = (await deliveries(stack.settings, "reviewer-drc", code, "submitted"))["webhook"]
        assert row.attempts >= 1 and row.status == "pending" and "Connect" in (row.last_error or ""), row
        return row.message_id

    key = await eventually(refused_while_down, within=30)
    gateway.refusals[key] = 1  # once up, it fails this message once more
    await stack.exits.enter_async_context(gateway.serve())  # up for the rest of the module
    delivery = await sent(stack.settings, "reviewer-drc", code, "submitted", "webhook")
    calls = gateway.calls_for(key)
    assert [c.answered for c in calls] == [500, 200], calls
    assert delivery.attempts == 3  # refused connection, 500, 200
    for call in calls:
        expected = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), call.body, hashlib.sha256).hexdigest()
        assert call.headers["x-approvals-signature"] == expected
        assert call.headers["idempotency-key"] == key
    payload = calls[-1].payload
    assert payload["recipient"] == "reviewer-drc" and payload["mobile"].startswith("139")
    assert (payload["kind"], payload["project_code"], payload["language"]) == ("submitted", code, "zh-CN")
    assert payload["link"] == f"{PUBLIC_URL}/p/{code}" and "请发展和改革委员会审查" in payload["text"]


async def test_a_mail_taken_but_never_acknowledged_comes_again_under_the_same_message_id(stack: Stack) -> None:
    stack.mailbox.drop_next_to(DRC_MAIL)
    code = (await submitted(stack.api))["code"]
    delivery = await sent(stack.settings, "reviewer-drc", code, "submitted", "email")
    assert delivery.attempts == 2
    lost = [m for m in stack.mailbox.unacknowledged if f"/p/{code}" in m.body]
    again = [m for m in stack.mailbox.to(DRC_MAIL) if f"/p/{code}" in m.body]
    assert len(lost) == len(again) == 1
    assert lost[0].message_id == again[0].message_id == f"<{delivery.message_id}@{MAIL_DOMAIN}>"


async def red_project(api: Api) -> dict[str, Any]:
    """A project whose problem was raised to level 3 (the office's): red."""
    project = await create(api, name=f"Harbour road {uuid.uuid4().hex[:6]}")
    r = await api.post(f"/projects/{project['code']}/problems", "owner-a", json={"summary": "utility blocked"})
    assert r.status_code == 201, r.text
    problem = r.json()["created_id"]
    for holder in (project["agent"], "chief-initiation"):
        r = await api.post(f"/problems/{problem}/raise", holder, json={"reason": "no answer"})
        assert r.status_code == 200, r.text
    assert (await view(api, project["code"]))["colour"] == "red"
    return {**project, "problem": problem}


async def digest(stack: Stack, day: date) -> Any:
    return await stack.client.execute_workflow(
        DailyDigestWorkflow.run,
        DigestInput(day=day),
        id=f"digest-test-{uuid.uuid4().hex[:8]}",
        task_queue=stack.settings.task_queue,
    )


async def test_the_digest_tells_office_and_leaders_on_a_working_day_and_skips_a_day_off(stack: Stack) -> None:
    project = await red_project(stack.api)
    off = await digest(stack, DAY_OFF)
    assert (off.day, off.working, off.written) == (DAY_OFF, False, 0)
    outcome = await digest(stack, WORKING_DAY)
    assert (outcome.day, outcome.working) == (WORKING_DAY, True) and outcome.written >= 2
    for user in ("office-1", "leader-1"):
        items = (await stack.api.get("/notifications", user, params={"limit": 100})).json()["items"]
        digests = [n for n in items if n["kind"] == "digest"]
        assert [n["params"]["day"] for n in digests] == [WORKING_DAY.isoformat()]  # none for the day off
        assert f"{project['name']}（{project['code']}）" in digests[0]["text_zh"]
        assert project["problem"] in digests[0]["text_zh"] and digests[0]["link"] == "/"

    async def mailed() -> Mail:
        found = [m for m in stack.mailbox.to("office-1@demo.invalid") if "每日简报" in m.subject]
        assert found
        return found[0]

    mail = await eventually(mailed, within=30)
    assert mail.subject == f"【项目审批】每日简报：{WORKING_DAY.isoformat()}"
    assert f"打开系统：{PUBLIC_URL}/" in mail.body


async def test_the_worker_starts_one_dispatcher_and_one_digest_schedule_whatever_how_often(stack: Stack) -> None:
    await start_background_work(stack.client, stack.settings)  # a second worker starting: nothing new
    queue = stack.settings.task_queue
    query = f"WorkflowType = 'NotificationDispatcher' AND ExecutionStatus = 'Running' AND TaskQueue = '{queue}'"

    async def one_dispatcher() -> None:
        assert [w.id async for w in stack.client.list_workflows(query)] == [dispatcher_id(queue)]

    await eventually(one_dispatcher, within=10)
    schedule = (await stack.client.get_schedule_handle(digest_schedule_id(queue)).describe()).schedule
    [calendar] = schedule.spec.calendars
    assert (calendar.hour, calendar.minute) == ((ScheduleRange(8),), (ScheduleRange(30),))
    assert schedule.spec.time_zone_name == "Asia/Shanghai"
    assert isinstance(schedule.action, ScheduleActionStartWorkflow)
    assert (schedule.action.workflow, schedule.action.task_queue) == ("DailyDigest", queue)
