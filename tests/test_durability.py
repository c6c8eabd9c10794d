"""Nothing accepted is lost: a worker, the API or the read model dying mid-flight, a restarted Temporal server."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import col, select
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from api.deps import Services, session
from api.main import create_app
from bench.consistency import read_model_differences
from launch.databases import create_database, drop_database, migrate
from launch.processes import (
    ChildProcess,
    TemporalDevServer,
    free_port,
    service_env,
    start_api,
    start_worker,
)
from models.calendar_store import CalendarSource
from models.db import make_engine, session_factory
from models.seed import ORG_A, seed
from models.storage import make_storage
from models.tables import IdempotencyRow
from settings import Settings
from tests.chain import steps, view, walk
from tests.conftest import Api, eventually, make_settings, open_api
from tests.support.proxy import database_proxy
from workflows.search import connect

pytestmark = pytest.mark.asyncio(loop_scope="session")


# The API gives up waiting for a workflow after this long and answers 503 not_confirmed.
UPDATE_WAIT_SECONDS = 3.0


def worker_process(settings: Settings) -> ChildProcess:
    """A real worker process."""
    return start_worker(service_env(settings))


def api_process(settings: Settings, port: int) -> ChildProcess:
    """A real API process (uvicorn)."""
    return start_api(service_env(settings), port)


class Stack:
    """A Temporal server on a data file, a read model, worker processes and the API."""

    def __init__(self, server: TemporalDevServer, settings: Settings, api: Api) -> None:
        self.server = server
        self.settings = settings
        self.api = api
        self.worker = worker_process(settings)

    async def client(self) -> Client:
        return await connect(self.settings.temporal_address, self.settings.temporal_namespace)


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    server = TemporalDevServer.start(db_file=tmp_path / "temporal.db")
    url = create_database(os.environ.get("APPROVALS_TEST_DATABASE_URL"))
    migrate(url)
    settings = make_settings(url, server.address, update_wait_seconds=UPDATE_WAIT_SECONDS)
    await seed(settings)
    try:
        async for api in open_api(create_app(settings)):
            running = Stack(server, settings, api)
            try:
                yield running
            finally:
                running.worker.stop()
    finally:
        server.stop()
        drop_database(url)


async def decide_with_retry(api: Api, code: str, step: dict[str, Any], key: str) -> int:
    """A reviewer's decision, retried with the same Idempotency-Key until it is answered for good."""
    path = f"/projects/{code}/steps/{step['key']}/decision"
    reviewer = f"reviewer-{step['department']}"
    for _ in range(60):
        r = await api.post(path, reviewer, json={"outcome": "approve"}, headers={"Idempotency-Key": key})
        if r.status_code < 500:
            return r.status_code
        await asyncio.sleep(0.5)
    raise AssertionError(f"decision on {step['key']} never answered")


async def assert_read_model_matches_workflow(stack: Stack, code: str) -> None:
    """The read model holds exactly the workflow's own state, and each event once."""
    client = await stack.client()
    engine = make_engine(stack.settings.database_url)
    try:
        async with session_factory(engine)() as db:
            assert await read_model_differences(db, client, code) == []
    finally:
        await engine.dispose()


async def decisions_in_history(client: Client, code: str, run: str, after: int) -> tuple[int, int]:
    """How many `decide` updates the workflow's history shows accepted and completed after event
    `after` of run `run`, following the runs it continued as new into."""
    accepted: set[str] = set()
    completed: set[str] = set()
    next_run: str | None = run
    while next_run:
        events = client.get_workflow_handle(code, run_id=next_run).fetch_history_events()
        next_run = None
        async for event in events:
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
                next_run = event.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
            if event.event_id <= after:
                continue
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
                request = event.workflow_execution_update_accepted_event_attributes.accepted_request
                if request.input.name == "decide":
                    accepted.add(request.meta.update_id)
            elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
                completed.add(event.workflow_execution_update_completed_event_attributes.meta.update_id)
        after = 0
    return len(accepted), len(accepted & completed)


async def test_worker_killed_mid_chain_loses_nothing(stack: Stack) -> None:
    api = stack.api
    code = await created(api)
    project = await walk(api, code, until="survey")
    await api.post(f"/projects/{code}/steps/survey/submit", "owner-a", json={})
    await api.post(f"/projects/{code}/steps/survey/decision", "reviewer-survey", json={"outcome": "approve"})
    inspections = [s for s in steps(await view(api, code)).values() if s["status"] == "in_review"]
    assert len(inspections) == 5
    client = await stack.client()
    run = (await client.get_workflow_handle(code).describe()).run_id
    before = [e.event_id async for e in client.get_workflow_handle(code, run_id=run).fetch_history_events()][-1]

    # Five decisions in flight at once; the worker dies under them, as soon as the first of them
    # has reached it: the workflow's history shows it accepted.
    in_flight = [asyncio.create_task(decide_with_retry(api, code, s, f"kill-{s['key']}")) for s in inspections]

    async def reached_the_worker() -> None:
        accepted, _ = await decisions_in_history(client, code, run, before)
        assert accepted >= 1, "no decision accepted yet"

    await eventually(reached_the_worker, within=30, interval=0.02)
    stack.worker.kill()  # SIGKILL; returns once the process is gone, so no wait is needed after it
    assert not stack.worker.running
    accepted, completed = await decisions_in_history(client, code, run, before)
    assert accepted >= 1 and completed < len(inspections), (accepted, completed)  # the kill landed mid-flight
    assert not all(t.done() for t in in_flight)
    stack.worker = worker_process(stack.settings)
    statuses = await asyncio.wait_for(asyncio.gather(*in_flight), timeout=120)
    assert all(s == 200 for s in statuses), statuses
    assert await decisions_in_history(client, code, run, before) == (len(inspections), len(inspections))

    project = await walk(api, code)
    assert project["status"] == "completed"
    events = (await api.get(f"/projects/{code}/events", "owner-a")).json()
    approvals = Counter(e["step"] for e in events if e["action"] == "approved")
    assert all(approvals[s["key"]] == 1 for s in inspections), approvals
    await assert_read_model_matches_workflow(stack, code)


async def test_temporal_restart_on_its_data_file_loses_nothing(stack: Stack) -> None:
    api = stack.api
    code = await created(api)
    await walk(api, code, until="design_review")
    before = await view(api, code)

    stack.server.restart()

    async def answers() -> None:
        r = await api.get("/health", "office-1")
        assert r.status_code == 200, r.text

    await eventually(answers, within=60)

    async def survives() -> None:
        r = await api.post(
            f"/projects/{code}/steps/design_review/submit",
            "owner-a",
            json={},
            headers={"Idempotency-Key": "after-restart"},
        )
        assert r.status_code == 200, r.text

    await eventually(survives, within=60, interval=0.5)
    after = await view(api, code)
    assert steps(after)["project_approval"]["status"] == steps(before)["project_approval"]["status"] == "approved"
    project = await walk(api, code)
    assert project["status"] == "completed"
    await assert_read_model_matches_workflow(stack, code)


async def submitted(api: Api) -> str:
    """A new project whose first step is with its reviewer.

    The stack waits only UPDATE_WAIT_SECONDS for a workflow, so on a busy machine a step may be
    answered 503 not_confirmed: the client retries with the same Idempotency-Key, as documented.
    """
    code = await created(api)
    r = await until_answered(api, f"/projects/{code}/steps/project_approval/submit", {}, f"submit-{code}")
    assert r.status_code == 200, r.text
    return code


async def created(api: Api) -> str:
    """A new general project of owner-a (retried while 503, like every set-up step here)."""
    body = {"name": "durability", "category": "general", "owner_credit_code": ORG_A, "investment_wan": 100}
    r = await until_answered(api, "/projects", body, f"create-{uuid.uuid4()}")
    assert r.status_code == 201, r.text
    code: str = r.json()["code"]
    return code


async def until_answered(api: Api, path: str, body: dict[str, Any], key: str) -> httpx.Response:
    """An owner's POST, retried with the same Idempotency-Key while it answers 503."""
    for _ in range(20):
        r = await api.post(path, "owner-a", json=body, headers={"Idempotency-Key": key})
        if r.status_code != 503:
            return r
        await asyncio.sleep(0.5)
    raise AssertionError(f"{path} answered 503 twenty times")


async def approvals_of(api: Api, code: str, step: str) -> int:
    events = (await api.get(f"/projects/{code}/events", "office-1")).json()
    return sum(1 for e in events if e["action"] == "approved" and e["step"] == step)


APPROVE = {"outcome": "approve"}
DECISION = "/projects/{code}/steps/project_approval/decision"


async def test_no_worker_answers_not_confirmed_and_the_retry_gets_the_outcome(stack: Stack) -> None:
    api = stack.api
    code = await submitted(api)
    stack.worker.kill()
    headers = {"Idempotency-Key": "while-no-worker"}

    r = await asyncio.wait_for(
        api.post(DECISION.format(code=code), "reviewer-drc", json=APPROVE, headers=headers),
        timeout=UPDATE_WAIT_SECONDS + 10,
    )
    assert r.status_code == 503, r.text
    assert r.json()["code"] == "not_confirmed" and r.headers["retry-after"] == "1"
    assert steps(await view(api, code))["project_approval"]["status"] == "in_review"

    stack.worker = worker_process(stack.settings)
    step = {"key": "project_approval", "department": "drc"}
    assert await decide_with_retry(api, code, step, "while-no-worker") == 200
    assert steps(await view(api, code))["project_approval"]["status"] == "approved"
    assert await approvals_of(api, code, "project_approval") == 1
    await assert_read_model_matches_workflow(stack, code)


async def test_api_killed_mid_request_loses_nothing(stack: Stack) -> None:
    """The API dies while a decision waits on the workflow; a new API answers the retry, once."""
    code = await submitted(stack.api)
    stack.worker.kill()  # the decision now waits inside the API
    port = free_port()
    slow = stack.settings.model_copy(update={"update_wait_seconds": 120.0})
    api = api_process(slow, port)
    base = f"http://127.0.0.1:{port}"
    token = await stack.api.token("reviewer-drc")
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "api-dies"}
    async with httpx.AsyncClient(base_url=base, timeout=60, trust_env=False) as http:
        await eventually(lambda: _healthy(http), within=30)
        in_flight = asyncio.create_task(http.post(DECISION.format(code=code), json=APPROVE, headers=headers))
        await eventually(lambda: _claimed(stack.settings, "api-dies"), within=10)
        api.kill()
        with pytest.raises(httpx.TransportError):
            await in_flight

        stack.worker = worker_process(stack.settings)
        api = api_process(stack.settings, port)
        try:
            await eventually(lambda: _healthy(http), within=30)
            # The dead API's claim is taken over once no live request can hold it; same update id.
            r = await http.post(DECISION.format(code=code), json=APPROVE, headers=headers, timeout=90)
        finally:
            api.stop()
    assert r.status_code == 200, r.text
    assert await approvals_of(stack.api, code, "project_approval") == 1
    await assert_read_model_matches_workflow(stack, code)


async def test_read_model_dying_mid_decision_loses_nothing(stack: Stack) -> None:
    """The worker loses its database while it publishes a decision; it lands once the database is back."""
    proxy, via_proxy = await database_proxy(stack.settings)
    stack.worker.stop()
    stack.worker = worker_process(stack.settings.model_copy(update={"database_url": via_proxy}))
    api = stack.api
    code = await submitted(api)
    headers = {"Idempotency-Key": "database-dies"}

    await proxy.cut()
    r = await api.post(DECISION.format(code=code), "reviewer-drc", json=APPROVE, headers=headers)
    assert r.status_code == 503 and r.json()["code"] == "not_confirmed", r.text
    assert steps(await view(api, code))["project_approval"]["status"] == "in_review"

    await proxy.start()
    step = {"key": "project_approval", "department": "drc"}
    assert await decide_with_retry(api, code, step, "database-dies") == 200
    assert steps(await view(api, code))["project_approval"]["status"] == "approved"
    assert await approvals_of(api, code, "project_approval") == 1
    await assert_read_model_matches_workflow(stack, code)
    await proxy.cut()


async def _healthy(http: httpx.AsyncClient) -> None:
    try:
        r = await http.get("/health")
    except httpx.TransportError as err:
        raise AssertionError(f"not up yet: {err!r}") from None
    assert r.status_code == 200, r.text


async def _claimed(settings: Settings, key: str) -> None:
    """The API has claimed the Idempotency-Key, so its request is past the point of no return."""
    engine = make_engine(settings.database_url)
    try:
        async with session_factory(engine)() as db:
            rows = (await db.exec(select(IdempotencyRow).where(col(IdempotencyRow.key) == key))).all()
            assert rows and rows[0].status_code is None, rows
    finally:
        await engine.dispose()


async def test_database_down_answers_503_and_the_retry_acts_once(stack: Stack) -> None:
    """With the read model unreachable the API answers problem details, never a 500; nothing is lost."""
    code = await submitted(stack.api)
    proxy, via_proxy = await database_proxy(stack.settings)
    headers = {"Idempotency-Key": "database-down"}
    async for api in open_api(create_app(stack.settings.model_copy(update={"database_url": via_proxy}))):
        await api.token("reviewer-drc")
        await proxy.cut()
        for r in (
            await api.get(f"/projects/{code}", "reviewer-drc"),
            await api.post(DECISION.format(code=code), "reviewer-drc", json=APPROVE, headers=headers),
        ):
            assert r.status_code == 503, r.text
            assert r.json()["code"] == "database_unavailable" and r.headers["retry-after"] == "5"
        documented = create_app(stack.settings).openapi()["paths"]
        assert "503" in documented["/projects/{code}"]["get"]["responses"]
        assert "503" in documented["/projects/{code}/steps/{step}/decision"]["post"]["responses"]
        health = await api.get("/health", "reviewer-drc")
        assert health.status_code == 503 and health.json()["database"] is False

        await proxy.start()
        step = {"key": "project_approval", "department": "drc"}
        assert await decide_with_retry(api, code, step, "database-down") == 200
        await proxy.cut()
    assert steps(await view(stack.api, code))["project_approval"]["status"] == "approved"
    assert await approvals_of(stack.api, code, "project_approval") == 1


async def test_database_lost_after_the_answer_closes_the_session_quietly(stack: Stack) -> None:
    """The read model dies after a request's last statement, when its answer has gone out: closing
    the request's session must not fail, or the answered request ends as an unhandled error."""
    proxy, via_proxy = await database_proxy(stack.settings)
    settings = stack.settings.model_copy(update={"database_url": via_proxy})
    engine = make_engine(via_proxy)
    services = Services(
        settings=settings,
        sessions=session_factory(engine),
        temporal=await stack.client(),
        calendar=CalendarSource(settings.workday_seconds, settings.timezone, settings.closes),
        storage=make_storage(settings),
    )
    try:
        async with asynccontextmanager(session)(services) as db:
            assert (await db.exec(select(IdempotencyRow).limit(1))).all() is not None  # a transaction is open
            await proxy.cut()
        # And the pool has let the dead connection go: the next request works once the database is back.
        await proxy.start()
        async with asynccontextmanager(session)(services) as db:
            assert (await db.exec(select(IdempotencyRow).limit(1))).all() is not None
    finally:
        await proxy.cut()
        await engine.dispose()
