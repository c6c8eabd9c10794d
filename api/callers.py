"""Recently authenticated users, kept for a few seconds so a request need not read its caller again.

A bearer token names a user; whether it still counts depends on the user's row (active, and the
cut-off `tokens_valid_after` that a password reset or a deactivation moves). Reading that row is
one database round trip per request, the largest part of the API's own time on an action. This
cache keeps each user's row for `TTL_SECONDS` and checks every token against the cached cut-off.

The bound (docs/security.md, "Tokens"): a reset or deactivation made through this API instance
forgets the user at once (`forget`), so the old tokens fail on the next request; one made by
another instance, or directly in the database, takes effect here within `TTL_SECONDS`.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import inspect
from sqlmodel.ext.asyncio.session import AsyncSession

from models.tables import UserRow

TTL_SECONDS = 5.0
MAX_USERS = 4096
COLUMNS = tuple(attr.key for attr in inspect(UserRow).mapper.column_attrs)


@dataclass(frozen=True)
class Cached:
    """A user's row as read at `read_at` (monotonic seconds), detached from any session."""

    user: UserRow
    read_at: float


class CallerCache:
    """Users by username, each for `ttl` seconds; the least recently read go first past `size`."""

    def __init__(
        self, ttl: float = TTL_SECONDS, size: int = MAX_USERS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.size = size
        self.clock = clock
        self._users: OrderedDict[str, Cached] = OrderedDict()

    async def user(self, db: AsyncSession, username: str) -> UserRow | None:
        """The user's row, detached: from the cache while it is young, else read.

        Every request of the user gets the same object while it is kept (building a copy for each
        cost a twentieth of a list's request), so it is only ever read: a route that changes a
        user reads its row from its own session (api/users.py) and then `forget`s it here."""
        cached = self._users.get(username)
        if cached is None or self.clock() - cached.read_at >= self.ttl:
            row = await db.get(UserRow, username)
            if row is None:
                self._users.pop(username, None)
                return None
            cached = Cached(UserRow(**{name: getattr(row, name) for name in COLUMNS}), self.clock())
            self._users[username] = cached
            self._users.move_to_end(username)
            while len(self._users) > self.size:
                self._users.popitem(last=False)
        return cached.user

    def forget(self, username: str) -> None:
        """The user changed here (reset, deactivated): the next request reads it again."""
        self._users.pop(username, None)


def token_counts(user: UserRow | None, issued: datetime) -> bool:
    """Whether a token issued at `issued` still names this user: active, and issued after its cut-off."""
    if user is None or not user.active:
        return False
    return user.tokens_valid_after is None or issued >= user.tokens_valid_after
