"""The sandbox's imports of a workflow module compile it once per process (workflows/code_cache.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.code_cache import CachedSourceLoader, cache_workflow_code
from workflows.project import ProjectWorkflow

HISTORY = Path(__file__).with_name("histories") / "general-full-chain-timing-v2.json"


async def test_sandboxed_instances_share_one_compilation(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled: list[str] = []
    original = CachedSourceLoader.source_to_code

    def counted(self: CachedSourceLoader, data: bytes, path: str, **kwargs: object) -> object:
        compiled.append(path)
        return original(self, data, path)

    monkeypatch.setattr(CachedSourceLoader, "source_to_code", counted)
    monkeypatch.setattr(CachedSourceLoader, "compiled", {})
    cache_workflow_code([ProjectWorkflow])
    history = WorkflowHistory.from_json("chain", HISTORY.read_text())
    for _ in range(3):  # three replays: three sandboxed instances of ProjectWorkflow
        replayer = Replayer(workflows=[ProjectWorkflow], data_converter=pydantic_data_converter)
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        assert result.replay_failure is None, result.replay_failure
    assert [Path(p).name for p in compiled] == ["project.py"]
