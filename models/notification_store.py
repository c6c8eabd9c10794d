"""Notifications in the read model: the outbox the publish writes, and what a user reads of it.

`write_notifications` turns notices (domain/notices.py) into one row per user, and one delivery
row per channel the user takes, queued in the caller's batch (models/batch.py) and so in its
transaction: the publish writes them in the same transaction as the project's events
(docs/notifications.md, "Guarantees").
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import cache, lru_cache
from typing import Any, NamedTuple

from sqlalchemy import Select, Table, and_, bindparam, func, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from domain.access import Actor
from domain.notice_texts import CHINESE, ENGLISH, sentence
from domain.notices import Audience, Notice
from models.batch import Answer, Batch
from models.db import dialect_insert, dialect_of
from models.tables import DeliveryRow, NotificationRow, UserRow

EMAIL, WEBHOOK = "email", "webhook"
CHANNELS = (EMAIL, WEBHOOK)


def origin_of(notice: Notice, project_code: str | None) -> str:
    """What a notification tells of: a project's event, or the digest of a day."""
    if project_code is not None:
        return f"{project_code}#{notice.seq}"
    return f"{notice.kind}#{notice.params.get('day', '')}"


class Person(NamedTuple):
    """What notices need of a user: who they are to the rules, and where notices reach them."""

    username: str
    role: str
    department: str | None
    stage: str | None
    organisation: str | None
    active: bool
    email: str | None
    email_enabled: bool
    mobile: str | None
    webhook_enabled: bool


def as_actor(user: UserRow | Person) -> Actor:
    """A user as the rules see people."""
    return Actor(
        username=user.username,
        role=user.role,
        department=user.department,
        stage=user.stage,
        organisation=user.organisation,
    )


def takes(user: UserRow | Person, channel: str) -> bool:
    """Whether the user (active) wants notices on this channel and has an address for it."""
    if not user.active:
        return False
    if channel == EMAIL:
        return user.email_enabled and bool(user.email)
    return user.webhook_enabled and bool(user.mobile)


async def recipients(session: AsyncSession, audiences: Iterable[Audience]) -> list[Person]:
    """The active users any of the audiences describes."""
    batch = Batch(session)
    people = ask_recipients(batch, audiences)
    await batch.send()
    return people_of(people)


def ask_recipients(batch: Batch, audiences: Iterable[Audience]) -> Answer | None:
    """Queue the query for the active users any of the audiences describes (None: no audience)."""
    wanted = [a.model_dump(mode="json", exclude_none=True) for a in dict.fromkeys(audiences)]
    if not wanted:
        return None
    shapes = tuple(tuple(bound) for bound in wanted)
    params = {f"{field}_{n}": value for n, bound in enumerate(wanted) for field, value in bound.items()}
    return batch.ask(_people_statement(shapes), params)


def people_of(answer: Answer | None) -> list[Person]:
    return [] if answer is None else [Person(*row) for row in answer.rows]


@lru_cache(maxsize=256)
def _people_statement(shapes: tuple[tuple[str, ...], ...]) -> Select[Any]:
    """The users matching any audience of these shapes (the fields each binds), values as parameters
    named field_n: one statement per shape, built and compiled once, whatever the values."""
    users: Table = UserRow.__table__  # type: ignore[attr-defined]
    matches = (
        and_(*(users.c[field] == bindparam(f"{field}_{n}") for field in shape)) for n, shape in enumerate(shapes)
    )
    return sa_select(*(users.c[name] for name in Person._fields)).where(users.c.active, or_(*matches))


def write_notifications(
    batch: Batch,
    notices: Sequence[Notice],
    project_code: str | None,
    channels: Iterable[str],
    now: datetime,
    users: list[Person],
) -> int:
    """Queue one notification per notice and user (among `users`, the recipients of the notices'
    audiences), and a delivery per channel the user takes (only the channels the service has
    configured), in `batch`; how many notifications. Idempotent: a repeat rewrites the same
    notifications and keeps their deliveries."""
    if not notices:
        return 0
    people = [(user, as_actor(user)) for user in users]
    rows: list[dict[str, Any]] = []
    deliveries: list[dict[str, Any]] = []
    channels = list(channels)
    for notice in notices:
        origin = origin_of(notice, project_code)
        texts = {lang: sentence(notice.kind, notice.params, lang) for lang in (CHINESE, ENGLISH)}
        for user, actor in people:
            if user.username == notice.actor or not any(a.includes(actor) for a in notice.audiences):
                continue
            rows.append(
                {
                    "origin": origin,
                    "username": user.username,
                    "kind": notice.kind,
                    "project_code": project_code,
                    "event_seq": notice.seq,
                    "step": notice.step,
                    "params": notice.params,
                    "text_zh": texts[CHINESE],
                    "text_en": texts[ENGLISH],
                    "created_at": notice.at,
                }
            )
            deliveries.extend(
                {
                    "origin": origin,
                    "username": user.username,
                    "channel": channel,
                    "message_id": uuid.uuid4().hex,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for channel in channels
                if takes(user, channel)
            )
    dialect = dialect_of(batch.session)
    batch.add(_notification_upsert(dialect), rows)
    # Each delivery finds its notification by (origin, username), so no id has to come back first.
    batch.add(_delivery_insert(dialect), deliveries)
    return len(rows)


@cache
def _notification_upsert(dialect: str) -> Any:
    # Built once per dialect, as the publish's other statements: building it cost as much as a row.
    table: Table = NotificationRow.__table__  # type: ignore[attr-defined]
    stmt = dialect_insert(dialect, table)
    rewritten = {name: stmt.excluded[name] for name in ("kind", "step", "params", "text_zh", "text_en")}
    return stmt.on_conflict_do_update(index_elements=["origin", "username"], set_=rewritten)


@cache
def _delivery_insert(dialect: str) -> Any:
    """A delivery for the notification of (origin, username); a delivery already there is kept."""
    notifications: Table = NotificationRow.__table__  # type: ignore[attr-defined]
    table: Table = DeliveryRow.__table__  # type: ignore[attr-defined]
    given = ("channel", "message_id", "status", "attempts", "next_attempt_at", "created_at")
    chosen = sa_select(notifications.c.id, *(bindparam(name, type_=table.c[name].type) for name in given)).where(
        notifications.c.origin == bindparam("origin"), notifications.c.username == bindparam("username")
    )
    stmt = dialect_insert(dialect, table).from_select(["notification_id", *given], chosen)
    return stmt.on_conflict_do_nothing(index_elements=["notification_id", "channel"])


# ---- what a user reads -------------------------------------------------------------------------


async def notifications_of(
    session: AsyncSession, username: str, limit: int, before: int | None, unread_only: bool
) -> tuple[list[NotificationRow], bool]:
    """The user's notifications, newest first, a page at a time (ids below `before`); whether more follow."""
    stmt = select(NotificationRow).where(col(NotificationRow.username) == username)
    if before is not None:
        stmt = stmt.where(col(NotificationRow.id) < before)
    if unread_only:
        stmt = stmt.where(col(NotificationRow.read_at).is_(None))
    rows = list((await session.exec(stmt.order_by(col(NotificationRow.id).desc()).limit(limit + 1))).all())
    return rows[:limit], len(rows) > limit


async def unread_count(session: AsyncSession, username: str) -> int:
    """The user's unread notifications: the bell of every page (its statement kept, not rebuilt)."""
    return int((await (await session.connection()).execute(UNREAD, {"username": username})).scalar_one())


UNREAD = sa_select(func.count()).where(
    col(NotificationRow.username) == bindparam("username"), col(NotificationRow.read_at).is_(None)
)


async def mark_read(
    session: AsyncSession, username: str, notification_id: int, now: datetime
) -> NotificationRow | None:
    """Mark one of the user's own notifications read (once: a repeat keeps the first time)."""
    row = await session.get(NotificationRow, notification_id)
    if row is None or row.username != username:
        return None
    if row.read_at is None:
        row.read_at = now
        session.add(row)
        await session.commit()
    return row


async def mark_all_read(session: AsyncSession, username: str, now: datetime) -> int:
    """Mark every unread notification of the user read; how many."""
    result = await session.execute(
        update(NotificationRow)
        .where(col(NotificationRow.username) == username, col(NotificationRow.read_at).is_(None))
        .values(read_at=now)
    )
    await session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
