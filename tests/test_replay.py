"""Workflow code stays deterministic: saved histories and this run's histories replay cleanly."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
from temporalio.client import Client, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from domain.project import REST_LIMIT_BEFORE
from settings import Settings
from tests.chain import create, started, walk
from tests.conftest import Api, eventually
from workflows.calendar import CalendarRolloutWorkflow
from workflows.documents import DocumentCleanupWorkflow
from workflows.notifications import DailyDigestWorkflow, NotificationDispatcherWorkflow
from workflows.project import ProjectWorkflow

HISTORIES = Path(__file__).with_name("histories")
WORKFLOW_TYPES = {"Project", "CalendarRollout", "DocumentCleanup", "NotificationDispatcher", "DailyDigest"}
WORKFLOWS = [
    ProjectWorkflow,
    CalendarRolloutWorkflow,
    DocumentCleanupWorkflow,
    NotificationDispatcherWorkflow,
    DailyDigestWorkflow,
]


def replayer() -> Replayer:
    return Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter)


def saved_histories() -> list[Path]:
    return sorted(HISTORIES.glob("*.json"))


def test_every_workflow_type_has_saved_histories() -> None:
    types = {
        json.loads(p.read_text())["events"][0]["workflowExecutionStartedEventAttributes"]["workflowType"]["name"]
        for p in saved_histories()
    }
    assert types == WORKFLOW_TYPES


@pytest.mark.parametrize("name,text", [(p.stem, p.read_text()) for p in saved_histories()], ids=lambda v: v[:40])
async def test_saved_history_replays(name: str, text: str) -> None:
    history = WorkflowHistory.from_json(name, text)
    result = await replayer().replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure


async def test_this_runs_histories_replay(api: Api, temporal_client: Client, settings: Settings) -> None:
    withdrawn = (await create(api))["code"]
    await api.post(f"/projects/{withdrawn}/withdraw", "owner-a", json={"reason": "replay check"})
    # Resting in new runs past 20 events, as projects did before the rest limit was an input.
    completed = await started(temporal_client, settings.task_queue, 3, "low_risk", rest_limit=REST_LIMIT_BEFORE)
    assert (await walk(api, completed))["status"] == "completed"

    async def every_run() -> list[tuple[str, str]]:
        # Each run of a project that rested between runs replays on its own.
        runs = [(e.id, e.run_id) async for e in temporal_client.list_workflows(f"WorkflowId = '{completed}'")]
        assert len(runs) > 1, runs
        return runs

    runs = await eventually(every_run, within=10)
    runs += [(e.id, e.run_id) async for e in temporal_client.list_workflows(f"WorkflowId = '{withdrawn}'")]
    runs += [(e.id, e.run_id) async for e in temporal_client.list_workflows(limit=60)]
    failures = {}
    target = os.environ.get("APPROVALS_SAVE_HISTORIES")
    for code, run in dict.fromkeys(runs):
        history = await temporal_client.get_workflow_handle(code, run_id=run).fetch_history()
        result = await replayer().replay_workflow(history, raise_on_replay_failure=False)
        if result.replay_failure is not None:
            failures[code, run] = result.replay_failure
        elif target:  # refresh saved histories from a real run: APPROVALS_SAVE_HISTORIES=tests/histories
            await asyncio.to_thread(Path(target, f"{code}-{run[:8]}.json").write_text, history.to_json())
    assert failures == {}
