"""The Temporal worker: runs project workflows and their activities. Start more to scale out."""

from __future__ import annotations

import asyncio
import signal

import structlog
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from activities.calendar_source import CalendarSource
from activities.publish import Publisher
from logs import configure_logging
from models.db import make_engine, session_factory
from settings import Settings, get_settings
from workflows.project import ProjectWorkflow

log = structlog.get_logger("approvals.worker")


async def connect(settings: Settings) -> Client:
    """A Temporal client that speaks pydantic."""
    return await Client.connect(
        settings.temporal_address, namespace=settings.temporal_namespace, data_converter=pydantic_data_converter
    )


def build_worker(client: Client, settings: Settings, publisher: Publisher, task_queue: str | None = None) -> Worker:
    """The worker with every workflow and activity of the service registered."""
    return Worker(
        client,
        task_queue=task_queue or settings.task_queue,
        workflows=[ProjectWorkflow],
        activities=[publisher.publish_project],
        max_concurrent_workflow_tasks=200,
        max_concurrent_local_activities=200,
        max_cached_workflows=settings.max_cached_workflows,
    )


async def main() -> None:
    """Run until SIGTERM or SIGINT, then finish in-flight tasks and stop."""
    settings = get_settings()
    configure_logging(settings.log_json, settings.log_level)
    engine = make_engine(settings.database_url)
    publisher = Publisher(session_factory(engine), CalendarSource(settings.workday_seconds, settings.timezone))
    client = await connect(settings)
    worker = build_worker(client, settings, publisher)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("worker_started", task_queue=settings.task_queue, temporal=settings.temporal_address)
    async with worker:
        await stop.wait()
    await engine.dispose()
    log.info("worker_stopped")


if __name__ == "__main__":
    asyncio.run(main())
