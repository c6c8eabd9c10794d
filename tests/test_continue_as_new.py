"""A long-lived project continues as new, carrying its whole state, without losing a step."""

from __future__ import annotations

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from domain.access import Actor
from domain.catalog import default_catalog
from domain.codes import make_project_code
from domain.project import CreateProject, Opened, Project, ProjectInput
from models.seed import ORG_A
from settings import Settings
from tests.chain import steps, view, walk
from tests.conftest import Api, eventually
from workflows.project import ProjectWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_project_survives_continue_as_new(api: Api, temporal_client: Client, settings: Settings) -> None:
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
        ProjectWorkflow.run, ProjectInput(create=create, history_limit=60), id=code, task_queue=settings.task_queue
    )
    await handle.execute_update(ProjectWorkflow.opened, Opened(requested_by="test"))
    first_run = handle.result_run_id

    done = await walk(api, code)

    assert done["status"] == "completed"
    assert all(s["status"] in ("approved", "verified") for s in steps(done).values())
    history = await temporal_client.get_workflow_handle(code, run_id=first_run).fetch_history()
    assert history.events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW

    async def published() -> Project:
        # The new run publishes once as it starts: the state may be a version ahead for a moment.
        state = await temporal_client.get_workflow_handle(code).query(ProjectWorkflow.state)
        assert state.status == "completed" and state.version == (await view(api, code))["version"]
        return state

    state = await eventually(published, within=10)
    events = (await api.get(f"/projects/{code}/events", "owner-a")).json()
    assert [e["seq"] for e in events] == list(range(1, state.event_seq + 1))
