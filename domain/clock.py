"""A working-day clock as data: running spans recorded by the workflow, timings filled in by an activity.

The workflow only records instants (from workflow.now()); converting spans into working days
needs calendar data, so an activity computes `used_days`, `deadline` and `warn_at` and the
workflow stores its answer. Replay therefore never touches the calendar.

Two countings (docs/time.md, "Working days"):

- statutory, for every new clock: whole working days, the day the period begins not counted,
  each day counted at its close of business for whoever holds the file then;
- continuous, for clocks started before statutory counting: working time flows from the
  submission instant, and the clock turns yellow at 80 % of its limit.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel

Counting = Literal["continuous", "statutory"]

WARN_FRACTION = 0.8  # continuous counting: yellow from 80 % of the limit used


def warn_days(limit_days: float) -> int:
    """Statutory counting: yellow for the last fifth of the limit, at least one working day."""
    return max(1, math.ceil(limit_days / 5))


class Span(BaseModel):
    """One interval during which the clock ran."""

    start: datetime
    end: datetime | None = None


class WorkClock(BaseModel):
    """A limit in working days and the spans that count against it."""

    limit_days: float
    spans: list[Span] = []
    used_days: float = 0.0  # working days of the closed spans
    deadline: datetime | None = None  # when the open span reaches the limit
    warn_at: datetime | None = None  # when the open span turns yellow
    provisional: bool = False  # a timing depends on a year the calendar does not hold
    stale: bool = False  # spans changed since the timings were computed
    counting: Counting = "continuous"  # states saved before statutory counting have no such field

    @property
    def running(self) -> bool:
        """Whether the clock runs now."""
        return bool(self.spans) and self.spans[-1].end is None

    @property
    def running_since(self) -> datetime | None:
        """Start of the open span, if any."""
        return self.spans[-1].start if self.running else None

    def start(self, now: datetime) -> None:
        """Start (or resume) counting."""
        if not self.running:
            self.spans.append(Span(start=now))
            self.stale = True

    def pause(self, now: datetime) -> None:
        """Stop counting; the time so far stays used."""
        if self.running:
            self.spans[-1].end = now
            self.deadline = self.warn_at = None
            self.stale = True

    def over(self, now: datetime) -> bool:
        """Whether the limit is used up at `now`."""
        if self.running:
            return self.deadline is not None and now >= self.deadline
        return self.used_days >= self.limit_days

    def warning(self, now: datetime) -> bool:
        """Whether the clock is in its warning zone at `now`: the last `warn_days` working days
        (statutory) or 80 % of the limit used (continuous)."""
        if self.running:
            return self.warn_at is not None and now >= self.warn_at
        if self.counting == "statutory":
            return self.limit_days - self.used_days <= warn_days(self.limit_days)
        return self.used_days >= WARN_FRACTION * self.limit_days

    def colour(self, now: datetime) -> str:
        """green, yellow in the warning zone, red over the limit."""
        if self.over(now):
            return "red"
        return "yellow" if self.warning(now) else "green"


class ClockTiming(BaseModel):
    """The activity's answer for one clock, valid only while its spans are unchanged."""

    ref: str
    fingerprint: str
    used_days: float
    deadline: datetime | None
    warn_at: datetime | None
    provisional: bool


class ClockQuery(BaseModel):
    """One clock whose timings the activity must compute."""

    ref: str
    limit_days: float
    spans: list[Span]
    counting: Counting = "continuous"


def fingerprint(spans: list[Span]) -> str:
    """Identifies a list of spans, so a timing is never applied to a clock that moved since."""
    if not spans:
        return "0"
    last = spans[-1]
    return f"{len(spans)}|{last.start.isoformat()}|{last.end.isoformat() if last.end else ''}"


@runtime_checkable
class Calendar(Protocol):
    """What timing needs from a working-day calendar (domain.calendar provides two)."""

    @property
    def counts_whole_days(self) -> bool:
        """Whether statutory clocks are counted in whole days (else always continuously)."""
        ...

    def working_days_between(self, start: datetime, end: datetime) -> float: ...
    def add_working_days(self, start: datetime, days: float) -> datetime: ...
    def is_provisional(self, start: datetime, end: datetime) -> bool: ...
    def close_of(self, instant: datetime) -> datetime: ...
    def count_closes(self, after: datetime, until: datetime) -> int: ...
    def nth_close(self, after: datetime, n: int) -> datetime: ...


def compute_timing(calendar: Calendar, query: ClockQuery) -> ClockTiming:
    """Used working days of the closed spans, and when the open span turns yellow and reaches its limit."""
    if query.counting == "statutory" and calendar.counts_whole_days:
        used, deadline, warn_at, provisional = _statutory(calendar, query.limit_days, query.spans)
    else:
        used, deadline, warn_at, provisional = _continuous(calendar, query.limit_days, query.spans)
    return ClockTiming(
        ref=query.ref,
        fingerprint=fingerprint(query.spans),
        used_days=used,
        deadline=deadline,
        warn_at=warn_at,
        provisional=provisional,
    )


def used_days_at(calendar: Calendar, clock: WorkClock, now: datetime) -> float:
    """Working days used up to `now`: the closed spans' `used_days` plus what the open span has counted."""
    start = clock.running_since
    if start is None:
        return clock.used_days
    if clock.counting == "statutory" and calendar.counts_whole_days:
        origin = _origin(calendar, clock.spans, len(clock.spans) - 1)
        return clock.used_days + float(calendar.count_closes(origin, now))
    return clock.used_days + calendar.working_days_between(start, now)


_Timing = tuple[float, datetime | None, datetime | None, bool]


def _continuous(calendar: Calendar, limit: float, spans: list[Span]) -> _Timing:
    """Working time flows from each span's start; yellow at 80 % of the limit."""
    used = sum(calendar.working_days_between(s.start, s.end) for s in spans if s.end is not None)
    deadline = warn_at = None
    provisional = any(calendar.is_provisional(s.start, s.end) for s in spans if s.end is not None)
    open_span = spans[-1] if spans and spans[-1].end is None else None
    if open_span is not None:
        deadline = calendar.add_working_days(open_span.start, max(limit - used, 0.0))
        warn_at = calendar.add_working_days(open_span.start, max(WARN_FRACTION * limit - used, 0.0))
        provisional = provisional or calendar.is_provisional(open_span.start, deadline)
    return used, deadline, warn_at, provisional


def _statutory(calendar: Calendar, limit: float, spans: list[Span]) -> _Timing:
    """Whole working days, each counted at its close for whoever holds the file (docs/time.md)."""
    if not spans:
        return 0.0, None, None, False
    used = sum(
        calendar.count_closes(_origin(calendar, spans, i), s.end) for i, s in enumerate(spans) if s.end is not None
    )
    deadline = warn_at = None
    last = spans[-1]
    if last.end is None:
        remaining = math.ceil(limit - used)  # whole days; limits are whole numbers in practice
        if remaining <= 0:
            deadline = warn_at = last.start  # the limit's last close passed while the department held it
        else:
            origin = _origin(calendar, spans, len(spans) - 1)
            deadline = calendar.nth_close(origin, remaining)
            before_yellow = remaining - warn_days(limit)
            warn_at = calendar.nth_close(origin, before_yellow) if before_yellow >= 0 else last.start
    # The deadline is a close: the day it closes ends an instant before it (24:00 is the next day's 00:00).
    end = deadline - timedelta(microseconds=1) if deadline is not None else last.end
    first = spans[0].start
    provisional = calendar.is_provisional(first, max(first, end, key=_utc) if end is not None else first)
    return float(used), deadline, warn_at, provisional


def _origin(calendar: Calendar, spans: list[Span], index: int) -> datetime:
    """Where span `index` starts counting: after the close of the day the period began (Civil Code
    Art. 201) for the first span; for a resumed span, its own start, but never before that first close."""
    first = calendar.close_of(spans[0].start)
    return first if index == 0 else max(spans[index].start, first, key=_utc)


def _utc(instant: datetime) -> datetime:
    return instant.astimezone(UTC)
