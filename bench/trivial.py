"""The bare baselines: a trivial workflow whose one update increments a counter, run by an in-process
worker; timed as one update on a running workflow, and as update-with-start (a creation's shape)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from datetime import timedelta
from types import TracebackType

from pydantic import BaseModel
from temporalio import workflow
from temporalio.client import Client, WithStartWorkflowOperation, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.worker import Worker

# Workflows of the baseline end by themselves after this long even if nobody signals them.
LIFETIME = timedelta(hours=1)


class CounterInput(BaseModel):
    """Start value of the counter."""

    start: int = 0


class Increment(BaseModel):
    """Input of the `increment` update."""

    by: int = 1


class Finish(BaseModel):
    """Input of the `finish` signal."""

    reason: str = "benchmark over"


@workflow.defn(name="BenchCounter")
class CounterWorkflow:
    """Holds a counter; `increment` adds to it and returns it; no activity, no timer."""

    @workflow.init
    def __init__(self, inp: CounterInput) -> None:
        self.count = inp.start
        self.finished = False

    @workflow.run
    async def run(self, inp: CounterInput) -> int:
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(lambda: self.finished, timeout=LIFETIME)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.count

    @workflow.update
    async def increment(self, inp: Increment) -> int:
        self.count += inp.by
        return self.count

    @increment.validator
    def _check_increment(self, inp: Increment) -> None:
        if inp.by < 1:
            raise ValueError("increment by at least 1")

    @workflow.signal
    def finish(self, inp: Finish) -> None:
        self.finished = True


class BareBaseline:
    """An in-process worker on its own task queue and `count` started counter workflows, one update each."""

    def __init__(self, client: Client, count: int) -> None:
        self.client = client
        self.count = count
        self.task_queue = f"bench-bare-{uuid.uuid4().hex[:8]}"
        self.worker = Worker(client, task_queue=self.task_queue, workflows=[CounterWorkflow])
        self.handles: list[WorkflowHandle[CounterWorkflow, int]] = []

    async def __aenter__(self) -> BareBaseline:
        await self.worker.__aenter__()
        prefix = f"bench-counter-{uuid.uuid4().hex[:6]}"
        for i in range(self.count):
            handle = await self.client.start_workflow(
                CounterWorkflow.run, CounterInput(), id=f"{prefix}-{i}", task_queue=self.task_queue
            )
            self.handles.append(handle)
        return self

    async def time_update(self, i: int) -> float:
        """Seconds one `increment` update on workflow i takes, from call to result."""
        started = time.perf_counter()
        value = await self.handles[i].execute_update(CounterWorkflow.increment, Increment())
        elapsed = time.perf_counter() - started
        if value < 1:
            raise RuntimeError(f"counter update returned {value}")
        return elapsed

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for handle in self.handles:
            await handle.signal(CounterWorkflow.finish, Finish())
        await self.worker.__aexit__(kind, exc, tb)


async def bare_creation_rate(client: Client, clients: int, seconds: float) -> float:
    """Counter workflows started per second by update-with-start, `clients` callers for `seconds`:
    what the Temporal server alone does for the shape of a creation (start plus one update)."""
    task_queue = f"bench-bare-start-{uuid.uuid4().hex[:8]}"
    prefix = f"bench-start-{uuid.uuid4().hex[:6]}"
    started: list[str] = []

    async def caller(n: int) -> None:
        k = 0
        while time.monotonic() < stop_at:
            workflow_id = f"{prefix}-{n}-{k}"
            k += 1
            start = WithStartWorkflowOperation(
                CounterWorkflow.run,
                CounterInput(),
                id=workflow_id,
                task_queue=task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            )
            await client.execute_update_with_start_workflow(
                CounterWorkflow.increment, Increment(), start_workflow_operation=start
            )
            started.append(workflow_id)

    async with Worker(client, task_queue=task_queue, workflows=[CounterWorkflow]):
        begun = time.monotonic()
        stop_at = begun + seconds
        async with asyncio.TaskGroup() as group:
            for n in range(clients):
                group.create_task(caller(n))
        rate = len(started) / (time.monotonic() - begun)
        for workflow_id in started:
            await client.get_workflow_handle(workflow_id).signal(CounterWorkflow.finish, Finish())
    return rate
