"""The delivery rows' side of the outbox: which are due, claiming one, and what became of it.

A delivery is claimed before it is sent by moving its next attempt past the lease: another
dispatcher (or a retried activity after a worker died) cannot take it meanwhile, and once the lease
runs out with no outcome recorded (the sender died), it is due again (docs/notifications.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Update, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from domain.notices import Digest, DigestItem, quoted
from models.tables import DeliveryRow, NotificationRow, ProblemRow, ProjectRow, UserRow

ERROR_LIMIT = 500


@dataclass(frozen=True)
class Outgoing:
    """A due delivery with what its message needs: the notification and its reader as they are now."""

    delivery_id: int
    channel: str
    message_id: str
    attempts: int
    kind: str
    params: dict[str, Any]
    project_code: str | None
    text_zh: str
    text_en: str
    user: UserRow


async def due_deliveries(session: AsyncSession, now: datetime, limit: int) -> list[Outgoing]:
    """Pending deliveries whose next attempt is due, oldest due first."""
    stmt = (
        select(DeliveryRow, NotificationRow, UserRow)
        .join(NotificationRow, col(NotificationRow.id) == col(DeliveryRow.notification_id))
        .join(UserRow, col(UserRow.username) == col(NotificationRow.username))
        .where(col(DeliveryRow.status) == "pending", col(DeliveryRow.next_attempt_at) <= now)
        .order_by(col(DeliveryRow.next_attempt_at), col(DeliveryRow.id))
        .limit(limit)
    )
    return [
        Outgoing(
            delivery_id=d.id or 0,
            channel=d.channel,
            message_id=d.message_id,
            attempts=d.attempts,
            kind=n.kind,
            params=n.params or {},
            project_code=n.project_code,
            text_zh=n.text_zh,
            text_en=n.text_en,
            user=u,
        )
        for d, n, u in (await session.exec(stmt)).all()
    ]


def _while_due(delivery_id: int, now: datetime) -> Update:
    """An update of the delivery that applies only while it is pending and due (no one holds it)."""
    return update(DeliveryRow).where(
        col(DeliveryRow.id) == delivery_id,
        col(DeliveryRow.status) == "pending",
        col(DeliveryRow.next_attempt_at) <= now,
    )


async def claim(session: AsyncSession, delivery_id: int, now: datetime, lease_until: datetime) -> bool:
    """Take a due delivery for one attempt, until `lease_until`; False if someone else has it."""
    stmt = _while_due(delivery_id, now).values(next_attempt_at=lease_until).returning(col(DeliveryRow.id))
    claimed = (await session.execute(stmt)).first() is not None
    await session.commit()
    return claimed


async def settle(
    session: AsyncSession,
    delivery_id: int,
    status: str,
    now: datetime,
    retry_at: datetime | None = None,
    error: str | None = None,
) -> None:
    """Record one attempt's outcome: sent, failed for good, skipped, or pending again at `retry_at`."""
    values: dict[str, Any] = {
        "status": status,
        "attempts": col(DeliveryRow.attempts) + 1,
        "last_error": error[:ERROR_LIMIT] if error else None,
    }
    if status == "sent":
        values["sent_at"] = now
    if retry_at is not None:
        values["next_attempt_at"] = retry_at
    await session.execute(update(DeliveryRow).where(col(DeliveryRow.id) == delivery_id).values(**values))
    await session.commit()


async def release(session: AsyncSession, delivery_id: int, now: datetime, retry_at: datetime) -> None:
    """Put off a due delivery unattempted (its channel is down) until `retry_at`, unless someone has it."""
    await session.execute(_while_due(delivery_id, now).values(next_attempt_at=retry_at))
    await session.commit()


async def release_claim(session: AsyncSession, delivery_id: int, retry_at: datetime) -> None:
    """Give back a claimed delivery unattempted: due again at `retry_at`."""
    await session.execute(
        update(DeliveryRow).where(col(DeliveryRow.id) == delivery_id).values(next_attempt_at=retry_at)
    )
    await session.commit()


async def digest_of(session: AsyncSession, day: date) -> Digest:
    """The office's digest for `day`: live red projects, and open problems at level 3 or 4."""
    red = await session.exec(
        select(ProjectRow.code, ProjectRow.name)
        .where(col(ProjectRow.colour) == "red", col(ProjectRow.live))
        .order_by(col(ProjectRow.code))
    )
    problems = await session.exec(
        select(ProblemRow, ProjectRow.name)
        .join(ProjectRow, col(ProjectRow.code) == col(ProblemRow.code))
        .where(col(ProblemRow.status) == "open", col(ProblemRow.level) >= 3)
        .order_by(col(ProblemRow.level).desc(), col(ProblemRow.opened_at))
    )
    return Digest(
        day=day,
        red=[DigestItem(code=code, name=name) for code, name in red.all()],
        problems=[
            DigestItem(code=p.code, name=name, problem=p.id, level=p.level, summary=quoted(p.summary))
            for p, name in problems.all()
        ],
    )
