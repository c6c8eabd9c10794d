"""The working-day calendar as the office keeps it: one row per year, loaded into a WorkCalendar."""

from __future__ import annotations

from datetime import UTC, date, datetime
from datetime import time as clock_time

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from domain.calendar import CompressedClock, WorkCalendar
from domain.clock import Calendar
from domain.holidays import YearArrangement, arrangement_from_lists
from models.kept import Kept
from models.tables import CalendarYearRow
from settings import Settings


async def load_calendar(session: AsyncSession, tz: str, closes: clock_time | None) -> WorkCalendar:
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
    return WorkCalendar(years, tz=tz, closes=closes)


async def save_year(session: AsyncSession, arrangement: YearArrangement, username: str) -> CalendarYearRow:
    """Store a year's arrangement, replacing what was there."""
    row = await session.get(CalendarYearRow, arrangement.year) or CalendarYearRow(
        year=arrangement.year, source=arrangement.source, updated_at=datetime.now(UTC), updated_by=username
    )
    row.holidays = sorted(d.isoformat() for d in arrangement.holidays)
    row.workdays = sorted(d.isoformat() for d in arrangement.workdays)
    row.source = arrangement.source
    row.updated_at = datetime.now(UTC)
    row.updated_by = username
    session.add(row)
    await session.commit()
    return row


class CalendarSource:
    """The calendar deadlines are counted with: compressed for demos and tests, else the office's."""

    def __init__(
        self, workday_seconds: float, tz: str, closes: clock_time | None = None, whole_days: bool = False
    ) -> None:
        self._compressed = CompressedClock(workday_seconds, whole_days) if workday_seconds > 0 else None
        self._office: Kept[WorkCalendar] = Kept(lambda session: load_calendar(session, tz, closes))

    @classmethod
    def of(cls, settings: Settings) -> CalendarSource:
        """The calendar the settings describe: compressed (APPROVALS_WORKDAY_SECONDS) or the office's."""
        return cls(settings.workday_seconds, settings.timezone, settings.closes, settings.workday_whole_days)

    async def calendar(self, session: AsyncSession, fresh: bool = False) -> Calendar:
        """The current calendar: reloaded when `fresh`, else at most every CACHE_SECONDS (models/kept.py)."""
        if self._compressed is not None:
            return self._compressed
        return await self._office.get(session, fresh)

    def invalidate(self) -> None:
        """Forget the cached calendar (after the office changed it)."""
        self._office.invalidate()
