"""The working-day calendar behind every time limit (承诺时限).

Pure code: no I/O, no database, no reading of the current time. Callers pass
instants in and get instants or working-day counts out, so the same inputs
always give the same deadline (docs/time.md, "Working days"). The data
(which days are off) comes from domain/holidays.py.

Model: a working day is a whole calendar day (00:00-24:00 in the calendar's
timezone). Working time flows continuously through working days and stands
still on days off, so a limit of 20 working days submitted at 10:00 ends at
10:00 on the 20th working day after.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol, runtime_checkable
from zoneinfo import ZoneInfo

from domain import holidays

ONE_DAY = timedelta(days=1)


@runtime_checkable
class Clock(Protocol):
    """What workflows and activities need from time: measure and extend working time."""

    def working_days_between(self, start: datetime, end: datetime) -> float: ...

    def add_working_days(self, start: datetime, days: float) -> datetime: ...

    def is_provisional(self, start: datetime, end: datetime) -> bool: ...


class WorkCalendar:
    """The real clock: official arrangements per year, rule-based fallback for the rest."""

    def __init__(
        self,
        years: Mapping[int, holidays.YearArrangement] | Iterable[holidays.YearArrangement],
        tz: str = "Asia/Shanghai",
    ) -> None:
        self._years = _index_by_year(years)
        self._tz = ZoneInfo(tz)

    def loaded_years(self) -> frozenset[int]:
        """Years with an arrangement from a real source; every other year is provisional."""
        return frozenset(self._years)

    def is_working_day(self, day: date) -> bool:
        """Whether `day` is a working day (Mon-Fri unless a holiday, or a weekend make-up day)."""
        if isinstance(day, datetime):
            # A datetime never equals a date, so it would silently miss every holiday.
            raise TypeError(f"is_working_day expects a date, got datetime {day.isoformat()}")
        return self._works(day)

    def working_days_between(self, start: datetime, end: datetime) -> float:
        """Working time from `start` to `end`, in working days; 0 when `end` is not after `start`."""
        _require_aware(start, end)
        if end <= start:
            return 0.0
        first, start_fraction = self._position(start)
        last, end_fraction = self._position(end)
        # Count the working days touched, whole, then trim the parts outside [start, end].
        total = float(sum(1 for day in _days(first, last) if self._works(day)))
        if self._works(first):
            total -= start_fraction
        if self._works(last):
            total -= 1.0 - end_fraction
        return total

    def add_working_days(self, start: datetime, days: float) -> datetime:
        """The earliest instant at which `days` working days have passed since `start`.

        Starting on a day off, the clock starts at the next working day's 00:00.
        The result carries `start`'s timezone.
        """
        _require_aware(start)
        _require_days(days)
        if days == 0:
            return start
        day, fraction = self._position(start)
        remaining = float(days)
        while True:
            if self._works(day):
                available = 1.0 - fraction
                if remaining <= available:
                    return self._instant(day, fraction + remaining).astimezone(start.tzinfo)
                remaining -= available
            day += ONE_DAY
            fraction = 0.0

    def is_provisional(self, start: datetime, end: datetime) -> bool:
        """True when any calendar day in [start, end] lies in a year that is not loaded."""
        _require_aware(start, end)
        first, _ = self._position(min(start, end))
        last, _ = self._position(max(start, end))
        return any(year not in self._years for year in range(first.year, last.year + 1))

    def _works(self, day: date) -> bool:
        arrangement = self._years.get(day.year) or holidays.rule_based_year(day.year)
        if day in arrangement.workdays:
            return True
        return day.weekday() < holidays.SATURDAY and day not in arrangement.holidays

    def _position(self, instant: datetime) -> tuple[date, float]:
        """The local calendar day holding `instant`, and the fraction of that day already gone."""
        day = instant.astimezone(self._tz).date()
        midnight, length = self._bounds(day)
        return day, (instant - midnight) / length

    def _instant(self, day: date, fraction: float) -> datetime:
        """The instant `fraction` of the way through local `day` (1.0 is the next midnight)."""
        midnight, length = self._bounds(day)
        return midnight + length * fraction

    def _bounds(self, day: date) -> tuple[datetime, timedelta]:
        """Local midnight of `day` in UTC, and the day's real length (not always 24 h under DST)."""
        midnight = datetime.combine(day, time(), tzinfo=self._tz).astimezone(UTC)
        next_midnight = datetime.combine(day + ONE_DAY, time(), tzinfo=self._tz).astimezone(UTC)
        return midnight, next_midnight - midnight


class CompressedClock:
    """Demo and test clock: one working day lasts `workday_seconds` of wall time, every day works."""

    def __init__(self, workday_seconds: float) -> None:
        if workday_seconds <= 0:
            raise ValueError(f"workday_seconds must be positive, got {workday_seconds}")
        self._workday = timedelta(seconds=workday_seconds)

    def working_days_between(self, start: datetime, end: datetime) -> float:
        """Elapsed wall time divided by the length of a compressed working day; 0 if not after."""
        _require_aware(start, end)
        return max(0.0, (_utc(end) - _utc(start)) / self._workday)

    def add_working_days(self, start: datetime, days: float) -> datetime:
        """`start` plus `days` compressed working days of wall time, in `start`'s timezone."""
        _require_aware(start)
        _require_days(days)
        return (_utc(start) + self._workday * days).astimezone(start.tzinfo)

    def is_provisional(self, start: datetime, end: datetime) -> bool:
        """Never: the compressed clock ignores the calendar altogether."""
        _require_aware(start, end)
        return False


def _index_by_year(
    years: Mapping[int, holidays.YearArrangement] | Iterable[holidays.YearArrangement],
) -> dict[int, holidays.YearArrangement]:
    """One arrangement per year; a mapping's keys must agree with the arrangements they hold."""
    if isinstance(years, Mapping):
        for key, arrangement in years.items():
            if key != arrangement.year:
                raise ValueError(f"arrangement for {arrangement.year} filed under {key}")
        return dict(years)
    indexed: dict[int, holidays.YearArrangement] = {}
    for arrangement in years:
        if arrangement.year in indexed:
            raise ValueError(f"year {arrangement.year} given twice")
        indexed[arrangement.year] = arrangement
    return indexed


def _days(first: date, last: date) -> Iterator[date]:
    """Every calendar day from `first` to `last`, both included."""
    for offset in range((last - first).days + 1):
        yield first + offset * ONE_DAY


def _require_aware(*instants: datetime) -> None:
    for instant in instants:
        if instant.tzinfo is None or instant.utcoffset() is None:
            raise ValueError(f"datetime must be timezone-aware, got naive {instant.isoformat()}")


def _require_days(days: float) -> None:
    # NaN or infinity would make the day walk run forever.
    if not math.isfinite(days) or days < 0:
        raise ValueError(f"days must be a finite number, not negative, got {days}")


def _utc(instant: datetime) -> datetime:
    # Subtracting two datetimes that share a tzinfo object ignores their offsets; UTC avoids that trap.
    return instant.astimezone(UTC)
