"""What an operator's tools ask: is the process up, may it take traffic, and its metrics.

`GET /health` (api/routes/office.py) answers both questions at once, as it always has; these
tell them apart for an orchestrator and serve Prometheus (docs/operations.md).
"""

from __future__ import annotations

import hmac
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4

from api.deps import ServicesDep, SessionDep
from api.errors import ApiError, refusals
from api.health import dependency_checks
from api.metrics import HttpMetrics

router = APIRouter(tags=["health"])
# A readiness probe must answer before its caller gives up (Kubernetes waits 1 s by default, compose 5 s).
TEMPORAL_CHECK_TIMEOUT = timedelta(seconds=3)


@router.get("/health/live")
async def live() -> dict[str, str]:
    """The process is up and answering; nothing else is checked (restart it only when this fails)."""
    return {"status": "alive"}


@router.get("/health/ready", responses=refusals("not_ready"))
async def ready(svc: ServicesDep, db: SessionDep) -> JSONResponse:
    """The database and Temporal both answer, so requests can be served (send traffic only then)."""
    checks = await dependency_checks(svc, db, TEMPORAL_CHECK_TIMEOUT)
    down = [name for name, ok in checks.items() if not ok]
    if down:
        raise ApiError(503, "not_ready", f"not answering: {', '.join(down)}", {"Retry-After": "5"}, checks=checks)
    return JSONResponse({"status": "ready", **checks})


# The 200 is Prometheus' text format, not JSON; the 401s only when a metrics token is set.
METRICS_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {CONTENT_TYPE_PLAIN_0_0_4: {"schema": {"type": "string", "title": "Prometheus text format"}}},
        "description": "The metrics",
    },
    **refusals("not_authenticated", "invalid_token"),
}


@router.get("/metrics", response_class=Response, responses=METRICS_RESPONSES)
async def metrics(request: Request, svc: ServicesDep) -> Response:
    """The API's request metrics in Prometheus' text format; a bearer token if `APPROVALS_METRICS_TOKEN` is set."""
    expected = svc.settings.metrics_token
    authorization = request.headers.get("authorization")
    if expected:
        if not authorization:
            raise ApiError(401, "not_authenticated", "send the metrics token as a bearer token")
        if not hmac.compare_digest(authorization.encode(), f"Bearer {expected}".encode()):
            raise ApiError(401, "invalid_token", "not the metrics token")
    registry: HttpMetrics = request.app.state.http_metrics
    return Response(registry.exposition(), media_type=CONTENT_TYPE_PLAIN_0_0_4)
