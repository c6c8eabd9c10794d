"""Nothing accepted is lost: a worker killed with SIGKILL mid-chain, and a restarted Temporal server."""

from __future__ import annotations

import asyncio
import os
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select
from temporalio.client import Client

from api.main import create_app
from models.db import make_engine, session_factory
from models.seed import seed
from models.tables import EventRow, ProjectRow, StepRow
from settings import Settings
from tests.chain import create, steps, view, walk
from tests.conftest import ROOT, Api, eventually, make_settings, migrate, open_api
from tests.support.services import ChildProcess, TemporalDevServer, create_database, drop_database
from worker import connect
from workflows.project import ProjectWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")


def worker_process(settings: Settings) -> ChildProcess:
    """A real worker process, as `make run` starts it."""
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "APPROVALS_TEMPORAL_ADDRESS": settings.temporal_address,
        "APPROVALS_TASK_QUEUE": settings.task_queue,
        "APPROVALS_WORKDAY_SECONDS": str(settings.workday_seconds),
        "APPROVALS_ENVIRONMENT": "test",
    }
    return ChildProcess.start([sys.executable, os.path.join(ROOT, "worker.py")], env=env)


class Stack:
    """A Temporal server on a data file, a read model, worker processes and the API."""

    def __init__(self, server: TemporalDevServer, settings: Settings, api: Api) -> None:
        self.server = server
        self.settings = settings
        self.api = api
        self.worker = worker_process(settings)

    async def client(self) -> Client:
        return await connect(self.settings)


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    server = TemporalDevServer.start(db_file=tmp_path / "temporal.db")
    url = create_database(os.environ.get("APPROVALS_TEST_DATABASE_URL"))
    migrate(url)
    settings = make_settings(url, server.address)
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
    state = await client.get_workflow_handle(code).query(ProjectWorkflow.state)
    engine = make_engine(stack.settings.database_url)
    try:
        async with session_factory(engine)() as db:
            row = await db.get(ProjectRow, code)
            assert row is not None and row.version == state.version
            assert row.state == state.model_dump(mode="json", exclude={"pending_events"})
            step_rows = (await db.exec(select(StepRow).where(col(StepRow.code) == code))).all()
            assert {s.key: s.status for s in step_rows} == {s.key: s.status for s in state.steps}
            seqs = (await db.exec(select(EventRow.seq).where(col(EventRow.code) == code))).all()
            assert sorted(seqs) == list(range(1, state.event_seq + 1))
    finally:
        await engine.dispose()


async def test_worker_killed_mid_chain_loses_nothing(stack: Stack) -> None:
    api = stack.api
    code = (await create(api))["code"]
    project = await walk(api, code, until="survey")
    await api.post(f"/projects/{code}/steps/survey/submit", "owner-a", json={})
    await api.post(f"/projects/{code}/steps/survey/decision", "reviewer-survey", json={"outcome": "approve"})
    inspections = [s for s in steps(await view(api, code)).values() if s["status"] == "in_review"]
    assert len(inspections) == 5

    # Five decisions in flight at once; the worker dies under them.
    in_flight = [asyncio.create_task(decide_with_retry(api, code, s, f"kill-{s['key']}")) for s in inspections]
    await asyncio.sleep(0.01)
    assert not all(t.done() for t in in_flight)  # the kill really lands under decisions in flight
    stack.worker.kill()
    await asyncio.sleep(1.0)
    stack.worker = worker_process(stack.settings)
    statuses = await asyncio.wait_for(asyncio.gather(*in_flight), timeout=120)
    assert all(s == 200 for s in statuses), statuses

    project = await walk(api, code)
    assert project["status"] == "completed"
    events = (await api.get(f"/projects/{code}/events", "owner-a")).json()
    approvals = Counter(e["step"] for e in events if e["action"] == "approved")
    assert all(approvals[s["key"]] == 1 for s in inspections), approvals
    await assert_read_model_matches_workflow(stack, code)


async def test_temporal_restart_on_its_data_file_loses_nothing(stack: Stack) -> None:
    api = stack.api
    code = (await create(api))["code"]
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
