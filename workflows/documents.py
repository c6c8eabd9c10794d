"""The clean-up of unattached uploads, started by a Temporal schedule every hour (worker.py)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.documents import DocumentCleanup, Removed
    from workflows.search import ensure_schedule

CLEANUP_EVERY = timedelta(hours=1)


@workflow.defn(name="DocumentCleanup")
class DocumentCleanupWorkflow:
    """Runs the clean-up activity once; the schedule starts it again an hour later."""

    @workflow.run
    async def run(self) -> Removed:
        return await workflow.execute_activity_method(
            DocumentCleanup.remove_unattached_documents,
            start_to_close_timeout=timedelta(minutes=30),
            heartbeat_timeout=timedelta(minutes=5),
            retry_policy=RetryPolicy(maximum_attempts=5),
        )


def cleanup_schedule_id(task_queue: str) -> str:
    """One clean-up schedule per task queue, that is per deployment of the service."""
    return f"documents-cleanup-{task_queue}"


async def schedule_cleanup(client: Client, task_queue: str) -> str:
    """The hourly clean-up's schedule, created or brought up to date; its id."""
    schedule_id = cleanup_schedule_id(task_queue)
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(DocumentCleanupWorkflow.run, id=schedule_id, task_queue=task_queue),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=CLEANUP_EVERY)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    await ensure_schedule(client, schedule_id, schedule)
    return schedule_id
