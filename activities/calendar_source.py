"""Supplies the working-day calendar to activities: the office's data from the database, cached."""

from __future__ import annotations

import time
from datetime import date

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from domain.calendar import Clock, CompressedClock, WorkCalendar, arrangement_from_lists
from models.tables import CalendarYearRow

CACHE_SECONDS = 30.0


async def load_calendar(session: AsyncSession, tz: str) -> WorkCalendar:
    """Every loaded year from the calendar table."""
    rows = (await session.exec(select(CalendarYearRow))).all()
    years = [
        arrangement_from_lists(
            row.year,
            [date.fromisoformat(d) for d in row.holidays or []],
            [date.fromisoformat(d) for d in row.workdays or []],
            source=row.source,
        )
        for row in rows
    ]
    return WorkCalendar(years, tz=tz)


class CalendarSource:
    """The clock deadlines are computed with: compressed for demos and tests, else the calendar."""

    def __init__(self, workday_seconds: float, tz: str) -> None:
        self._compressed = CompressedClock(workday_seconds) if workday_seconds > 0 else None
        self._tz = tz
        self._cached: WorkCalendar | None = None
        self._loaded_at = 0.0

    async def clock(self, session: AsyncSession) -> Clock:
        """The current clock; the calendar is reloaded at most every CACHE_SECONDS."""
        if self._compressed is not None:
            return self._compressed
        if self._cached is None or time.monotonic() - self._loaded_at > CACHE_SECONDS:
            self._cached = await load_calendar(session, self._tz)
            self._loaded_at = time.monotonic()
        return self._cached

    def invalidate(self) -> None:
        """Forget the cached calendar (after the office changed it)."""
        self._cached = None
