"""The working-day calendar behind every time limit (承诺时限).

Pure code: no I/O, no database, no reading of the current time. Callers pass
instants in and get instants or working-day counts out, so the same inputs
always give the same deadline (docs/time.md, "Working days").

Two ways of counting, both over whole calendar days in the calendar's timezone:

- statutory (whole days): a day counts once its close of business has passed;
  `close_of`, `count_closes` and `nth_close` are the primitives
  `domain.clock.compute_timing` builds deadlines from;
- continuous: working time flows through working days and stands still on days
  off (`working_days_between`, `add_working_days`), for clocks started before
  statutory counting and for the compressed demo clock (unless it counts
  whole compressed days).

The data (which days are off) comes from domain/holidays.py.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain import holidays

ONE_DAY = timedelta(days=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class WorkCalendar:
    """The real calendar: official arrangements per year, rule-based fallback for the rest.

    `closes` is the office's close of business, in the calendar's timezone; None
    means 24:00, the end of the day.
    """

    def __init__(
        self,
        years: Mapping[int, holidays.YearArrangement] | Iterable[holidays.YearArrangement],
        tz: str = "Asia/Shanghai",
        closes: time | None = None,
    ) -> None:
        if closes is not None and (closes.tzinfo is not None or closes == time()):
            raise ValueError(f"closes must be a local time after 00:00 (None for 24:00), got {closes}")
        self._years = _index_by_year(years)
        self._tz = ZoneInfo(tz)
        self._closes = closes

    @property
    def counts_whole_days(self) -> bool:
        """True: this calendar can count statutory periods in whole days."""
        return True

    def loaded_years(self) -> frozenset[int]:
        """Years with an arrangement from a real source; every other year is provisional."""
        return frozenset(self._years)

    def is_working_day(self, day: date) -> bool:
        """Whether `day` is a working day (Mon-Fri unless a holiday, or a weekend make-up day)."""
        if isinstance(day, datetime):
            # A datetime never equals a date, so it would silently miss every holiday.
            raise TypeError(f"is_working_day expects a date, got datetime {day.isoformat()}")
        return self._works(day)

    # --- statutory counting: whole days, each counted at its close of business ---------------

    def close_of(self, instant: datetime) -> datetime:
        """The first close of business at or after `instant`: the close of the day `instant` belongs to.

        An instant exactly at a close belongs to the day that closed; after hours belongs to the next day.
        """
        _require_aware(instant)
        return self._close(self._closing_day(instant)).astimezone(instant.tzinfo)

    def count_closes(self, after: datetime, until: datetime) -> int:
        """How many working days close in (after, until]; 0 when `until` is not after `after`."""
        _require_aware(after, until)
        return self._count_working(self._first_day_closing_after(after), self._last_day_closed_by(until))

    def nth_close(self, after: datetime, n: int) -> datetime:
        """The close of the n-th working day closing after `after`; `after` itself for n = 0.

        The result carries `after`'s timezone. Walks day by day, so n is a limit, not years.
        """
        _require_aware(after)
        if not isinstance(n, int) or n < 0:
            raise ValueError(f"n must be a whole number, not negative, got {n}")
        if n == 0:
            return after
        day = self._first_day_closing_after(after)
        while True:
            if self._works(day):
                n -= 1
                if n == 0:
                    return self._close(day).astimezone(after.tzinfo)
            day += ONE_DAY

    # --- continuous counting: fractions of working days ----------------------------------------

    def working_days_between(self, start: datetime, end: datetime) -> float:
        """Working time from `start` to `end`, in working days; 0 when `end` is not after `start`."""
        _require_aware(start, end)
        if end <= start:
            return 0.0
        first, start_fraction = self._position(start)
        last, end_fraction = self._position(end)
        # Count the working days touched, whole, then trim the parts outside [start, end].
        total = float(self._count_working(first, last))
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

    # --- days ------------------------------------------------------------------------------------

    def _arrangement(self, year: int) -> holidays.YearArrangement:
        return self._years.get(year) or holidays.rule_based_year(year)

    def _works(self, day: date) -> bool:
        arrangement = self._arrangement(day.year)
        if day in arrangement.workdays:
            return True
        return day.weekday() < holidays.SATURDAY and day not in arrangement.holidays

    def _count_working(self, first: date, last: date) -> int:
        """Working days from `first` to `last`, both included, by arithmetic per year (no day walk)."""
        total = 0
        for year in range(first.year, last.year + 1):
            low, high = max(first, date(year, 1, 1)), min(last, date(year, 12, 31))
            if low > high:
                continue
            arrangement = self._arrangement(year)
            off = arrangement.holidays - arrangement.workdays
            total += _weekdays(low, high)
            total -= sum(1 for day in off if low <= day <= high and day.weekday() < holidays.SATURDAY)
            total += sum(1 for day in arrangement.workdays if low <= day <= high and day.weekday() >= holidays.SATURDAY)
        return total

    # --- closes of business ------------------------------------------------------------------------

    def _close(self, day: date) -> datetime:
        """The close of business of local `day`, in UTC."""
        if self._closes is None:
            return datetime.combine(day + ONE_DAY, time(), tzinfo=self._tz).astimezone(UTC)
        return datetime.combine(day, self._closes, tzinfo=self._tz).astimezone(UTC)

    def _closing_day(self, instant: datetime) -> date:
        """The day whose close is the first close at or after `instant`."""
        moment = _utc(instant)
        day = instant.astimezone(self._tz).date() - ONE_DAY
        while self._close(day) < moment:
            day += ONE_DAY
        return day

    def _first_day_closing_after(self, instant: datetime) -> date:
        day = self._closing_day(instant)
        return day + ONE_DAY if self._close(day) == _utc(instant) else day

    def _last_day_closed_by(self, instant: datetime) -> date:
        day = self._closing_day(instant)
        return day if self._close(day) == _utc(instant) else day - ONE_DAY

    # --- positions within a day (continuous counting) ------------------------------------------------

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
    """Demo and test clock: one working day lasts `workday_seconds` of wall time, every day works.

    By default it counts continuously (`counts_whole_days` is False) and refuses the whole-day
    primitives. With `whole_days`, statutory clocks count whole compressed days as the real
    calendar does: a day closes every `workday_seconds` (at whole multiples of it since the Unix
    epoch), so every step due on a day falls due at the same close, as on a real working day.
    """

    def __init__(self, workday_seconds: float, whole_days: bool = False) -> None:
        if workday_seconds <= 0:
            raise ValueError(f"workday_seconds must be positive, got {workday_seconds}")
        self._workday = timedelta(seconds=workday_seconds)
        self._whole_days = whole_days

    @property
    def counts_whole_days(self) -> bool:
        """Whether statutory clocks count whole compressed days (else continuously, whatever they ask)."""
        return self._whole_days

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

    def close_of(self, instant: datetime) -> datetime:
        """The first close at or after `instant` (an instant exactly at a close belongs to the day that closed)."""
        _require_aware(instant)
        return self._close(-(-self._elapsed(instant) // self._step)).astimezone(instant.tzinfo)

    def count_closes(self, after: datetime, until: datetime) -> int:
        """How many compressed days close in (after, until]; 0 when `until` is not after `after`."""
        _require_aware(after, until)
        return max(0, self._elapsed(until) // self._step - self._elapsed(after) // self._step)

    def nth_close(self, after: datetime, n: int) -> datetime:
        """The n-th close after `after`; `after` itself for n = 0."""
        _require_aware(after)
        if not isinstance(n, int) or n < 0:
            raise ValueError(f"n must be a whole number, not negative, got {n}")
        if n == 0:
            return after
        return self._close(self._elapsed(after) // self._step + n).astimezone(after.tzinfo)

    @property
    def _step(self) -> int:
        """A compressed day in microseconds; whole-day counting needs it."""
        if not self._whole_days:
            raise NotImplementedError("this compressed clock counts continuously")
        return self._workday // timedelta(microseconds=1)

    @staticmethod
    def _elapsed(instant: datetime) -> int:
        """Microseconds since the Unix epoch: days are counted from there, so every process agrees on them."""
        return (_utc(instant) - EPOCH) // timedelta(microseconds=1)

    def _close(self, days: int) -> datetime:
        """The close of the `days`-th compressed day since the epoch, in UTC."""
        return EPOCH + timedelta(microseconds=days * self._step)


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


def _weekdays(first: date, last: date) -> int:
    """Mondays to Fridays from `first` to `last`, both included."""
    whole_weeks, rest = divmod((last - first).days + 1, 7)
    return 5 * whole_weeks + sum(1 for offset in range(rest) if (first.weekday() + offset) % 7 < holidays.SATURDAY)


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
