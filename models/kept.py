"""What the office keeps in the database and every request reads (the calendar, the catalog),
kept in memory between loads."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from sqlmodel.ext.asyncio.session import AsyncSession

# How long a process goes on with what it loaded: a change saved through another process reaches
# it within this; one saved through it at once (`invalidate`).
CACHE_SECONDS = 30.0
T = TypeVar("T")


class Kept(Generic[T]):
    """A value loaded with `load`, again at most every CACHE_SECONDS, at once when asked `fresh` or
    after `invalidate`."""

    def __init__(self, load: Callable[[AsyncSession], Awaitable[T]]) -> None:
        self._load = load
        self._value: T | None = None
        self._loaded_at = 0.0

    async def get(self, session: AsyncSession, fresh: bool = False) -> T:
        if fresh or self._value is None or time.monotonic() - self._loaded_at > CACHE_SECONDS:
            self._value = await self._load(session)
            self._loaded_at = time.monotonic()
        return self._value

    def invalidate(self) -> None:
        """Forget the value (it was just changed): the next read loads it."""
        self._value = None
