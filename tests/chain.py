"""Helpers that walk projects through the chain over HTTP, as deputies and reviewers would."""

from __future__ import annotations

from typing import Any

from temporalio.client import Client

from bench.chain import movable, next_move
from bench.chain import steps as steps  # the tests take it from here, with the other helpers
from domain.access import Actor
from domain.catalog import default_catalog
from domain.codes import make_project_code
from domain.project import CreateProject, Opened, ProjectInput
from models.seed import ORG_A, ORG_B
from tests.conftest import Api
from workflows.project import ProjectWorkflow

ORGS = {"owner-a": ORG_A, "owner-b": ORG_B}


async def create(api: Api, category: str = "general", owner: str = "owner-a", **extra: Any) -> dict[str, Any]:
    """Create a project as `owner` and return its view."""
    body: dict[str, Any] = {"name": f"{category} test project", "category": category, "owner_credit_code": ORGS[owner]}
    body.update({"investment_wan": 1200.0, **extra})
    r = await api.post("/projects", owner, json=body)
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


async def started(client: Client, task_queue: str, serial: int, category: str = "general", **limits: int) -> str:
    """A project of owner-a started on Temporal as the API starts one, but with the input's `limits`
    (`history_limit`, `rest_limit`, `cold_rest_limit`, `generation`) chosen, of generation 0 (as
    inputs were before generations were counted) unless told, and visible once its `opened` update
    has answered; its code (region 310116, which the API's creations here do not use)."""
    code = make_project_code(2026, "310116", "01", "01", serial)
    create = CreateProject(
        code=code,
        name=f"{category} project started directly",
        category=next(c for c in default_catalog().categories if c.key == category),
        owner_org=ORG_A,
        agent="agent-1",
        region_code="310116",
        investment_wan=500,
        actor=Actor(username="owner-a", role="owner", organisation=ORG_A),
    )
    inp = ProjectInput(create=create, **limits)
    handle = await client.start_workflow(ProjectWorkflow.run, inp, id=code, task_queue=task_queue)
    await handle.execute_update(ProjectWorkflow.opened, Opened(requested_by="test"))
    return code


async def view(api: Api, code: str, as_user: str = "office-1") -> dict[str, Any]:
    """The project as the API shows it."""
    r = await api.get(f"/projects/{code}", as_user)
    assert r.status_code == 200, r.text
    shown: dict[str, Any] = r.json()
    return shown


async def act(api: Api, code: str, step: dict[str, Any], owner: str = "owner-a") -> None:
    """Do whatever the step waits for, the happy way."""
    move = next_move(step, owner)
    if move is None:
        return
    r = await api.post(move.path(code), move.user, json=move.body)
    assert r.status_code == 200, f"{move.step} ({step['status']}): {r.text}"


async def walk(api: Api, code: str, owner: str = "owner-a", until: str | None = None) -> dict[str, Any]:
    """Move every open step forward until the project completes (or step `until` is open)."""
    for _ in range(200):
        project = await view(api, code)
        if project["status"] != "active":
            return project
        current = steps(project)
        if until is not None and current[until]["status"] not in ("pending",):
            return project
        waiting = movable(project)
        assert waiting, f"project {code} is stuck: {[(k, s['status']) for k, s in current.items()]}"
        for step in waiting:
            await act(api, code, step, owner)
    raise AssertionError(f"project {code} did not complete")
