"""The caller's own notifications: the list with its unread count, and marking them read
(docs/notifications.md; the logic is api/notifications.py, which the pages call too). Another
user's notification is not found, whatever its id."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api import notifications
from api.deps import SessionDep, UserDep
from api.notifications import CURSOR, MAX_ID
from api.schemas import NotificationOut, NotificationPage, NotificationsRead

router = APIRouter(tags=["notifications"])
NotificationId = Annotated[int, Path(ge=1, le=MAX_ID, description="A notification id of the caller's own.")]


@router.get("/notifications", response_model=NotificationPage)
async def get_notifications(
    user: UserDep,
    db: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(pattern=CURSOR, description="`next_cursor` of the page before.")] = None,
    unread: Annotated[bool, Query(description="Only the notifications not read yet.")] = False,
) -> NotificationPage:
    """The caller's notifications, newest first, a page at a time, with how many are unread."""
    return await notifications.notification_page(db, user.username, limit, cursor, unread)


@router.post("/notifications/read-all", response_model=NotificationsRead)
async def read_all(user: UserDep, db: SessionDep) -> NotificationsRead:
    """Mark every notification of the caller read."""
    return await notifications.read_all(db, user.username)


@router.post("/notifications/{notification_id}/read", response_model=NotificationOut)
async def read_one(notification_id: NotificationId, user: UserDep, db: SessionDep) -> NotificationOut:
    """Mark one of the caller's notifications read (a repeat keeps the first time)."""
    return await notifications.read_one(db, user.username, notification_id)
