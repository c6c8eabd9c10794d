"""The caller's own notifications, for the JSON API and the pages alike: a page of them with the
unread count, and marking them read (docs/notifications.md)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from api.errors import not_found
from api.schemas import NotificationOut, NotificationPage, NotificationsRead
from models.notification_store import mark_all_read, mark_read, notifications_of, unread_count
from models.tables import NotificationRow

# Ids are 32-bit in the read model.
MAX_ID = 2_147_483_647
CURSOR = r"^[1-9][0-9]{0,9}$"


def notification_out(row: NotificationRow) -> NotificationOut:
    link = f"/p/{row.project_code}" if row.project_code else "/"
    return NotificationOut.model_validate({**row.model_dump(), "params": row.params or {}, "link": link})


async def notification_page(
    db: AsyncSession, username: str, limit: int, cursor: str | None, unread: bool
) -> NotificationPage:
    """The user's notifications, newest first, after `cursor` (the `next_cursor` of the page before)."""
    before = min(int(cursor), MAX_ID) if cursor else None  # a larger cursor is past every id
    rows, more = await notifications_of(db, username, limit, before, unread)
    items = [notification_out(r) for r in rows]
    next_cursor = str(items[-1].id) if more and items else None
    return NotificationPage(items=items, unread_count=await unread_count(db, username), next_cursor=next_cursor)


async def read_all(db: AsyncSession, username: str) -> NotificationsRead:
    """Mark every notification of the user read."""
    marked = await mark_all_read(db, username, datetime.now(UTC))
    return NotificationsRead(marked=marked, unread_count=await unread_count(db, username))


async def read_one(db: AsyncSession, username: str, notification_id: int) -> NotificationOut:
    """Mark one of the user's own notifications read; someone else's is not found (404)."""
    row = await mark_read(db, username, notification_id, datetime.now(UTC))
    if row is None:
        raise not_found(f"notification {notification_id}")
    return notification_out(row)


__all__ = ["CURSOR", "MAX_ID", "notification_page", "read_all", "read_one", "unread_count"]
