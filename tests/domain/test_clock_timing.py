"""Clock timings over the real calendar: the worked example of docs/time.md."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from domain.calendar import WorkCalendar
from domain.clock import ClockQuery, Span, WorkClock, compute_timing, fingerprint
from domain.holidays import seed_years

SHANGHAI = ZoneInfo("Asia/Shanghai")
CALENDAR = WorkCalendar(seed_years())


def at(month: int, day: int, hour: int) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=SHANGHAI)


def test_return_and_resubmission_across_national_day() -> None:
    spans = [Span(start=at(9, 24, 10), end=at(9, 29, 16)), Span(start=at(10, 9, 9))]
    timing = compute_timing(CALENDAR, ClockQuery(ref="step:x", limit_days=10, spans=spans))
    assert timing.used_days == 2.25
    assert timing.deadline == at(10, 20, 3)
    assert timing.warn_at == at(10, 16, 3)
    assert not timing.provisional
    assert timing.fingerprint == fingerprint(spans)


def test_paused_clock_has_no_deadline_and_keeps_its_colour() -> None:
    clock = WorkClock(limit_days=10, spans=[Span(start=at(9, 24, 10), end=at(9, 29, 16))], used_days=8.5)
    assert clock.deadline is None and not clock.running
    assert clock.colour(at(12, 1, 0)) == "yellow"  # 85 % used, paused: stays yellow


def test_deadline_in_a_year_not_loaded_is_provisional() -> None:
    query = ClockQuery(ref="step:y", limit_days=20, spans=[Span(start=at(12, 20, 9))])
    timing = compute_timing(CALENDAR, query)
    assert timing.deadline is not None and timing.deadline.year == 2027
    assert timing.provisional


def test_clock_over_its_limit_is_red() -> None:
    clock = WorkClock(limit_days=1, spans=[Span(start=at(9, 24, 10))], deadline=at(9, 28, 10), warn_at=at(9, 28, 5))
    assert clock.colour(at(9, 28, 4)) == "green"
    assert clock.colour(at(9, 28, 6)) == "yellow"
    assert clock.colour(at(9, 28, 10)) == "red"
