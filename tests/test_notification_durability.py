"""A worker killed while a mail is on its way: the mail arrives once, after the worker restarts.

Real processes: a worker process (SIGKILLed), an SMTP server in the test process that holds the
mail at RCPT (a slow server) until the worker is dead, the real API (docs/notifications.md,
"Guarantees").
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from api.main import create_app
from launch.processes import ChildProcess, service_env, start_worker
from settings import Settings
from tests.chain import create
from tests.conftest import Api, eventually, open_api
from tests.support.mailbox import Mailbox
from tests.support.outbox import MAIL_DOMAIN, deliveries, notifying_settings

pytestmark = pytest.mark.asyncio(loop_scope="session")
SEND_TIMEOUT = 10.0


def worker_process(settings: Settings) -> ChildProcess:
    """A real worker process whose notices go out by mail (the gateway is left out)."""
    env = {
        **service_env(settings),
        "APPROVALS_SMTP_URL": settings.smtp_url or "",
        "APPROVALS_MAIL_FROM": settings.mail_from,
        "APPROVALS_PUBLIC_URL": settings.public_url or "",
        "APPROVALS_NOTIFY_SEND_TIMEOUT_SECONDS": str(SEND_TIMEOUT),
    }
    return start_worker(env)


@pytest.fixture
async def mailing() -> AsyncIterator[tuple[Settings, Mailbox, Api]]:
    async with notifying_settings(webhook_url=None, webhook_secret=None) as (settings, mailbox, _):
        async for api in open_api(create_app(settings)):
            yield settings, mailbox, api


async def test_a_worker_killed_mid_send_sends_the_mail_once_after_it_restarts(
    mailing: tuple[Settings, Mailbox, Api],
) -> None:
    settings, mailbox, api = mailing
    worker = worker_process(settings)
    try:
        project = await create(api, name=f"Riverside plant {uuid.uuid4().hex[:6]}")
        code = project["code"]
        mailbox.hold()  # the SMTP server answers no RCPT for now
        r = await api.post(f"/projects/{code}/steps/project_approval/submit", "owner-a", json={})
        assert r.status_code == 200, r.text

        async def held_at_rcpt() -> None:
            assert mailbox.waiting.is_set(), "the mail has not reached the SMTP server yet"

        await eventually(held_at_rcpt, within=60)
        worker.kill()  # SIGKILL, mid-send
        mailbox.release()
        assert mailbox.mails == []
        worker = worker_process(settings)

        async def arrived() -> None:
            assert [m for m in mailbox.to("reviewer-drc@demo.invalid") if f"/p/{code}" in m.body]

        await eventually(arrived, within=90, interval=0.2)
        delivery = (await deliveries(settings, "reviewer-drc", code, "submitted"))["email"]
        assert delivery.status == "sent" and delivery.attempts == 1  # the killed attempt never settled
        about = [m for m in mailbox.mails if f"/p/{code}" in m.body]
        assert [m.message_id for m in about] == [f"<{delivery.message_id}@{MAIL_DOMAIN}>"]  # once
    finally:
        worker.stop()
