"""Statutory counting (docs/time.md, "Working days"): whole working days, the day the period begins not
counted, each day counted at its close for whoever holds the file then.

Every expected instant was counted by hand on the 2026 arrangement of chinese-calendar 1.11.0, around
National Day:

    Sep  Thu 24 W | Fri 25 - Sun 27 off (Mid-Autumn) | Mon 28, Tue 29, Wed 30 W
    Oct  Thu 1 - Wed 7 off (National Day) | Thu 8, Fri 9, Sat 10 (make-up) W | Sun 11 off
         12-16, 19-23, 26-30 W (Mon-Fri) | weekends off
    Nov  Mon 2, Tue 3 W
    Dec  Thu 24, Fri 25, Mon 28 - Thu 31 W | 2027 not loaded: Fri 1 Jan off (fallback), Mon 4 Jan W

With 24:00 closes a day closes at the next day's 00:00, so "due at the end of Thu 29 Oct" is 30 Oct 00:00.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.calendar import CompressedClock, WorkCalendar
from domain.clock import ClockQuery, ClockTiming, Span, WorkClock, compute_timing, used_days_at, warn_days
from domain.holidays import seed_years

SH = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar(seed_years())
CAL_1730 = WorkCalendar(seed_years(), closes=time(17, 30))


def at(month: int, day: int, hour: int = 0, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SH)


def spans(*pairs: tuple[datetime, datetime | None]) -> list[Span]:
    return [Span(start=start, end=end) for start, end in pairs]


def timing(limit: float, *pairs: tuple[datetime, datetime | None], calendar: WorkCalendar = CAL) -> ClockTiming:
    return compute_timing(
        calendar, ClockQuery(ref="step:x", limit_days=limit, spans=spans(*pairs), counting="statutory")
    )


def timed_clock(limit: float, *pairs: tuple[datetime, datetime | None]) -> WorkClock:
    """A statutory clock with the timings the activity would store."""
    t = timing(limit, *pairs)
    return WorkClock(
        limit_days=limit,
        spans=spans(*pairs),
        counting="statutory",
        used_days=t.used_days,
        deadline=t.deadline,
        warn_at=t.warn_at,
    )


# --- when the period begins --------------------------------------------------------------------------


@pytest.mark.parametrize("hour, minute", [(0, 1), (10, 0), (23, 59)])
def test_worked_example_accepted_thursday_24_september_at_any_hour(hour: int, minute: int) -> None:
    # Thu 24 Sep not counted. 1-3: 28-30 Sep; 4-6: 8-10 Oct; 7-11: 12-16; 12-16: 19-23; 17-20: 26-29 Oct.
    t = timing(20, (at(9, 24, hour, minute), None))
    assert t.deadline == at(10, 30)  # the end of Thu 29 Oct
    assert t.warn_at == at(10, 24)  # W = 4: yellow from the close of day 16, Fri 23 Oct
    assert t.used_days == 0.0
    assert not t.provisional


def test_the_same_deadline_from_the_first_to_the_last_minute_of_a_day() -> None:
    # Tue 13 Oct not counted; 1-3: Wed 14, Thu 15, Fri 16 Oct.
    assert timing(3, (at(10, 13, 0, 1), None)).deadline == at(10, 17)
    assert timing(3, (at(10, 13, 23, 59), None)).deadline == at(10, 17)
    # 00:00 sharp is the close of Mon 12 Oct: the period began on Monday; 1-3: 13, 14, 15 Oct.
    assert timing(3, (at(10, 13), None)).deadline == at(10, 16)
    # Likewise 24 Sep 00:00 belongs to Wed 23 Sep: Thu 24 is day 1, and day 20 is Wed 28 Oct.
    assert timing(20, (at(9, 24), None)).deadline == at(10, 29)


def test_accepted_on_a_holiday_counting_starts_with_the_next_working_day() -> None:
    # Thu 1 Oct (National Day) not counted, nor the rest of the holiday. 1-3: 8-10 Oct; 4-8: 12-16;
    # 9-13: 19-23; 14-18: 26-30 Oct; 19: Mon 2 Nov; 20: Tue 3 Nov.
    assert timing(20, (at(10, 1, 15), None)).deadline == at(11, 4)
    assert timing(1, (at(10, 1, 15), None)).deadline == at(10, 9)  # day 1: Thu 8 Oct
    # Accepted Fri 25 Sep (Mid-Autumn): day 1 is Mon 28 Sep, as for Thursday's acceptance.
    assert timing(20, (at(9, 25, 10), None)).deadline == at(10, 30)


# --- years not loaded ----------------------------------------------------------------------------------


def test_a_count_into_an_unloaded_year_is_provisional_and_skips_new_years_day() -> None:
    # Thu 24 Dec not counted; 1: Fri 25; 2-5: Mon 28 - Thu 31 Dec; Fri 1 Jan 2027 off (fallback); Sat-Sun off;
    # 6: Mon 4 Jan 2027.
    t = timing(6, (at(12, 24, 10), None))
    assert t.deadline == at(1, 5, year=2027)
    assert t.provisional
    # Due at the end of 31 Dec (01 Jan 00:00): no day of 2027 is counted, nothing provisional.
    t = timing(5, (at(12, 24, 10), None))
    assert t.deadline == at(1, 1, year=2027)
    assert not t.provisional
    # A paused clock whose last span ended in 2027 depends on 2027 too.
    assert timing(6, (at(12, 24, 10), at(1, 4, 12, year=2027))).provisional


# --- close of business -----------------------------------------------------------------------------------


def test_close_of_business_deadline_is_at_the_close_of_the_last_day() -> None:
    # Same count as the worked example; the last day, Thu 29 Oct, closes at 17:30.
    assert timing(20, (at(9, 24, 10), None), calendar=CAL_1730).deadline == at(10, 29, 17, 30)


@pytest.mark.parametrize(
    "accepted, deadline",
    [
        (at(10, 13, 17), at(10, 15, 17, 30)),  # Tue 13 Oct before close: 1 Wed 14, 2 Thu 15
        (at(10, 13, 17, 30), at(10, 15, 17, 30)),  # at the close: still Tuesday's
        (at(10, 13, 18), at(10, 16, 17, 30)),  # after hours: begins Wed 14; 1 Thu 15, 2 Fri 16
    ],
)
def test_close_of_business_acceptance(accepted: datetime, deadline: datetime) -> None:
    assert timing(2, (accepted, None), calendar=CAL_1730).deadline == deadline


def test_after_hours_resubmission_counts_from_the_next_working_day() -> None:
    # First span Mon 12 Oct 09:00 - Wed 14 Oct 10:00: Mon not counted, Tue 13 counted (closed 17:30), Wed 14
    # returned before its close. used 1, k = 2.
    first = (at(10, 12, 9), at(10, 14, 10))
    late = timing(3, first, (at(10, 14, 18), None), calendar=CAL_1730)
    assert late.used_days == 1.0
    assert late.deadline == at(10, 16, 17, 30)  # after hours: 1 Thu 15, 2 Fri 16
    in_hours = timing(3, first, (at(10, 14, 17), None), calendar=CAL_1730)
    assert in_hours.deadline == at(10, 15, 17, 30)  # 1 Wed 14, 2 Thu 15


# --- pauses ------------------------------------------------------------------------------------------------


def test_return_and_resubmission_across_national_day() -> None:
    # Held Thu 24 Sep 10:00 - Tue 29 Sep 16:00: counts Mon 28 only (Tue 29 closes with the owner). used 1.
    # Resumed Fri 9 Oct 09:00, k = 9: 1 Fri 9, 2 Sat 10, 3-7 12-16 Oct, 8 Mon 19, 9 Tue 20.
    first = (at(9, 24, 10), at(9, 29, 16))
    paused = timing(10, first)
    assert (paused.used_days, paused.deadline, paused.warn_at) == (1.0, None, None)
    t = timing(10, first, (at(10, 9, 9), None))
    assert t.used_days == 1.0
    assert t.deadline == at(10, 21)  # end of Tue 20 Oct
    assert t.warn_at == at(10, 17)  # W = 2: close of day 7, Fri 16 Oct


@pytest.mark.parametrize(
    "returned, resubmitted",
    [
        (at(9, 24, 11), at(9, 24, 16)),  # on the acceptance day itself
        (at(9, 28, 11), at(9, 28, 15)),  # on a counted day
        (at(9, 28, 11), at(9, 28, 23, 59)),
        (at(9, 26, 11), at(9, 26, 15)),  # on a day off
    ],
)
def test_pause_and_resume_on_the_same_day_neither_gains_nor_loses_a_day(
    returned: datetime, resubmitted: datetime
) -> None:
    t = timing(20, (at(9, 24, 10), returned), (resubmitted, None))
    assert t.deadline == at(10, 30)  # as without the pause (the worked example)
    assert t.warn_at == at(10, 24)


def test_same_day_invariant_over_random_pauses() -> None:
    # A return and a resubmission with no close between them leave the deadline unchanged, and the colour
    # from the resubmission on: already yellow, the resumed clock is yellow from its resubmission.
    rng = random.Random(201)
    for _ in range(300):
        calendar = rng.choice([CAL, CAL_1730])
        start = at(1, 1) + timedelta(minutes=rng.randrange(360 * 24 * 60))
        returned = start + timedelta(minutes=rng.randrange(40 * 24 * 60))
        resubmitted = returned + (calendar.close_of(returned) - returned) * rng.random()
        limit = rng.randint(1, 30)
        whole = timing(limit, (start, None), calendar=calendar)
        split = timing(limit, (start, returned), (resubmitted, None), calendar=calendar)
        assert whole.warn_at is not None and whole.deadline is not None
        if split.used_days < limit:
            assert split.deadline == whole.deadline, (start, returned, resubmitted)
            assert split.warn_at == max(whole.warn_at, resubmitted), (start, returned, resubmitted)
        else:  # the limit's last close passed before the return: over at once, as the whole clock was
            assert whole.deadline <= returned and split.deadline == resubmitted


def test_a_day_closing_while_the_owner_holds_the_file_is_lost_to_the_count() -> None:
    # Returned Mon 28 Sep 11:00, resubmitted Tue 29 Sep 09:00: Mon 28 counts for nobody. used 0.
    # 1-2: 29-30 Sep; 3-5: 8-10 Oct; 6-10: 12-16; 11-15: 19-23; 16-20: 26-30 Oct.
    t = timing(20, (at(9, 24, 10), at(9, 28, 11)), (at(9, 29, 9), None))
    assert t.used_days == 0.0
    assert t.deadline == at(10, 31)  # end of Fri 30 Oct, one day later than without the return


def test_a_clock_paused_after_its_last_close_is_over_at_once() -> None:
    # Held Thu 24 Sep 10:00 - Wed 30 Sep 10:00: counts Mon 28, Tue 29. used 2 = the limit.
    first = (at(9, 24, 10), at(9, 30, 10))
    assert timed_clock(2, first).colour(at(10, 8)) == "red"
    t = timing(2, first, (at(10, 8, 9), None))
    assert t.used_days == 2.0
    assert t.deadline == t.warn_at == at(10, 8, 9)  # the resumption itself
    assert timed_clock(2, first, (at(10, 8, 9), None)).colour(at(10, 8, 9)) == "red"


def test_resumed_with_fewer_days_left_than_the_warning_is_yellow_at_once() -> None:
    # Held Thu 24 Sep 10:00 - Thu 15 Oct 12:00: 28-30 Sep, 8-10 Oct, 12-14 Oct = 9 days. Limit 10, W = 2.
    # Resumed Mon 19 Oct 09:00, k = 1: due at the end of Mon 19 Oct, yellow from the resumption.
    t = timing(10, (at(9, 24, 10), at(10, 15, 12)), (at(10, 19, 9), None))
    assert t.used_days == 9.0
    assert t.deadline == at(10, 20)
    assert t.warn_at == at(10, 19, 9)


# --- yellow in working days left -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "limit, warn, days_left, warn_at, deadline",
    [
        # Accepted Thu 24 Sep 10:00; days 1, 2, ...: 28, 29, 30 Sep, 8, 9, 10, 12, 13, 14, 15 Oct ...
        (1, 1, 1, at(9, 25), at(9, 29)),  # yellow from the close of Thu 24 (the 0th), due end of Mon 28
        (2, 1, 1, at(9, 29), at(9, 30)),  # close of day 1 (Mon 28); due end of Tue 29
        (5, 1, 1, at(10, 9), at(10, 10)),  # close of day 4 (Thu 8 Oct); due end of Fri 9 Oct
        (10, 2, 2, at(10, 14), at(10, 16)),  # close of day 8 (Tue 13 Oct); due end of Thu 15 Oct
        (20, 4, 4, at(10, 24), at(10, 30)),  # close of day 16 (Fri 23 Oct); due end of Thu 29 Oct
    ],
)
def test_warn_at(limit: int, warn: int, days_left: int, warn_at: datetime, deadline: datetime) -> None:
    assert warn_days(limit) == warn
    t = timing(limit, (at(9, 24, 10), None))
    assert (t.warn_at, t.deadline) == (warn_at, deadline)
    assert CAL.count_closes(warn_at, deadline) == days_left


@pytest.mark.parametrize("limit, warn", [(1, 1), (2, 1), (3, 1), (5, 1), (6, 2), (10, 2), (11, 3), (15, 3), (20, 4)])
def test_warn_days_is_the_last_fifth_and_at_least_one(limit: int, warn: int) -> None:
    assert warn_days(limit) == warn


def test_a_running_one_day_step_is_yellow_on_its_due_day() -> None:
    # Accepted Thu 15 Oct 10:00: yellow from the end of Thursday, all of Fri 16 Oct (day 1), red from its end.
    clock = timed_clock(1, (at(10, 15, 10), None))
    assert (clock.warn_at, clock.deadline) == (at(10, 16), at(10, 17))
    for moment, colour in [(at(10, 15, 23), "green"), (at(10, 16), "yellow"), (at(10, 17), "red")]:
        assert clock.colour(moment) == colour, moment
    # Accepted Thu 24 Sep 10:00, before Mid-Autumn: the due day is Mon 28 Sep, yellow from the end of Thursday.
    clock = timed_clock(1, (at(9, 24, 10), None))
    assert clock.colour(at(9, 24, 23, 59)) == "green"
    assert clock.colour(at(9, 25)) == "yellow"
    assert clock.colour(at(9, 28, 23, 59)) == "yellow"  # Mon 28 Sep, the due day
    assert clock.colour(at(9, 29)) == "red"


@pytest.mark.parametrize(
    "counting, limit, used, colour",
    [
        ("statutory", 10, 7, "green"),  # 3 left > W = 2
        ("statutory", 10, 8, "yellow"),  # 2 left
        ("statutory", 10, 10, "red"),
        ("statutory", 20, 15, "green"),  # 5 left > W = 4
        ("statutory", 20, 16, "yellow"),
        ("statutory", 1, 0, "yellow"),  # 1 left = W
        ("continuous", 10, 7.9, "green"),  # continuous keeps 80 %
        ("continuous", 10, 8, "yellow"),
        ("continuous", 20, 16, "yellow"),
        ("continuous", 20, 15, "green"),
        ("continuous", 1, 0, "green"),
        ("continuous", 10, 10, "red"),
    ],
)
def test_paused_clock_colours(counting: str, limit: float, used: float, colour: str) -> None:
    clock = WorkClock.model_validate(
        {
            "limit_days": limit,
            "spans": [Span(start=at(9, 24, 10), end=at(9, 29))],
            "used_days": used,
            "counting": counting,
        }
    )
    assert clock.colour(at(12, 1)) == colour


def test_states_saved_before_statutory_counting_stay_continuous() -> None:
    clock = WorkClock.model_validate({"limit_days": 5, "spans": [], "used_days": 0.0})
    assert clock.counting == "continuous"
    assert ClockQuery.model_validate({"ref": "step:x", "limit_days": 5, "spans": []}).counting == "continuous"


# --- used days up to now -----------------------------------------------------------------------------------


def test_used_days_at_statutory() -> None:
    running = WorkClock(limit_days=20, spans=spans((at(9, 24, 10), None)), counting="statutory")
    assert used_days_at(CAL, running, at(9, 24, 23)) == 0.0  # the day the period begins
    assert used_days_at(CAL, running, at(9, 30, 12)) == 2.0  # Mon 28, Tue 29 closed
    assert used_days_at(CAL, running, at(10, 8)) == 3.0  # Wed 30 closed at 1 Oct 00:00
    # Resumed Fri 9 Oct 09:00 after 1 day used: by Mon 12 Oct 12:00, Fri 9 and Sat 10 Oct have closed.
    resumed = WorkClock(
        limit_days=10,
        spans=spans((at(9, 24, 10), at(9, 29, 16)), (at(10, 9, 9), None)),
        used_days=1,
        counting="statutory",
    )
    assert used_days_at(CAL, resumed, at(10, 12, 12)) == 3.0
    paused = WorkClock(limit_days=10, spans=spans((at(9, 24, 10), at(9, 29, 16))), used_days=1, counting="statutory")
    assert used_days_at(CAL, paused, at(12, 1)) == 1.0


def test_used_days_at_continuous() -> None:
    running = WorkClock(limit_days=20, spans=spans((at(9, 24, 10), None)))
    # 14/24 of Thu 24 Sep, nothing 25-27 Sep, 12/24 of Mon 28 Sep.
    assert used_days_at(CAL, running, at(9, 28, 12)) == pytest.approx(14 / 24 + 12 / 24)
    paused = WorkClock(limit_days=10, spans=spans((at(9, 24, 10), at(9, 29, 16))), used_days=2.25)
    assert used_days_at(CAL, paused, at(12, 1)) == 2.25


# --- the compressed clock and the continuous rule -------------------------------------------------------------


def test_the_compressed_clock_ignores_statutory_counting() -> None:
    clock = CompressedClock(workday_seconds=10)
    start = at(9, 24, 10, 0)
    query = ClockQuery(ref="step:x", limit_days=2, spans=spans((start, None)), counting="statutory")
    t = compute_timing(clock, query)
    assert t.deadline == start + timedelta(seconds=20)  # 2 days of 10 s
    assert t.warn_at == start + timedelta(seconds=16)  # 80 %
    running = WorkClock(limit_days=2, spans=spans((start, None)), counting="statutory")
    assert used_days_at(clock, running, start + timedelta(seconds=5)) == 0.5


def test_whole_compressed_days_put_a_day_s_steps_due_at_one_close() -> None:
    clock = CompressedClock(workday_seconds=10, whole_days=True)
    day = at(9, 24, 10, 0)  # a whole multiple of 10 s since the epoch: a compressed day closes here
    assert clock.close_of(day) == day  # an instant at a close belongs to the day that closed
    assert clock.close_of(day + timedelta(seconds=1)) == day + timedelta(seconds=10)
    assert clock.count_closes(day, day + timedelta(seconds=25)) == 2
    assert clock.count_closes(day + timedelta(seconds=25), day) == 0
    assert clock.nth_close(day + timedelta(seconds=3), 2) == day + timedelta(seconds=20)
    # Accepted anywhere within one compressed day, a 2-day step is due at the same close: the day of
    # acceptance does not count, the next two do; yellow for the last day (warn_days(2) = 1).
    for offset in (0.5, 4, 9.999):
        start = day + timedelta(seconds=offset)
        query = ClockQuery(ref="step:x", limit_days=2, spans=spans((start, None)), counting="statutory")
        t = compute_timing(clock, query)
        assert (t.deadline, t.warn_at) == (day + timedelta(seconds=30), day + timedelta(seconds=20))
    running = WorkClock(limit_days=2, spans=spans((day + timedelta(seconds=4), None)), counting="statutory")
    assert used_days_at(clock, running, day + timedelta(seconds=25)) == 1.0
    with pytest.raises(NotImplementedError):
        CompressedClock(workday_seconds=10).close_of(day)  # counting continuously, it has no closes


def test_continuous_counting_is_unchanged() -> None:
    # Thu 24 Sep 10:00 + 20 continuous working days: 10:00 on the 20th working day, Thu 29 Oct.
    query = ClockQuery(ref="step:x", limit_days=20, spans=spans((at(9, 24, 10), None)))
    assert compute_timing(CAL, query).deadline == at(10, 29, 10)


def test_no_spans_and_naive_instants() -> None:
    assert timing(5) == ClockTiming(
        ref="step:x", fingerprint="0", used_days=0.0, deadline=None, warn_at=None, provisional=False
    )
    with pytest.raises(ValueError, match="timezone-aware"):
        timing(5, (datetime(2026, 9, 24, 10), None))  # noqa: DTZ001
