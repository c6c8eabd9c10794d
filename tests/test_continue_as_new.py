"""A long-lived project continues as new, carrying its whole state, without losing a step."""

from __future__ import annotations

import pytest
from sqlmodel import col, delete
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from bench.chain import movable, next_move
from domain.access import Actor
from domain.catalog import default_catalog
from domain.codes import make_project_code
from domain.project import CreateProject, Opened, Project, ProjectInput
from models.db import make_engine, session_factory
from models.seed import ORG_A
from models.tables import IdempotencyRow
from settings import Settings
from tests.chain import create, steps, view, walk
from tests.conftest import Api, eventually
from workflows.project import REST_HISTORY_LIMIT, ProjectWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")
HISTORY_LIMIT_HERE = 12


async def test_project_survives_continue_as_new(api: Api, temporal_client: Client, settings: Settings) -> None:
    # A history limit under the rest limit: each run ends at the hard limit, whether at rest or not.
    assert HISTORY_LIMIT_HERE < REST_HISTORY_LIMIT
    code = make_project_code(2026, "310116", "01", "01", 1)
    create = CreateProject(
        code=code,
        name="long-lived project",
        category=next(c for c in default_catalog().categories if c.key == "general"),
        owner_org=ORG_A,
        agent="agent-1",
        region_code="310116",
        investment_wan=500,
        actor=Actor(username="owner-a", role="owner", organisation=ORG_A),
    )
    handle = await temporal_client.start_workflow(
        ProjectWorkflow.run,
        ProjectInput(create=create, history_limit=HISTORY_LIMIT_HERE),
        id=code,
        task_queue=settings.task_queue,
    )
    await handle.execute_update(ProjectWorkflow.opened, Opened(requested_by="test"))
    first_run = handle.result_run_id

    done = await walk(api, code)

    assert done["status"] == "completed"
    assert all(s["status"] in ("approved", "verified") for s in steps(done).values())
    history = await temporal_client.get_workflow_handle(code, run_id=first_run).fetch_history()
    assert history.events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    assert len(history.events) <= REST_HISTORY_LIMIT  # ended by the hard limit, not at rest

    async def published() -> Project:
        # The last publish may still be on its way when the walk reads the completed view.
        state = await temporal_client.get_workflow_handle(code).query(ProjectWorkflow.state)
        assert state.status == "completed" and state.version == (await view(api, code))["version"]
        return state

    state = await eventually(published, within=10)
    events = (await api.get(f"/projects/{code}/events", "owner-a")).json()
    assert [e["seq"] for e in events] == list(range(1, state.event_seq + 1))


async def test_project_at_rest_continues_as_new_and_a_retry_acts_once(
    api: Api, temporal_client: Client, settings: Settings
) -> None:
    """Going to sleep with a history past the rest limit starts a new run; an update answered in the
    old run, retried in the new one (its answer lost before the API recorded it), acts once."""
    code = (await create(api))["code"]
    handle = temporal_client.get_workflow_handle(code)
    first_run = (await handle.describe()).run_id
    submit = next_move(movable(await view(api, code))[0])
    assert submit is not None
    r = await api.post(submit.path(code), submit.user, json=submit.body)
    assert r.status_code == 200, r.text
    decide = next_move(steps(await view(api, code))[submit.step])
    assert decide is not None and decide.verb == "decision"
    key = {"Idempotency-Key": "decided-before-the-rest"}
    first = await api.post(decide.path(code), decide.user, json=decide.body, headers=key)
    assert first.status_code == 200, first.text
    then = next_move(movable(await view(api, code))[0])  # the next step's submission: past the limit
    assert then is not None and then.step != decide.step
    r = await api.post(then.path(code), then.user, json=then.body)
    assert r.status_code == 200, r.text
    acknowledged = r.json()["version"]

    async def continued() -> str:
        run = (await handle.describe()).run_id
        assert run != first_run
        return run

    await eventually(continued, within=10)
    old = await temporal_client.get_workflow_handle(code, run_id=first_run).fetch_history()
    assert len(old.events) > REST_HISTORY_LIMIT
    assert old.events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW

    # The API lost its record of the answer (it died before writing it): the retry reaches the new run.
    engine = make_engine(settings.database_url)
    try:
        async with session_factory(engine)() as db:
            await db.exec(delete(IdempotencyRow).where(col(IdempotencyRow.key) == key["Idempotency-Key"]))
            await db.commit()
    finally:
        await engine.dispose()
    retried = await api.post(decide.path(code), decide.user, json=decide.body, headers=key)
    assert retried.status_code == 200, retried.text
    assert retried.json() == first.json()
    events = (await api.get(f"/projects/{code}/events", "owner-a")).json()
    assert [e["action"] for e in events if e["step"] == decide.step].count(decide.action) == 1
    # The new run carried the published state: it wrote nothing as it started, nor for the retry.
    assert (await view(api, code))["version"] == acknowledged
    assert (await handle.query(ProjectWorkflow.state)).version == acknowledged
