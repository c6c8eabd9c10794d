"""The working-day calendar. Every expected date below was counted by hand on the 2026 arrangement
(the State Council notice as shipped in chinese-calendar 1.11.0): Spring Festival off 15-23 Feb with make-up
Saturdays 14 and 28 Feb; Mid-Autumn off 25-27 Sep; National Day off 1-7 Oct with make-up days
Sun 20 Sep and Sat 10 Oct."""

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from domain.calendar import CompressedClock, WorkCalendar
from domain.clock import Calendar
from domain.holidays import YearArrangement, arrangement_from_lists, rule_based_year, seed_years

SH = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar(seed_years())


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """An instant in Beijing time, the calendar's default zone."""
    return datetime(year, month, day, hour, minute, tzinfo=SH)


# --- which days work ---------------------------------------------------------------------------------


def test_make_up_weekend_days_of_2026_are_working_days() -> None:
    for day in [date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28), date(2026, 9, 20), date(2026, 10, 10)]:
        assert CAL.is_working_day(day), day


def test_holidays_and_ordinary_weekends_are_off() -> None:
    for day in [date(2026, 1, 1), date(2026, 2, 16), date(2026, 2, 23), date(2026, 10, 7), date(2026, 10, 11)]:
        assert not CAL.is_working_day(day), day
    assert CAL.is_working_day(date(2026, 10, 8))


def test_a_make_up_saturday_counts_as_a_full_working_day() -> None:
    # Fri 9 Oct + make-up Sat 10 Oct; Sun 11 Oct is off.
    assert CAL.working_days_between(at(2026, 10, 9), at(2026, 10, 12)) == 2.0


def test_is_working_day_refuses_a_datetime() -> None:
    with pytest.raises(TypeError):
        CAL.is_working_day(at(2026, 10, 1))


# --- deadlines across the long holidays ----------------------------------------------------------------


def test_deadline_across_spring_festival_2026() -> None:
    # Thu 12 Feb 10:00: 14/24 left that day; then 13, 14 (make-up Sat), 24, 25 Feb; 10/24 into 26 Feb.
    assert CAL.add_working_days(at(2026, 2, 12, 10), 5) == at(2026, 2, 26, 10)
    # Only Fri 13 and make-up Sat 14 Feb work between 13 and 24 Feb.
    assert CAL.working_days_between(at(2026, 2, 13), at(2026, 2, 24)) == 2.0


def test_deadline_across_national_day_2026() -> None:
    # Thu 24 Sep 10:00: 14/24 of a day, then 19 whole days (28-30 Sep, 8-10 Oct, 12-16, 19-23, 26-28 Oct),
    # then 10/24 into Thu 29 Oct. Fri 25 Sep - Wed 7 Oct is off apart from 28-30 Sep.
    assert CAL.add_working_days(at(2026, 9, 24, 10), 20) == at(2026, 10, 29, 10)


def test_start_on_a_holiday_waits_for_the_next_working_day() -> None:
    # Fri 25 Sep is Mid-Autumn: the clock starts Mon 28 Sep 00:00; day 20 is Thu 29 Oct.
    assert CAL.add_working_days(at(2026, 9, 25, 10), 20) == at(2026, 10, 30)
    assert CAL.working_days_between(at(2026, 10, 1, 15), at(2026, 10, 8)) == 0.0
    assert CAL.add_working_days(at(2026, 10, 1, 15), 0.5) == at(2026, 10, 8, 12)


def test_the_deadline_is_the_earliest_instant() -> None:
    # Wed 30 Sep 00:00 + 1 ends at midnight, not at the start of the next working day.
    assert CAL.add_working_days(at(2026, 9, 30), 1) == at(2026, 10, 1)
    assert CAL.add_working_days(at(2026, 9, 30, 10), 0) == at(2026, 9, 30, 10)
    # Zero days is no time at all, even on a holiday: the deadline is the start itself.
    assert CAL.add_working_days(at(2026, 10, 1, 15), 0) == at(2026, 10, 1, 15)


# --- beyond the loaded years ---------------------------------------------------------------------------


def test_deadline_into_2027_is_provisional_and_skips_new_years_day() -> None:
    # Mon 28 - Thu 31 Dec 2026 work; Fri 1 Jan 2027 is New Year's Day; Mon 4 Jan is day 5.
    deadline = CAL.add_working_days(at(2026, 12, 28), 5)
    assert deadline == at(2027, 1, 5)
    assert CAL.is_provisional(at(2026, 12, 28), deadline)
    assert not CAL.is_provisional(at(2026, 12, 28), at(2026, 12, 31, 23, 59))
    assert CAL.loaded_years() == frozenset(range(2004, 2027))


def test_provisional_spring_festival_2027() -> None:
    # Lunar new year is Sat 6 Feb 2027: eve Fri 5 Feb to Mon 8 Feb off, no make-up days.
    assert CAL.add_working_days(at(2027, 2, 4), 2) == at(2027, 2, 10)


def test_rule_based_2027() -> None:
    year = rule_based_year(2027)
    assert year.source == "provisional"
    assert year.workdays == frozenset()
    assert year.holidays == {
        date(2027, 1, 1),
        *(date(2027, 2, day) for day in (5, 6, 7, 8)),
        date(2027, 4, 5),
        date(2027, 5, 1),
        date(2027, 5, 2),
        date(2027, 6, 9),
        date(2027, 9, 15),
        *(date(2027, 10, day) for day in (1, 2, 3)),
    }


def test_rule_based_holidays_were_really_off_2020_to_2026() -> None:
    # Checks the lunar table and the Qingming rule against the official arrangements. The one miss is
    # Spring Festival eve 2024 (9 Feb), a working day: the eve became statutory only in 2025.
    for year in range(2020, 2027):
        official = {day for day in chinese_calendar.holidays if day.year == year}
        missed = rule_based_year(year).holidays - official
        assert missed == ({date(2024, 2, 9)} if year == 2024 else set()), year


def test_qingming_rule_matches_the_solar_term_2020_to_2060() -> None:
    for year in range(2020, 2061):
        terms = chinese_calendar.get_solar_terms(date(year, 4, 1), date(year, 4, 30))
        qingming = next(day for day, name in terms if name == "清明")
        assert qingming in rule_based_year(year).holidays, year


def test_an_office_arrangement_replaces_the_fallback() -> None:
    office_2027 = arrangement_from_lists(2027, [date(2027, 1, 1)], [date(2027, 1, 2)])
    cal = WorkCalendar([*seed_years(), office_2027])
    assert cal.is_working_day(date(2027, 1, 2))
    assert not cal.is_provisional(at(2027, 1, 1), at(2027, 12, 31))


# --- fractions and timezones ---------------------------------------------------------------------------


def test_fractional_days_stop_over_the_weekend() -> None:
    # Fri 6 Mar 2026 18:00 + 0.5: 6 hours on Friday, 6 hours on Monday.
    assert CAL.add_working_days(at(2026, 3, 6, 18), 0.5) == at(2026, 3, 9, 6)
    assert CAL.working_days_between(at(2026, 3, 6, 12), at(2026, 3, 9, 12)) == 1.0
    assert CAL.working_days_between(at(2026, 3, 9, 9), at(2026, 3, 9, 15)) == 0.25


def test_result_keeps_the_callers_timezone_but_days_follow_beijing() -> None:
    # 10:00 UTC is 18:00 in Beijing.
    start = datetime(2026, 3, 6, 10, tzinfo=UTC)
    deadline = CAL.add_working_days(start, 0.5)
    assert deadline.tzinfo is UTC
    assert deadline == datetime(2026, 3, 8, 22, tzinfo=UTC)


def test_calendar_in_another_timezone() -> None:
    # In UTC, 7 Oct 23:00-24:00 is still the holiday; 8 Oct 00:00-01:00 UTC works.
    cal = WorkCalendar(seed_years(), tz="UTC")
    start, end = datetime(2026, 10, 7, 23, tzinfo=UTC), datetime(2026, 10, 8, 1, tzinfo=UTC)
    assert cal.working_days_between(start, end) == pytest.approx(1 / 24)


def test_naive_datetimes_and_negative_days_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.working_days_between(datetime(2026, 3, 2), at(2026, 3, 3))  # noqa: DTZ001
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.add_working_days(datetime(2026, 3, 2), 1)  # noqa: DTZ001
    for bad in (-1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="finite number, not negative"):
            CAL.add_working_days(at(2026, 3, 2), bad)


def test_backwards_interval_is_zero() -> None:
    assert CAL.working_days_between(at(2026, 3, 5), at(2026, 3, 2)) == 0.0


# --- properties over many seeded inputs ----------------------------------------------------------------


def random_instant(rng: random.Random) -> datetime:
    """Somewhere in 2025-2028, so both loaded and provisional years are hit."""
    return at(2025, 1, 1) + timedelta(seconds=rng.randrange(4 * 365 * 86400))


def test_round_trip_add_then_between_gives_back_the_days() -> None:
    rng = random.Random(20260925)
    for _ in range(2000):
        start = random_instant(rng)
        days = rng.choice([float(rng.randint(0, 130)), rng.uniform(0, 130), rng.uniform(0, 1)])
        deadline = CAL.add_working_days(start, days)
        assert deadline >= start
        assert CAL.working_days_between(start, deadline) == pytest.approx(days, abs=1e-9), (start, days)
        if days > 1e-6:
            # Earliest: a moment before, the time was not yet up, and the clock was running.
            before = deadline - timedelta(milliseconds=1)
            assert CAL.working_days_between(start, before) < days
            assert CAL.is_working_day(before.astimezone(SH).date())


def test_between_is_additive() -> None:
    rng = random.Random(7)
    for _ in range(500):
        a, b, c = sorted(random_instant(rng) for _ in range(3))
        whole = CAL.working_days_between(a, c)
        parts = CAL.working_days_between(a, b) + CAL.working_days_between(b, c)
        assert parts == pytest.approx(whole, abs=1e-9)


# --- data in -------------------------------------------------------------------------------------------


def test_seed_years_cover_the_package_data() -> None:
    years = {arrangement.year: arrangement for arrangement in seed_years()}
    assert set(years) == set(range(2004, 2027))
    assert years[2026].source == f"chinese-calendar {chinese_calendar.__version__}"
    assert date(2026, 10, 10) in years[2026].workdays
    assert date(2026, 10, 1) in years[2026].holidays


def test_arrangement_from_lists_accepts_a_valid_year() -> None:
    year = arrangement_from_lists(2027, [date(2027, 1, 1)], [date(2027, 2, 20)], source="国办发明电")
    assert year == YearArrangement(2027, frozenset({date(2027, 1, 1)}), frozenset({date(2027, 2, 20)}), "国办发明电")


def test_arrangement_from_lists_rejects_dates_of_another_year() -> None:
    with pytest.raises(ValueError, match="outside year 2027: 2026-12-31"):
        arrangement_from_lists(2027, [date(2026, 12, 31)], [])


def test_arrangement_from_lists_rejects_a_day_both_off_and_on() -> None:
    with pytest.raises(ValueError, match="both holiday and make-up workday: 2027-02-20"):
        arrangement_from_lists(2027, [date(2027, 2, 20)], [date(2027, 2, 20)])


def test_arrangement_from_lists_rejects_a_weekday_make_up_day() -> None:
    with pytest.raises(ValueError, match="not Saturday or Sunday: 2027-02-22"):
        arrangement_from_lists(2027, [], [date(2027, 2, 22)])  # a Monday


def test_arrangement_from_lists_rejects_datetimes() -> None:
    with pytest.raises(ValueError, match="plain dates"):
        arrangement_from_lists(2027, [datetime(2027, 1, 1, tzinfo=SH)], [])


def test_calendar_rejects_inconsistent_years() -> None:
    with pytest.raises(ValueError, match="filed under 2028"):
        WorkCalendar({2028: rule_based_year(2027)})
    with pytest.raises(ValueError, match="given twice"):
        WorkCalendar([rule_based_year(2027), rule_based_year(2027)])


# --- the compressed demo clock -------------------------------------------------------------------------


def test_compressed_clock() -> None:
    clock = CompressedClock(workday_seconds=10)
    start = at(2026, 10, 1, 12)  # a holiday, which the compressed clock ignores
    assert clock.add_working_days(start, 2.5) == start + timedelta(seconds=25)
    assert clock.working_days_between(start, start + timedelta(seconds=35)) == 3.5
    assert clock.working_days_between(start, start - timedelta(seconds=5)) == 0.0
    assert not clock.is_provisional(start, at(2040, 1, 1))
    with pytest.raises(ValueError):
        CompressedClock(0)
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.add_working_days(datetime(2026, 1, 1), 1)  # noqa: DTZ001


def test_both_clocks_satisfy_the_protocol() -> None:
    assert isinstance(CAL, Calendar)
    assert isinstance(CompressedClock(1), Calendar)


# --- whole-day primitives (statutory counting) -----------------------------------------------------------

CAL_1730 = WorkCalendar(seed_years(), closes=time(17, 30))


def test_close_of_an_instant_is_the_close_of_its_day() -> None:
    # 24:00 closes: the close of Thu 24 Sep is Fri 25 Sep 00:00, and that instant belongs to 24 Sep.
    assert CAL.close_of(at(2026, 9, 24, 10)) == at(2026, 9, 25)
    assert CAL.close_of(at(2026, 9, 25)) == at(2026, 9, 25)
    assert CAL.close_of(at(2026, 9, 25) + timedelta(microseconds=1)) == at(2026, 9, 26)
    # 17:30 closes: an instant after hours belongs to the next day, even a holiday.
    assert CAL_1730.close_of(at(2026, 9, 24, 10)) == at(2026, 9, 24, 17, 30)
    assert CAL_1730.close_of(at(2026, 9, 24, 17, 30)) == at(2026, 9, 24, 17, 30)
    assert CAL_1730.close_of(at(2026, 9, 24, 18)) == at(2026, 9, 25, 17, 30)


def test_count_closes_counts_working_days_closing_in_a_half_open_interval() -> None:
    # (Fri 25 Sep 00:00, Fri 30 Oct 00:00]: 28-30 Sep, 8-10 Oct, 12-16, 19-23, 26-29 Oct = 3+3+5+5+4 = 20.
    assert CAL.count_closes(at(2026, 9, 25), at(2026, 10, 30)) == 20
    assert CAL.count_closes(at(2026, 9, 25), at(2026, 10, 29, 23, 59)) == 19
    assert CAL.count_closes(at(2026, 9, 24), at(2026, 9, 25)) == 1  # Thu 24 Sep itself
    assert CAL.count_closes(at(2026, 10, 1), at(2026, 10, 8)) == 0  # Wed 30 Sep closed at 1 Oct 00:00
    assert CAL.count_closes(at(2026, 10, 30), at(2026, 9, 25)) == 0
    # 17:30 closes: Tue 13 Oct 17:30 is in (Mon 12 17:30, Wed 14 10:00], Wed 14's close is not.
    assert CAL_1730.count_closes(at(2026, 10, 12, 17, 30), at(2026, 10, 14, 10)) == 1


def test_nth_close() -> None:
    assert CAL.nth_close(at(2026, 9, 25), 20) == at(2026, 10, 30)  # 20th: Thu 29 Oct, as above
    assert CAL.nth_close(at(2026, 9, 25), 6) == at(2026, 10, 11)  # 6th: make-up Sat 10 Oct
    assert CAL.nth_close(at(2026, 10, 1, 15), 0) == at(2026, 10, 1, 15)
    assert CAL_1730.nth_close(at(2026, 10, 14, 18), 2) == at(2026, 10, 16, 17, 30)  # Thu 15, Fri 16
    # The result keeps the caller's timezone: Thu 8 Oct closes at 16:00 UTC.
    assert CAL.nth_close(datetime(2026, 10, 1, tzinfo=UTC), 1) == datetime(2026, 10, 8, 16, tzinfo=UTC)
    for bad in (-1, 1.5):
        with pytest.raises(ValueError, match="whole number"):
            CAL.nth_close(at(2026, 9, 25), bad)  # type: ignore[arg-type]


def test_closes_must_be_a_local_time_after_midnight() -> None:
    with pytest.raises(ValueError, match="None for 24:00"):
        WorkCalendar(seed_years(), closes=time(0))
    with pytest.raises(ValueError, match="None for 24:00"):
        WorkCalendar(seed_years(), closes=time(17, 30, tzinfo=UTC))
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.close_of(datetime(2026, 3, 2))  # noqa: DTZ001


def test_count_closes_agrees_with_a_day_by_day_count() -> None:
    # The count is arithmetic per year; check it against is_working_day over long, random ranges.
    rng = random.Random(201)
    for _ in range(300):
        first = date(2024, 1, 1) + timedelta(days=rng.randrange(5 * 365))
        last = first + timedelta(days=rng.randrange(800))
        expected = sum(CAL.is_working_day(first + timedelta(days=i)) for i in range((last - first).days + 1))
        # With 24:00 closes, (first 00:00, (last + 1) 00:00] holds the closes of first to last.
        after, until = at(first.year, first.month, first.day), at(last.year, last.month, last.day) + timedelta(days=1)
        assert CAL.count_closes(after, until) == expected, (first, last)


def test_nth_close_and_count_closes_agree() -> None:
    rng = random.Random(203)
    for _ in range(500):
        calendar = rng.choice([CAL, CAL_1730])
        after, n = random_instant(rng), rng.randint(1, 60)
        close = calendar.nth_close(after, n)
        assert calendar.count_closes(after, close) == n
        assert calendar.count_closes(after, close - timedelta(microseconds=1)) == n - 1
        assert calendar.close_of(close) == close


def test_the_compressed_clock_counts_continuously() -> None:
    clock = CompressedClock(workday_seconds=10)
    assert not clock.counts_whole_days and CAL.counts_whole_days
    with pytest.raises(NotImplementedError):
        clock.nth_close(at(2026, 9, 25), 1)
