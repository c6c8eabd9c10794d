"""The caller's own notifications: the list with its unread count, and marking them read
(docs/notifications.md). Another user's notification is not found, whatever its id."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.deps import SessionDep, UserDep
from api.errors import not_found
from api.schemas import NotificationOut, NotificationPage, NotificationsRead
from models.notification_store import mark_all_read, mark_read, notifications_of, unread_count
from models.tables import NotificationRow

router = APIRouter(tags=["notifications"])
# Ids are 32-bit in the read model.
MAX_ID = 2_147_483_647
NotificationId = Annotated[int, Path(ge=1, le=MAX_ID, description="A notification id of the caller's own.")]


def notification_out(row: NotificationRow) -> NotificationOut:
    link = f"/p/{row.project_code}" if row.project_code else "/"
    return NotificationOut.model_validate({**row.model_dump(), "params": row.params or {}, "link": link})


@router.get("/notifications", response_model=NotificationPage)
async def get_notifications(
    user: UserDep,
    db: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[
        str | None, Query(pattern=r"^[1-9][0-9]{0,9}$", description="`next_cursor` of the page before.")
    ] = None,
    unread: Annotated[bool, Query(description="Only the notifications not read yet.")] = False,
) -> NotificationPage:
    """The caller's notifications, newest first, a page at a time, with how many are unread."""
    before = min(int(cursor), MAX_ID) if cursor else None  # a larger cursor is past every id
    rows, more = await notifications_of(db, user.username, limit, before, unread)
    items = [notification_out(r) for r in rows]
    next_cursor = str(items[-1].id) if more and items else None
    return NotificationPage(items=items, unread_count=await unread_count(db, user.username), next_cursor=next_cursor)


@router.post("/notifications/read-all", response_model=NotificationsRead)
async def read_all(user: UserDep, db: SessionDep) -> NotificationsRead:
    """Mark every notification of the caller read."""
    marked = await mark_all_read(db, user.username, datetime.now(UTC))
    return NotificationsRead(marked=marked, unread_count=await unread_count(db, user.username))


@router.post("/notifications/{notification_id}/read", response_model=NotificationOut)
async def read_one(notification_id: NotificationId, user: UserDep, db: SessionDep) -> NotificationOut:
    """Mark one of the caller's notifications read (a repeat keeps the first time)."""
    row = await mark_read(db, user.username, notification_id, datetime.now(UTC))
    if row is None:
        raise not_found(f"notification {notification_id}")
    return notification_out(row)
