"""The API's request metrics for Prometheus: counts, latency and requests in flight, by route template.

Labels name the route's template (`/projects/{code}`), never the path a caller sent, so a scraper
sees a bounded set of series whatever the traffic; a path no route serves counts as `unmatched`.
`RequestMetrics` is plain ASGI: it only watches `http.response.start` go by, so streamed
downloads pass untouched and their latency runs until the last byte.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import flat_routes

UNMATCHED = "unmatched"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Seconds: reads answer in milliseconds, an action may wait for its workflow up to 30 s (then 503).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class HttpMetrics:
    """The API's metrics, in a registry of the app's own (several apps may live in one process)."""

    def __init__(self) -> None:
        # No `_created` twin of every series: Prometheus does not need them.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "approvals_http_requests",
            "HTTP requests answered, by method, route template and status",
            ("method", "route", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "approvals_http_request_duration_seconds",
            "Time from a request's arrival to its answer's last byte, by method and route template",
            ("method", "route"),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "approvals_http_requests_in_flight", "Requests being answered right now", registry=self.registry
        )

    def exposition(self) -> bytes:
        """The metrics in Prometheus' text format."""
        return generate_latest(self.registry)


class RequestMetrics:
    """ASGI middleware that counts and times every HTTP request into `metrics`."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # what the caller gets if the app raises before answering
        started = time.perf_counter()

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, watch)
        finally:
            self.metrics.in_flight.dec()
            method = scope["method"] if scope["method"] in METHODS else "other"
            route = route_template(scope)
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - started)


def route_template(scope: Scope) -> str:
    """The template of the route that served the request, or `unmatched`.

    The router records the route it chose in the scope; a request answered before it reached the
    router (an Idempotency-Key replay, a refusal by a middleware) is matched here instead.
    """
    route = scope.get("route") or matching_route(scope)
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return str(template) if template else UNMATCHED


def matching_route(scope: Scope) -> Any:
    """The first route of the app that fully matches the request, if any."""
    for route in flat_routes(scope["app"]):
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return route
    return None
