"""The working-day calendar behind every time limit (承诺时限).

Pure code: no I/O, no database, no reading of the current time. Callers pass
instants in and get instants or working-day counts out, so the same inputs
always give the same deadline (docs/time.md, "Working days").

Model: a working day is a whole calendar day (00:00-24:00 in the calendar's
timezone). Working time flows continuously through working days and stands
still on days off, so a limit of 20 working days submitted at 10:00 ends at
10:00 on the 20th working day after.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Protocol, runtime_checkable
from zoneinfo import ZoneInfo

ONE_DAY = timedelta(days=1)
SATURDAY = 5

# Solar dates of the lunar festivals the fallback calendar needs: 正月初一
# (Spring Festival), 五月初五 (Dragon Boat), 八月十五 (Mid-Autumn). A table
# rather than a lunar-conversion dependency: the common Python converter is
# GPL-licensed, and 41 lines of data are easy to audit. Generated with two
# independent converters (lunardate 0.3.0, borax 4.1.3) that agree on every
# row; the tests check the rows 2020-2026 against the official arrangements.
_LUNAR_FESTIVALS = """
2020 01-25 06-25 10-01
2021 02-12 06-14 09-21
2022 02-01 06-03 09-10
2023 01-22 06-22 09-29
2024 02-10 06-10 09-17
2025 01-29 05-31 10-06
2026 02-17 06-19 09-25
2027 02-06 06-09 09-15
2028 01-26 05-28 10-03
2029 02-13 06-16 09-22
2030 02-03 06-05 09-12
2031 01-23 06-24 10-01
2032 02-11 06-12 09-19
2033 01-31 06-01 09-08
2034 02-19 06-20 09-27
2035 02-08 06-10 09-16
2036 01-28 05-30 10-04
2037 02-15 06-18 09-24
2038 02-04 06-07 09-13
2039 01-24 05-27 10-02
2040 02-12 06-14 09-20
2041 02-01 06-03 09-10
2042 01-22 06-22 09-28
2043 02-10 06-11 09-17
2044 01-30 05-31 10-05
2045 02-17 06-19 09-25
2046 02-06 06-08 09-15
2047 01-26 05-29 10-04
2048 02-14 06-15 09-22
2049 02-02 06-04 09-11
2050 01-23 06-23 09-30
2051 02-11 06-13 09-19
2052 02-01 06-01 09-07
2053 02-19 06-20 09-26
2054 02-08 06-10 09-16
2055 01-28 05-30 10-05
2056 02-15 06-17 09-24
2057 02-04 06-06 09-13
2058 01-24 06-25 10-02
2059 02-12 06-14 09-21
2060 02-02 06-03 09-09
"""


@dataclass(frozen=True)
class YearArrangement:
    """One year's official arrangement: statutory holidays and make-up working days (调休)."""

    year: int
    holidays: frozenset[date]  # days off that would otherwise be weekdays (weekend days are harmless)
    workdays: frozenset[date]  # make-up working days that fall on weekends
    source: str = "office"  # e.g. "chinese-calendar 1.11.0", "office", "provisional"


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
        years: Mapping[int, YearArrangement] | Iterable[YearArrangement],
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
        arrangement = self._years.get(day.year) or rule_based_year(day.year)
        if day in arrangement.workdays:
            return True
        return day.weekday() < SATURDAY and day not in arrangement.holidays

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


@cache
def rule_based_year(year: int) -> YearArrangement:
    """Fallback for years not loaded: weekends off, plus rule-based statutory holidays
    (New Year's Day, Spring Festival, Qingming, Labour Day, Dragon Boat, Mid-Autumn,
    National Day) without make-up days; source="provisional".

    The days are those of the national holiday rules in force since 2025: 1 Jan;
    Spring Festival eve and lunar 1-3 Jan; Qingming; 1-2 May; Dragon Boat;
    Mid-Autumn; 1-3 Oct. Weekend shifts and make-up days are left out: only the
    State Council's yearly notice decides those. Outside 2020-2060 the lunar
    festivals are unknown and left out too.
    """
    days = {date(year, 1, 1), _qingming(year), date(year, 5, 1), date(year, 5, 2)}
    days |= {date(year, 10, 1), date(year, 10, 2), date(year, 10, 3)}
    festivals = _lunar_festivals().get(year)
    if festivals is not None:
        new_year, dragon_boat, mid_autumn = festivals
        days |= {new_year + offset * ONE_DAY for offset in range(-1, 3)}
        days |= {dragon_boat, mid_autumn}
    return YearArrangement(year, frozenset(days), frozenset(), source="provisional")


def seed_years() -> list[YearArrangement]:
    """Arrangements for every year the `chinese-calendar` package knows, source="chinese-calendar <version>"."""
    import chinese_calendar  # lazy: only seeding needs the package, the clock itself does not

    source = f"chinese-calendar {chinese_calendar.__version__}"
    off: set[date] = set(chinese_calendar.holidays)
    on: set[date] = set(chinese_calendar.workdays)
    years = sorted({day.year for day in off | on})
    return [
        arrangement_from_lists(
            year,
            (day for day in off if day.year == year),
            (day for day in on if day.year == year),
            source,
        )
        for year in years
    ]


def arrangement_from_lists(
    year: int, holidays: Iterable[date], workdays: Iterable[date], source: str = "office"
) -> YearArrangement:
    """Validated constructor used by the API (PUT /calendar/{year}).

    Every date must lie in `year`; a date may not be both a holiday and a
    make-up workday; make-up workdays must be Saturdays or Sundays. Raises
    ValueError naming the offending dates otherwise.
    """
    off, on = frozenset(holidays), frozenset(workdays)
    not_dates = [repr(day) for day in off | on if isinstance(day, datetime) or not isinstance(day, date)]
    if not_dates:
        raise ValueError(f"expected plain dates, got: {', '.join(sorted(not_dates))}")
    _reject("dates outside year " + str(year), {day for day in off | on if day.year != year})
    _reject("dates both holiday and make-up workday", off & on)
    _reject("make-up workdays that are not Saturday or Sunday", {d for d in on if d.weekday() < SATURDAY})
    return YearArrangement(year, off, on, source)


def _reject(problem: str, days: set[date] | frozenset[date]) -> None:
    if days:
        raise ValueError(f"{problem}: {', '.join(day.isoformat() for day in sorted(days))}")


def _index_by_year(
    years: Mapping[int, YearArrangement] | Iterable[YearArrangement],
) -> dict[int, YearArrangement]:
    """One arrangement per year; a mapping's keys must agree with the arrangements they hold."""
    if isinstance(years, Mapping):
        for key, arrangement in years.items():
            if key != arrangement.year:
                raise ValueError(f"arrangement for {arrangement.year} filed under {key}")
        return dict(years)
    indexed: dict[int, YearArrangement] = {}
    for arrangement in years:
        if arrangement.year in indexed:
            raise ValueError(f"year {arrangement.year} given twice")
        indexed[arrangement.year] = arrangement
    return indexed


def _qingming(year: int) -> date:
    """Qingming (清明), the solar term, by the usual 21st-century approximation.

    Day of April = floor(Y * 0.2422 + 4.81) - floor(Y / 4), Y = year % 100. It
    gives April 4 or 5 and agrees for 2001-2099 with chinese-calendar's solar terms,
    whose table of known exceptions to this formula has none for Qingming.
    """
    y = year % 100
    return date(year, 4, int(y * 0.2422 + 4.81) - y // 4)


@cache
def _lunar_festivals() -> dict[int, tuple[date, date, date]]:
    """Parse the festival table once: year -> (Spring Festival, Dragon Boat, Mid-Autumn)."""
    table: dict[int, tuple[date, date, date]] = {}
    for row in _LUNAR_FESTIVALS.strip().splitlines():
        year_text, *month_days = row.split()
        year = int(year_text)
        new_year, dragon_boat, mid_autumn = (date.fromisoformat(f"{year}-{md}") for md in month_days)
        table[year] = (new_year, dragon_boat, mid_autumn)
    return table


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
