"""The Temporal worker: runs project workflows, calendar rollouts, the notices' dispatcher and digest, the
clean-up of unattached uploads, and their activities. Start more to scale out."""

from __future__ import annotations

import asyncio
import gc
import signal
from datetime import timedelta

import structlog
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from activities.channels import Sender, senders
from activities.documents import DocumentCleanup
from activities.notify import Digester, Dispatcher
from activities.publish import Publisher
from activities.rollout import Rollout
from logs import configure_logging
from models.calendar_store import CalendarSource
from models.db import make_engine, session_factory
from models.storage import make_storage
from settings import Settings, get_settings
from worker_metrics import WorkerMetrics
from workflows.calendar import CalendarRolloutWorkflow
from workflows.code_cache import cache_workflow_code
from workflows.documents import DocumentCleanupWorkflow, schedule_cleanup
from workflows.notifications import (
    DailyDigestWorkflow,
    NotificationDispatcherWorkflow,
    schedule_digest,
    start_dispatcher,
)
from workflows.project import ProjectWorkflow
from workflows.search import connect

log = structlog.get_logger("approvals.worker")


def build_worker(client: Client, settings: Settings, task_queue: str | None = None) -> Worker:
    """The worker with every workflow and activity of the service, wired to the settings' database."""
    sessions = session_factory(make_engine(settings.database_url))
    calendar = CalendarSource.of(settings)
    channels = notice_senders(settings)
    publisher = Publisher(sessions, calendar, tuple(channels))
    rollout = Rollout(sessions, settings.timezone)
    dispatcher = Dispatcher(sessions, channels, settings.notify_send_timeout_seconds)
    digester = Digester(sessions, calendar, settings.timezone, tuple(channels))
    cleanup = DocumentCleanup(sessions, make_storage(settings), timedelta(hours=settings.unattached_document_hours))
    workflows = [
        ProjectWorkflow,
        CalendarRolloutWorkflow,
        NotificationDispatcherWorkflow,
        DailyDigestWorkflow,
        DocumentCleanupWorkflow,
    ]
    cache_workflow_code(workflows)  # the sandbox imports them for every new instance: compile once
    return Worker(
        client,
        task_queue=task_queue or settings.task_queue,
        workflows=workflows,
        activities=[
            publisher.publish,
            publisher.time_clocks,
            publisher.store_project,
            publisher.publish_project,
            rollout.affected_projects,
            dispatcher.dispatch,
            digester.office_day,
            digester.write_digest,
            cleanup.remove_unattached_documents,
        ],
        max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
        max_concurrent_local_activities=200,
        max_concurrent_workflow_task_polls=settings.workflow_task_polls,
        nonsticky_to_sticky_poll_ratio=1.0,  # as many polls on the shared queue as on the sticky one
        max_cached_workflows=settings.max_cached_workflows,
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=settings.sticky_queue_seconds),
        workflow_runner=SandboxedWorkflowRunner() if settings.workflow_sandbox else UnsandboxedWorkflowRunner(),
    )


def notice_senders(settings: Settings) -> dict[str, Sender]:
    """The notice channels the settings configure (mail, the gateway's webhook), by name."""
    return senders(
        settings.smtp_url,
        settings.mail_from,
        settings.webhook_url,
        settings.webhook_secret,
        settings.link_base,
        settings.notify_send_timeout_seconds,
    )


async def start_background_work(client: Client, settings: Settings, task_queue: str | None = None) -> None:
    """Start the notices' dispatcher, the digest's and the clean-up's schedules, unless they exist."""
    queue = task_queue or settings.task_queue
    await start_dispatcher(client, queue)
    await schedule_digest(client, queue, settings.timezone)
    await schedule_cleanup(client, queue)


async def main() -> None:
    """Run until SIGTERM or SIGINT, then finish in-flight tasks and stop."""
    settings = get_settings()
    configure_logging(settings.log_json, settings.log_level)
    metrics = worker_metrics(settings)
    runtime = metrics.runtime if metrics else None
    client = await connect(settings.temporal_address, settings.temporal_namespace, runtime)
    worker = build_worker(client, settings)
    await start_background_work(client, settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("worker_started", task_queue=settings.task_queue, temporal=settings.temporal_address)
    figures = asyncio.create_task(metrics.refresh_forever()) if metrics else None
    # What start-up built (modules, schemas, the SDK) lives as long as the process: out of the
    # collector's sight, a full collection walks only the projects the worker holds.
    gc.freeze()
    async with worker:
        await stop.wait()
    if figures is not None and metrics is not None:
        figures.cancel()
        metrics.close()
    log.info("worker_stopped")


def worker_metrics(settings: Settings) -> WorkerMetrics | None:
    """The worker's /metrics on `APPROVALS_WORKER_METRICS_ADDRESS`, serving already; None when that is empty."""
    if not settings.worker_metrics_address:
        return None
    sessions = session_factory(make_engine(settings.database_url, pool_size=1))
    metrics = WorkerMetrics(settings.worker_metrics_address, sessions, settings.worker_figures_seconds)
    metrics.serve()
    return metrics


if __name__ == "__main__":
    asyncio.run(main())
