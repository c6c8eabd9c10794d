"""Reading the notifications outbox of a test database, and a stack whose notices leave by mail and webhook."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlmodel import col, select

from launch.databases import create_database, drop_database, migrate
from launch.processes import TemporalDevServer
from models.db import make_engine, session_factory
from models.seed import seed
from models.tables import DeliveryRow, NotificationRow
from settings import Settings
from tests.conftest import make_settings
from tests.support.mailbox import Gateway, Mailbox

PUBLIC_URL = "https://approvals.example.gov.cn"
MAIL_FROM = "Approvals <noreply@approvals.example.gov.cn>"
MAIL_DOMAIN = "approvals.example.gov.cn"
WEBHOOK_SECRET = "gateway-shared-secret"


async def deliveries(settings: Settings, username: str, code: str, kind: str) -> dict[str, DeliveryRow]:
    """The deliveries of the user's notification of that kind on that project, by channel."""
    engine = make_engine(settings.database_url)
    try:
        async with session_factory(engine)() as db:
            rows = await db.exec(
                select(DeliveryRow)
                .join(NotificationRow, col(NotificationRow.id) == col(DeliveryRow.notification_id))
                .where(
                    col(NotificationRow.username) == username,
                    col(NotificationRow.project_code) == code,
                    col(NotificationRow.kind) == kind,
                )
            )
            return {row.channel: row for row in rows.all()}
    finally:
        await engine.dispose()


@asynccontextmanager
async def notifying_settings(**overrides: Any) -> AsyncIterator[tuple[Settings, Mailbox, Gateway]]:
    """Settings on a Temporal server and a database of their own (project codes start again from
    the first serial, so they must not meet another database's workflows), whose notices go to a
    real SMTP server and a real gateway on loopback (the gateway listens only once a test serves it)."""
    mailbox, gateway = Mailbox(), Gateway()
    mailbox.start()
    server = TemporalDevServer.start()
    url = create_database(os.environ.get("APPROVALS_TEST_DATABASE_URL"))
    try:
        migrate(url)
        channels: dict[str, Any] = {
            "smtp_url": mailbox.url,
            "mail_from": MAIL_FROM,
            "webhook_url": gateway.url,
            "webhook_secret": WEBHOOK_SECRET,
            "public_url": PUBLIC_URL,
        }
        settings = make_settings(url, server.address, **{**channels, **overrides})
        await seed(settings)
        yield settings, mailbox, gateway
    finally:
        mailbox.stop()
        server.stop()
        drop_database(url)
