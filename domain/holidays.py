"""Where the working-day calendar's data comes from: one arrangement of holidays and make-up
working days per year (docs/time.md, "Where the calendar comes from").

No I/O: `seed_years` reads the data shipped in the `chinese-calendar` package. The clock
(domain/calendar.py) only reads arrangements.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache

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
