"""Notices leave the service through two durable workflows (docs/notifications.md):

- `NotificationDispatcher`, one per task queue, started with the worker: round after round, its
  activity sends the outbox's due deliveries; Temporal retries a round whose worker died, with
  back-off, and the history is bounded by continue-as-new;
- `DailyDigest`, started by a Temporal schedule on working days at 08:30 office time: it asks the
  calendar whether the day works, and writes the digest for the office and the leaders.

`start_dispatcher` and `schedule_digest` create them idempotently; the worker calls both.
"""

from __future__ import annotations

from datetime import date, timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy, WorkflowIDConflictPolicy

with workflow.unsafe.imports_passed_through():
    from temporalio.client import (
        Client,
        Schedule,
        ScheduleActionStartWorkflow,
        ScheduleCalendarSpec,
        ScheduleOverlapPolicy,
        SchedulePolicy,
        ScheduleRange,
        ScheduleSpec,
    )

    from activities.notify import Digester, Dispatcher, DispatchRound, OfficeDayQuery
    from workflows.search import ensure_schedule

# Rounds per run before the dispatcher continues as new (each round adds about ten events).
ROUNDS_PER_RUN = 300
# A round whose worker stops heartbeating this long is retried elsewhere (or after a restart).
ROUND_HEARTBEAT = timedelta(seconds=10)
ROUND_TIMEOUT = timedelta(hours=1)
ROUND_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))
DIGEST_HOUR, DIGEST_MINUTE = 8, 30


class DispatcherInput(BaseModel):
    batch_size: int = 20
    wait_seconds: float = 60.0


@workflow.defn(name="NotificationDispatcher")
class NotificationDispatcherWorkflow:
    """Sends the outbox's deliveries, round after round, for as long as the service runs."""

    @workflow.run
    async def run(self, inp: DispatcherInput) -> None:
        for _ in range(ROUNDS_PER_RUN):
            await workflow.execute_activity_method(
                Dispatcher.dispatch,
                DispatchRound(batch_size=inp.batch_size, wait_seconds=inp.wait_seconds),
                start_to_close_timeout=ROUND_TIMEOUT,
                heartbeat_timeout=ROUND_HEARTBEAT,
                retry_policy=ROUND_RETRY,
            )
        workflow.continue_as_new(inp)


class DigestInput(BaseModel):
    """The day to digest; none: the office's day when the schedule fires."""

    day: date | None = None


class DigestOutcome(BaseModel):
    day: date
    working: bool
    written: int


@workflow.defn(name="DailyDigest")
class DailyDigestWorkflow:
    """The office's morning digest: skipped on a day off."""

    @workflow.run
    async def run(self, inp: DigestInput) -> DigestOutcome:
        office = await workflow.execute_activity_method(
            Digester.office_day,
            OfficeDayQuery(at=workflow.now(), day=inp.day),
            start_to_close_timeout=timedelta(seconds=60),
        )
        if not office.working:
            return DigestOutcome(day=office.day, working=False, written=0)
        written = await workflow.execute_activity_method(
            Digester.write_digest, office.day, start_to_close_timeout=timedelta(minutes=5)
        )
        return DigestOutcome(day=office.day, working=True, written=written)


def dispatcher_id(task_queue: str) -> str:
    return f"notification-dispatcher-{task_queue}"


def digest_schedule_id(task_queue: str) -> str:
    return f"daily-digest-{task_queue}"


async def start_dispatcher(client: Client, task_queue: str) -> None:
    """Start the task queue's dispatcher unless it runs already."""
    await client.start_workflow(
        NotificationDispatcherWorkflow.run,
        DispatcherInput(),
        id=dispatcher_id(task_queue),
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )


async def schedule_digest(client: Client, task_queue: str, timezone: str) -> None:
    """Create the digest's schedule (08:30 every day, office time) unless it exists."""
    every_morning = ScheduleCalendarSpec(hour=(ScheduleRange(DIGEST_HOUR),), minute=(ScheduleRange(DIGEST_MINUTE),))
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            DailyDigestWorkflow.run, DigestInput(), id=digest_schedule_id(task_queue), task_queue=task_queue
        ),
        spec=ScheduleSpec(calendars=[every_morning], time_zone_name=timezone),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    await ensure_schedule(client, digest_schedule_id(task_queue), schedule)
