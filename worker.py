"""The Temporal worker: runs project workflows, calendar rollouts and their activities. Start more to scale out."""

from __future__ import annotations

import asyncio
import signal

import structlog
from temporalio.client import Client
from temporalio.worker import Worker

from activities.publish import Publisher
from activities.rollout import Rollout
from logs import configure_logging
from models.calendar_store import CalendarSource
from models.db import make_engine, session_factory
from settings import Settings, get_settings
from workflows.calendar import CalendarRolloutWorkflow
from workflows.project import ProjectWorkflow
from workflows.search import connect

log = structlog.get_logger("approvals.worker")


def build_worker(client: Client, settings: Settings, task_queue: str | None = None) -> Worker:
    """The worker with every workflow and activity of the service, wired to the settings' database."""
    sessions = session_factory(make_engine(settings.database_url))
    calendar = CalendarSource(settings.workday_seconds, settings.timezone, settings.closes)
    publisher = Publisher(sessions, calendar)
    rollout = Rollout(sessions, settings.timezone)
    return Worker(
        client,
        task_queue=task_queue or settings.task_queue,
        workflows=[ProjectWorkflow, CalendarRolloutWorkflow],
        activities=[
            publisher.time_clocks,
            publisher.store_project,
            publisher.publish_project,
            rollout.affected_projects,
        ],
        max_concurrent_workflow_tasks=200,
        max_concurrent_local_activities=200,
        max_cached_workflows=settings.max_cached_workflows,
    )


async def main() -> None:
    """Run until SIGTERM or SIGINT, then finish in-flight tasks and stop."""
    settings = get_settings()
    configure_logging(settings.log_json, settings.log_level)
    client = await connect(settings.temporal_address, settings.temporal_namespace)
    worker = build_worker(client, settings)
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
