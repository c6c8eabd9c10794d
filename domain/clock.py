"""A working-day clock as data: running spans recorded by the workflow, timings filled in by an activity.

The workflow only records instants (from workflow.now()); converting spans into working days
needs calendar data, so an activity computes `used_days`, `deadline` and `warn_at` and the
workflow stores its answer. Replay therefore never touches the calendar.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

from pydantic import BaseModel

WARN_FRACTION = 0.8


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
    warn_at: datetime | None = None  # when the open span reaches 80 % of the limit
    provisional: bool = False  # a timing depends on a year the calendar does not hold
    stale: bool = False  # spans changed since the timings were computed

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
        """Whether 80 % or more of the limit is used at `now`."""
        if self.running:
            return self.warn_at is not None and now >= self.warn_at
        return self.used_days >= WARN_FRACTION * self.limit_days

    def colour(self, now: datetime) -> str:
        """green, yellow at 80 % used, red over the limit."""
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
    """Used working days of the closed spans, and when the open span reaches 80 % and 100 %."""
    used = sum(calendar.working_days_between(s.start, s.end) for s in query.spans if s.end is not None)
    deadline = warn_at = None
    provisional = any(calendar.is_provisional(s.start, s.end) for s in query.spans if s.end is not None)
    open_span = query.spans[-1] if query.spans and query.spans[-1].end is None else None
    if open_span is not None:
        deadline = calendar.add_working_days(open_span.start, max(query.limit_days - used, 0.0))
        warn_at = calendar.add_working_days(open_span.start, max(WARN_FRACTION * query.limit_days - used, 0.0))
        provisional = provisional or calendar.is_provisional(open_span.start, deadline)
    return ClockTiming(
        ref=query.ref,
        fingerprint=fingerprint(query.spans),
        used_days=used,
        deadline=deadline,
        warn_at=warn_at,
        provisional=provisional,
    )
