"""The Temporal worker: runs project workflows, calendar rollouts, the clean-up of unattached uploads and
their activities. Start more to scale out."""

from __future__ import annotations

import asyncio
import signal
from datetime import timedelta

import structlog
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
)
from temporalio.worker import Worker

from activities.documents import DocumentCleanup
from activities.publish import Publisher
from activities.rollout import Rollout
from logs import configure_logging
from models.calendar_store import CalendarSource
from models.db import make_engine, session_factory
from models.storage import make_storage
from settings import Settings, get_settings
from workflows.calendar import CalendarRolloutWorkflow
from workflows.documents import CLEANUP_EVERY, DocumentCleanupWorkflow
from workflows.project import ProjectWorkflow
from workflows.search import connect

log = structlog.get_logger("approvals.worker")


def build_worker(client: Client, settings: Settings, task_queue: str | None = None) -> Worker:
    """The worker with every workflow and activity of the service, wired to the settings' database."""
    sessions = session_factory(make_engine(settings.database_url))
    calendar = CalendarSource(settings.workday_seconds, settings.timezone, settings.closes)
    publisher = Publisher(sessions, calendar)
    rollout = Rollout(sessions, settings.timezone)
    max_age = timedelta(hours=settings.unattached_document_hours)
    cleanup = DocumentCleanup(sessions, make_storage(settings), max_age)
    return Worker(
        client,
        task_queue=task_queue or settings.task_queue,
        workflows=[ProjectWorkflow, CalendarRolloutWorkflow, DocumentCleanupWorkflow],
        activities=[
            publisher.time_clocks,
            publisher.store_project,
            publisher.publish_project,
            rollout.affected_projects,
            cleanup.remove_unattached_documents,
        ],
        max_concurrent_workflow_tasks=200,
        max_concurrent_local_activities=200,
        max_cached_workflows=settings.max_cached_workflows,
    )


def cleanup_schedule_id(task_queue: str) -> str:
    """One clean-up schedule per task queue, that is per deployment of the service."""
    return f"documents-cleanup-{task_queue}"


async def ensure_cleanup_schedule(client: Client, settings: Settings) -> str:
    """Create the hourly clean-up schedule, or bring an existing one up to date; its id.

    Every worker calls this at start: the first creates it, the others find it there.
    """
    schedule_id = cleanup_schedule_id(settings.task_queue)
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(DocumentCleanupWorkflow.run, id=schedule_id, task_queue=settings.task_queue),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=CLEANUP_EVERY)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    try:
        await client.create_schedule(schedule_id, schedule)
    except ScheduleAlreadyRunningError:
        await client.get_schedule_handle(schedule_id).update(lambda _: ScheduleUpdate(schedule=schedule))
    return schedule_id


async def main() -> None:
    """Run until SIGTERM or SIGINT, then finish in-flight tasks and stop."""
    settings = get_settings()
    configure_logging(settings.log_json, settings.log_level)
    client = await connect(settings.temporal_address, settings.temporal_namespace)
    worker = build_worker(client, settings)
    await ensure_cleanup_schedule(client, settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("worker_started", task_queue=settings.task_queue, temporal=settings.temporal_address)
    async with worker:
        await stop.wait()
    log.info("worker_stopped")


if __name__ == "__main__":
    asyncio.run(main())
