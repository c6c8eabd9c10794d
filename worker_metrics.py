"""The worker's /metrics: the Temporal SDK's own metrics and the service's figures, on one address.

The SDK's Prometheus exporter listens on a loopback port of its own that nothing else is told
about; the worker's server answers a scrape with the figures' gauges followed by the exporter's
text, so a worker is one scrape target whatever it runs (docs/operations.md). The figures are read
from the read model every `APPROVALS_WORKER_FIGURES_SECONDS`, not on each scrape: a scraper's
pace never reaches the database.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import structlog
from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    CollectorRegistry,
    Gauge,
    disable_created_metrics,
    generate_latest,
)
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from models.figures import Figures, read_figures

log = structlog.get_logger("approvals.worker")
LOOPBACK = "127.0.0.1"
SDK_SCRAPE_TIMEOUT = 5.0


class FigureGauges:
    """The read model's figures as Prometheus gauges."""

    def __init__(self, registry: CollectorRegistry) -> None:
        def gauge(name: str, text: str, *labels: str) -> Gauge:
            return Gauge(name, text, labels, registry=registry)

        self.live_projects = gauge("approvals_live_projects", "Active and suspended projects, by colour", "colour")
        self.open_problems = gauge("approvals_open_problems", "Open problems, by ladder level", "level")
        self.overdue_steps = gauge(
            "approvals_overdue_steps", "Steps shown red (over their limit), by department", "department"
        )
        self.waiting = gauge("approvals_notifications_waiting", "Notices not yet taken by their channel", "channel")
        self.oldest_waiting = gauge(
            "approvals_notifications_oldest_waiting_seconds", "Age of the longest-waiting notice (0 when none waits)"
        )
        self.updated = gauge(
            "approvals_figures_updated_timestamp_seconds", "When these figures were last read from the read model"
        )

    def show(self, figures: Figures, now: float) -> None:
        """Set every gauge from one reading taken at `now` (seconds since the epoch)."""
        for colour, count in figures.live_projects.items():
            self.live_projects.labels(colour).set(count)
        for level, count in figures.open_problems.items():
            self.open_problems.labels(str(level)).set(count)
        for department, count in figures.overdue_steps.items():
            self.overdue_steps.labels(department).set(count)
        for channel, count in figures.notifications_waiting.items():
            self.waiting.labels(channel).set(count)
        oldest = figures.oldest_waiting
        self.oldest_waiting.set(max(0.0, now - oldest.timestamp()) if oldest is not None else 0.0)
        self.updated.set(now)


class WorkerMetrics:
    """The SDK's runtime with its exporter, the figures' gauges, and the server that shows both."""

    def __init__(self, address: str, sessions: async_sessionmaker[AsyncSession], every: float) -> None:
        host, _, port = address.rpartition(":")
        self.address = (host or LOOPBACK, int(port))
        self.sessions = sessions
        self.every = every
        self.sdk_port = free_loopback_port()
        # Durations in seconds, as Prometheus' own conventions (and docs/operations.md's rules) have them.
        exporter = PrometheusConfig(bind_address=f"{LOOPBACK}:{self.sdk_port}", durations_as_seconds=True)
        self.runtime = Runtime(telemetry=TelemetryConfig(metrics=exporter))
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry()
        self.gauges = FigureGauges(self.registry)
        self.server: ThreadingHTTPServer | None = None

    def serve(self) -> None:
        """Answer GET /metrics on the address, from a thread of its own."""
        self.server = ThreadingHTTPServer(self.address, handler(self.exposition))
        threading.Thread(target=self.server.serve_forever, name="metrics", daemon=True).start()
        log.info("worker_metrics_serving", address=f"{self.address[0]}:{self.server.server_address[1]}")

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def exposition(self) -> bytes:
        """The figures' gauges, then the SDK's metrics as its exporter shows them."""
        ours = generate_latest(self.registry)
        try:
            url = f"http://{LOOPBACK}:{self.sdk_port}/metrics"
            with urllib.request.urlopen(url, timeout=SDK_SCRAPE_TIMEOUT) as answer:
                sdk: bytes = answer.read()
        except OSError as error:
            log.warning("sdk_metrics_unavailable", error=str(error))
            sdk = b""
        return ours + sdk

    async def refresh_forever(self) -> None:
        """Read the figures now and then every `every` seconds; a failed read keeps the last ones."""
        while True:
            try:
                async with self.sessions() as db:
                    figures = await read_figures(db)
                self.gauges.show(figures, time.time())
            except Exception as error:  # the database down: the age of the figures tells the alert
                log.warning("figures_unavailable", error=type(error).__name__)
            await asyncio.sleep(self.every)


def handler(exposition: Any) -> type[BaseHTTPRequestHandler]:
    """A request handler that answers GET /metrics with `exposition()` and anything else with 404."""

    class MetricsHandler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?")[0] != "/metrics":
                self.send_error(404)
                return
            body = exposition()
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE_PLAIN_0_0_4)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # a scrape every 15 s is not worth a log line

    return MetricsHandler


def free_loopback_port() -> int:
    """A port nothing listens on now, for the SDK's exporter."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])
