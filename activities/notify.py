"""Activities that carry notices out of the outbox: the dispatcher's round of sending, and the
office's daily digest (docs/notifications.md).

A round sends the due deliveries, a batch at a time; when none is due it waits for one, polling
the outbox, so a notice written by a publish leaves within about a second. Each delivery is claimed
(leased) before its attempt and settled after it: sent, refused for good, skipped (the user turned
the channel off), or due again after a back-off. A worker that dies mid-send leaves the lease to
run out, and the retried round sends the delivery again under the same Message-ID or idempotency key.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import structlog
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity

from activities.channels import Refused, Sender
from domain.calendar import WorkCalendar
from models.batch import Batch
from models.calendar_store import CalendarSource
from models.deliveries import Outgoing, claim, digest_of, due_deliveries, release, release_claim, settle
from models.notification_store import recipients, takes, write_notifications

log = structlog.get_logger("approvals.notify")

# How often an idle round looks for due deliveries, and how often a round tells Temporal it lives.
POLL_SECONDS = 1.0
HEARTBEAT_SECONDS = 2.0
# Back-off after a failed attempt: 2 s, 4 s, 8 s, … at most 10 minutes; never given up.
FIRST_RETRY = timedelta(seconds=2)
LAST_RETRY = timedelta(minutes=10)
# A claimed delivery is someone's for its send's timeout and this much more.
LEASE_MARGIN = timedelta(seconds=10)
# A worker without a channel's settings puts its deliveries off this long.
UNCONFIGURED_RETRY = timedelta(minutes=1)


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt."""
    delay: timedelta = FIRST_RETRY * 2 ** min(attempts - 1, 20)
    return min(delay, LAST_RETRY)


class DispatchRound(BaseModel):
    """Send at most `batch_size` due deliveries; wait up to `wait_seconds` for one to be due."""

    batch_size: int = 20
    wait_seconds: float = 60.0


class DispatchReport(BaseModel):
    """What one round did."""

    sent: int = 0
    retrying: int = 0
    refused: int = 0
    skipped: int = 0
    taken: int = 0  # claimed by another round meanwhile


class Dispatcher:
    """Sends deliveries through the configured channels; the worker wires it."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], senders: dict[str, Sender], send_timeout: float
    ) -> None:
        self._sessions = sessions
        self._senders = senders
        self._lease = timedelta(seconds=send_timeout) + LEASE_MARGIN

    @activity.defn(name="dispatch_notifications")
    async def dispatch(self, inp: DispatchRound) -> DispatchReport:
        """One round: wait for due deliveries (up to `wait_seconds`), then send a batch of them."""
        async with _heartbeating():
            waited_until = datetime.now(UTC) + timedelta(seconds=inp.wait_seconds)
            while True:
                async with self._sessions() as session:
                    due = await due_deliveries(session, datetime.now(UTC), inp.batch_size)
                if due or datetime.now(UTC) >= waited_until:
                    return await self._send_all(due)
                await asyncio.sleep(POLL_SECONDS)

    async def _send_all(self, due: list[Outgoing]) -> DispatchReport:
        report = DispatchReport()
        down: dict[str, datetime] = {}  # channels that failed this round, and when to try them again
        for message in due:
            async with self._sessions() as session:
                if message.channel in down:  # not tried again in this round: it goes with its channel
                    await release(session, message.delivery_id, datetime.now(UTC), down[message.channel])
                    report.retrying += 1
                    continue
                outcome, retry_at = await self._attempt(session, message)
            setattr(report, outcome, getattr(report, outcome) + 1)
            if retry_at is not None:
                down[message.channel] = retry_at
        return report

    async def _attempt(self, session: AsyncSession, message: Outgoing) -> tuple[str, datetime | None]:
        """Claim, send and settle one delivery: the outcome's name, and when a failed one is retried."""
        now = datetime.now(UTC)
        if not await claim(session, message.delivery_id, now, now + self._lease):
            return "taken", None
        if not takes(message.user, message.channel):
            await settle(
                session, message.delivery_id, "skipped", now, error="channel off, no address, or user inactive"
            )
            return "skipped", None
        sender = self._senders.get(message.channel)
        if sender is None:  # this worker lacks the channel's settings: left for one that has them
            await release_claim(session, message.delivery_id, now + UNCONFIGURED_RETRY)
            return "retrying", None
        try:
            await sender.send(message)
        except Refused as refused:
            await settle(session, message.delivery_id, "failed", datetime.now(UTC), error=str(refused))
            log.warning("notice_refused", delivery=message.delivery_id, channel=message.channel, error=str(refused))
            return "refused", None
        except Exception as failure:  # the channel is down or slow: back off and try again
            retry_at = datetime.now(UTC) + retry_delay(message.attempts + 1)
            error = f"{type(failure).__name__}: {failure}"
            await settle(session, message.delivery_id, "pending", datetime.now(UTC), retry_at, error)
            log.info("notice_retrying", delivery=message.delivery_id, channel=message.channel, error=error)
            return "retrying", retry_at
        await settle(session, message.delivery_id, "sent", datetime.now(UTC))
        log.info("notice_sent", delivery=message.delivery_id, channel=message.channel, kind=message.kind)
        return "sent", None


@contextlib.asynccontextmanager
async def _heartbeating() -> AsyncIterator[None]:
    """Heartbeat while the round runs, so Temporal soon knows when the worker running it died."""

    async def beat() -> None:
        while True:
            activity.heartbeat()
            await asyncio.sleep(HEARTBEAT_SECONDS)

    beating = asyncio.create_task(beat())
    try:
        yield
    finally:
        beating.cancel()


# ---- the daily digest --------------------------------------------------------------------------


class OfficeDayQuery(BaseModel):
    """Which office day the digest is for: `day` if given (tests inject it), else the day at `at`."""

    at: datetime
    day: date | None = None


class OfficeDay(BaseModel):
    day: date
    working: bool


class Digester:
    """The digest's side effects: the calendar's answer, and the digest written to the outbox."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        calendar: CalendarSource,
        timezone: str,
        channels: tuple[str, ...],
    ) -> None:
        self._sessions = sessions
        self._calendar = calendar
        self._zone = ZoneInfo(timezone)
        self._channels = channels

    @activity.defn(name="office_day")
    async def office_day(self, inp: OfficeDayQuery) -> OfficeDay:
        """The office's day and whether it works, on the calendar in force (every day works on a
        compressed clock, which has no days off)."""
        day = inp.day or inp.at.astimezone(self._zone).date()
        async with self._sessions() as session:
            calendar = await self._calendar.calendar(session)
        working = calendar.is_working_day(day) if isinstance(calendar, WorkCalendar) else True
        return OfficeDay(day=day, working=working)

    @activity.defn(name="write_digest")
    async def write_digest(self, day: date) -> int:
        """Write the day's digest for the office and the leaders; how many notifications (none when
        nothing is red and no problem is at level 3 or 4)."""
        async with self._sessions() as session:
            digest = await digest_of(session, day)
            if digest.empty:
                return 0
            now = datetime.now(UTC)
            notice = digest.notice(now)
            users = await recipients(session, notice.audiences)
            batch = Batch(session)
            written = write_notifications(batch, [notice], None, self._channels, now, users)
            await batch.send(commit=True)
        return written
