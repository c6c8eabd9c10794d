"""What an operator's tools see: the API's and the worker's /metrics, liveness and readiness."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import col, func, select
from temporalio.client import Client

from api.main import create_app
from launch.processes import TemporalDevServer, free_port, service_env, start_worker
from models.db import make_engine, session_factory
from models.figures import read_figures
from models.tables import DeliveryRow
from settings import Settings
from tests.chain import ORGS, create
from tests.conftest import Api, eventually, open_api
from tests.support.outbox import notifying_settings
from tests.support.proxy import database_proxy
from tests.test_clock import compressed_stack

pytestmark = pytest.mark.asyncio(loop_scope="session")
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """Every sample of a Prometheus text exposition: (name, labels) -> value."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def scrape(api: Api) -> Samples:
    r = await api.client.get("/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse(r.text)


# ---- the API ----------------------------------------------------------------------------------


async def test_a_request_counts_under_its_route_template_and_status(api: Api) -> None:
    code = (await create(api))["code"]
    before = await scrape(api)
    assert (await api.get(f"/projects/{code}", "office-1")).status_code == 200
    assert (await api.get("/projects/310115-2000-01-990001-X", "office-1")).status_code in (404, 422)
    assert (await api.client.get("/no/such/route")).status_code == 404
    after = await scrape(api)

    shown = {"method": "GET", "route": "/projects/{code}"}
    assert value(after, "approvals_http_requests_total", **shown, status="200") == (
        value(before, "approvals_http_requests_total", **shown, status="200") + 1
    )
    unmatched = {"method": "GET", "route": "unmatched", "status": "404"}
    assert value(after, "approvals_http_requests_total", **unmatched) == (
        value(before, "approvals_http_requests_total", **unmatched) + 1
    )
    # The latency histogram moved for the template; the raw path is never a label.
    timed = {"method": "GET", "route": "/projects/{code}"}
    assert value(after, "approvals_http_request_duration_seconds_count", **timed) >= 2
    assert value(after, "approvals_http_request_duration_seconds_bucket", **timed, le="+Inf") >= 2
    assert not any(code in dict(labels).get("route", "") for _, labels in after)
    # The scrape itself is the one request in flight.
    assert value(after, "approvals_http_requests_in_flight") == 1


async def test_an_idempotent_replay_counts_under_its_route(api: Api) -> None:
    key = {"Idempotency-Key": "metrics-replay"}
    body = {"name": "replayed", "category": "general", "owner_credit_code": ORGS["owner-a"], "investment_wan": 10.0}
    first = await api.post("/projects", "owner-a", json=body, headers=key)
    before = await scrape(api)
    again = await api.post("/projects", "owner-a", json=body, headers=key)
    assert again.status_code == first.status_code
    created = {"method": "POST", "route": "/projects", "status": str(first.status_code)}
    assert value(await scrape(api), "approvals_http_requests_total", **created) == (
        value(before, "approvals_http_requests_total", **created) + 1
    )


async def test_a_metrics_token_closes_the_endpoint_to_anyone_else(settings: Settings) -> None:
    guarded = settings.model_copy(update={"metrics_token": "scraper-secret"})
    async for api in open_api(create_app(guarded)):
        missing = await api.client.get("/metrics")
        assert missing.status_code == 401 and missing.json()["code"] == "not_authenticated"
        wrong = await api.client.get("/metrics", headers={"Authorization": "Bearer other"})
        assert wrong.status_code == 401 and wrong.json()["code"] == "invalid_token"
        right = await api.client.get("/metrics", headers={"Authorization": "Bearer scraper-secret"})
        assert right.status_code == 200 and "approvals_http_requests_total" in right.text


async def test_readiness_fails_while_the_database_is_down_and_liveness_does_not(settings: Settings) -> None:
    proxy, via_proxy = await database_proxy(settings)
    try:
        async for api in open_api(create_app(settings.model_copy(update={"database_url": via_proxy}))):
            assert (await api.client.get("/health/ready")).json() == {
                "status": "ready",
                "database": True,
                "temporal": True,
            }
            await proxy.cut()
            down = await api.client.get("/health/ready")
            assert down.status_code == 503, down.text
            assert down.headers["content-type"] == "application/problem+json"
            problem = down.json()
            assert problem["code"] == "not_ready" and problem["checks"] == {"database": False, "temporal": True}
            assert down.headers["retry-after"] == "5"
            live = await api.client.get("/health/live")
            assert live.status_code == 200 and live.json() == {"status": "alive"}

            await proxy.start()

            async def ready_again(api: Api = api) -> None:
                r = await api.client.get("/health/ready")
                assert r.status_code == 200, r.text

            await eventually(ready_again, within=30)
            assert (await api.client.get("/health/live")).status_code == 200
    finally:
        await proxy.cut()


# ---- the worker -------------------------------------------------------------------------------


@pytest.fixture
async def notifying() -> AsyncIterator[Settings]:
    """A stack of its own (Temporal, a fresh read model) whose notices wait: the gateway never answers."""
    async with notifying_settings(smtp_url=None) as (settings, _, _):
        yield settings


async def test_worker_metrics_show_the_sdk_and_the_read_models_figures(notifying: Settings) -> None:
    address = f"127.0.0.1:{free_port()}"
    env = os.environ | service_env(notifying)
    env |= {
        "APPROVALS_WORKER_METRICS_ADDRESS": address,
        "APPROVALS_WORKER_FIGURES_SECONDS": "0.5",
        "APPROVALS_WEBHOOK_URL": str(notifying.webhook_url),
        "APPROVALS_WEBHOOK_SECRET": str(notifying.webhook_secret),
    }
    worker = start_worker(env)
    try:
        async for api in open_api(create_app(notifying)):
            codes = [(await create(api))["code"] for _ in range(3)]
            r = await api.post(f"/projects/{codes[0]}/problems", "owner-a", json={"summary": "site access blocked"})
            assert r.status_code == 201, r.text
            assert await pending_deliveries(notifying) > 0  # the gateway does not listen: webhook notices wait

            async with httpx.AsyncClient(base_url=f"http://{address}") as http:

                async def figures_shown() -> Samples:
                    r = await http.get("/metrics")
                    assert r.status_code == 200
                    samples = parse(r.text)
                    waiting = await pending_deliveries(notifying)
                    assert value(samples, "approvals_live_projects", colour="green") == 2
                    assert value(samples, "approvals_live_projects", colour="yellow") == 1
                    assert value(samples, "approvals_live_projects", colour="red") == 0
                    assert value(samples, "approvals_open_problems", level="1") == 1
                    assert value(samples, "approvals_open_problems", level="2") == 0
                    assert value(samples, "approvals_notifications_waiting", channel="webhook") == waiting
                    assert value(samples, "approvals_notifications_oldest_waiting_seconds") > 0
                    assert ("approvals_overdue_steps", frozenset({("department", "drc")})) in samples
                    return samples

                samples = await eventually(figures_shown, within=30, interval=0.5)
                # The SDK's own: workflow tasks the worker ran, and its calls to the server.
                sdk = {name for name, _ in samples if name.startswith("temporal_")}
                assert "temporal_workflow_task_execution_latency_count" in sdk, sorted(sdk)
                assert "temporal_request" in sdk or "temporal_request_total" in sdk, sorted(sdk)
                assert (await http.get("/elsewhere")).status_code == 404
    finally:
        worker.stop()


async def pending_deliveries(settings: Settings) -> int:
    engine = make_engine(settings.database_url)
    try:
        async with session_factory(engine)() as db:
            query = select(func.count()).select_from(DeliveryRow).where(col(DeliveryRow.status) == "pending")
            return int((await db.exec(query)).one())
    finally:
        await engine.dispose()


async def test_a_step_over_its_limit_counts_as_overdue_for_its_department(
    database_url: str, temporal_server: TemporalDevServer, temporal_client: Client, settings: Settings
) -> None:
    sessions = session_factory(make_engine(settings.database_url))
    async with sessions() as db:
        before = await read_figures(db)
    async for api in compressed_stack(database_url, temporal_server, temporal_client, 1.0):
        code = (await create(api))["code"]
        submitted = await api.post(f"/projects/{code}/steps/project_approval/submit", "owner-a", json={})
        assert submitted.status_code == 200, submitted.text

        async def overdue() -> Any:
            async with sessions() as db:
                now = await read_figures(db)
            assert now.overdue_steps["drc"] == before.overdue_steps["drc"] + 1, now
            return now

        # Ten working days of one second each, then the workflow's timer and its write.
        now = await eventually(overdue, within=40, interval=0.5)
        assert now.live_projects["red"] >= before.live_projects["red"] + 1
