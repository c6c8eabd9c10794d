"""Benchmark: the worker's CPU for one wake-up, with the project in its cache and without it, and the replay.

A wake-up is a workflow task that time or a signal causes: here the `calendar_changed` signal,
which times the project's clocks again and publishes it, as a timer's tick does. The worker's
process CPU over a batch of wake-ups, divided by their number, is the cost of one. A project not
in the cache is replayed from its history first; that replay is measured on its own, in this
process, for a short history and a full-chain one, in the sandbox the worker uses and without it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select
from sqlmodel import col
from temporalio.client import Client, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from bench.client import ApiClient, create_projects, login, submit_projects
from bench.procstat import tree_cpu_seconds, wait_quiet
from bench.stack import Stack, open_stack
from domain.project import CalendarChanged
from launch.processes import start_worker
from models.db import sync_url
from models.tables import ProjectRow
from workflows.project import ProjectWorkflow
from workflows.search import connect

# A full-chain project's history as the tests saved it (every step of `general` through completion).
FULL_CHAIN = Path(__file__).resolve().parent.parent / "tests" / "histories" / "general-full-chain-timing-v2.json"
SETTLE_SECONDS = 3.0  # a freshly started worker's CPU must be idle this long before measuring
IDLE_CPU_SECONDS = 0.05  # what its polls use in SETTLE_SECONDS, at most
SETTLE_ROUNDS = 20  # then measure all the same


def versions(database_url: str, codes: list[str]) -> dict[str, int]:
    """The read model's version of each project: it grows with every publish."""
    engine = create_engine(sync_url(database_url))
    try:
        with engine.connect() as conn:
            stmt = select(col(ProjectRow.code), col(ProjectRow.version)).where(col(ProjectRow.code).in_(codes))
            return {code: int(version) for code, version in conn.execute(stmt)}
    finally:
        engine.dispose()


async def wake_all(stack: Stack, client: Client, codes: list[str], worker_pid: int) -> float:
    """Signal every project once and wait until each has published; the worker's CPU ms per wake-up."""
    before = versions(stack.database_url, codes)
    cpu = tree_cpu_seconds(worker_pid)
    signal = CalendarChanged(year=2026, changed_by="bench")
    await asyncio.gather(*(client.get_workflow_handle(c).signal("calendar_changed", signal) for c in codes))
    deadline = time.monotonic() + 60 + len(codes)
    while any(v <= before[c] for c, v in versions(stack.database_url, codes).items()):
        if time.monotonic() > deadline:
            raise RuntimeError("the wake-ups did not all publish in time")
        await asyncio.sleep(0.2)
    return 1000 * (tree_cpu_seconds(worker_pid) - cpu) / len(codes)


async def fresh_worker(stack: Stack, sandboxed: bool = True) -> int:
    """Replace the worker with a new process (an empty cache); its pid once its start-up CPU has settled."""
    stack.workers[0].stop()
    stack.workers[0] = start_worker(stack.env | {"APPROVALS_WORKFLOW_SANDBOX": str(sandboxed).lower()})
    pid = stack.workers[0].pid
    # Settled: its polls alone, a few milliseconds a second (not none: on a slow machine an idle
    # worker's clock ticks every few seconds, and waiting for no tick at all never ended).
    last = tree_cpu_seconds(pid)
    for _ in range(SETTLE_ROUNDS):
        await asyncio.sleep(SETTLE_SECONDS)
        now = tree_cpu_seconds(pid)
        if now - last < IDLE_CPU_SECONDS:
            break
        last = now
    return pid


async def copies(history: WorkflowHistory, runs: int) -> AsyncIterator[WorkflowHistory]:
    for _ in range(runs):
        yield history


async def replay_ms(history: WorkflowHistory, runs: int, sandboxed: bool) -> float:
    """CPU ms of replaying `history` once, in this process, sandboxed as the worker does or not."""
    runner = SandboxedWorkflowRunner() if sandboxed else UnsandboxedWorkflowRunner()
    replayer = Replayer(workflows=[ProjectWorkflow], data_converter=pydantic_data_converter, workflow_runner=runner)
    await replayer.replay_workflow(history)  # warm-up: imports and the sandbox's first module load
    cpu = time.process_time()
    await replayer.replay_workflows(copies(history, runs))  # one replaying worker for all: its start-up not counted
    return 1000 * (time.process_time() - cpu) / runs


async def measure(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    tokens = await login(stack.api_url)
    busy = wait_quiet()
    async with ApiClient(stack.api_url, tokens, connections=8) as api:
        codes = await create_projects(api, args.projects, 8)
        await submit_projects(api, codes, 8)
    client = await connect(stack.temporal.address, "default")
    cached_ms = await wake_all(stack, client, codes, stack.workers[0].pid)
    evicted_ms = await wake_all(stack, client, codes, await fresh_worker(stack))
    evicted_unsandboxed_ms = await wake_all(stack, client, codes, pid := await fresh_worker(stack, sandboxed=False))
    cached_unsandboxed_ms = await wake_all(stack, client, codes, pid)
    short = await client.get_workflow_handle(codes[0]).fetch_history()
    full = WorkflowHistory.from_json("full-chain", FULL_CHAIN.read_text())
    replay = {
        f"{name}_{mode}_ms": round(await replay_ms(history, args.replays, mode == "sandboxed"), 2)
        for name, history in (("short", short), ("full_chain", full))
        for mode in ("sandboxed", "unsandboxed")
    }
    return {
        "benchmark": "wakeup",
        "projects": len(codes),
        "short_history_events": len(short.events),
        "full_chain_history_events": len(full.events),
        "cached_wakeup_cpu_ms": round(cached_ms, 2),
        "evicted_wakeup_cpu_ms": round(evicted_ms, 2),
        "evicted_full_chain_wakeup_cpu_ms": round(cached_ms + replay["full_chain_sandboxed_ms"], 2),
        "unsandboxed_cached_wakeup_cpu_ms": round(cached_unsandboxed_ms, 2),
        "unsandboxed_evicted_wakeup_cpu_ms": round(evicted_unsandboxed_ms, 2),
        "unsandboxed_evicted_full_chain_wakeup_cpu_ms": round(
            cached_unsandboxed_ms + replay["full_chain_unsandboxed_ms"], 2
        ),
        "replay_cpu_ms": replay,
        "machine_busy_before_percent": busy,
    }


async def run(args: argparse.Namespace | None = None) -> dict[str, Any]:
    args = args or parse([])
    async with open_stack(0, 1, max(args.projects, 100), tuning={"workflow_sandbox": True}) as stack:
        figures = await measure(stack, args)
    report(figures)
    return figures


def report(f: dict[str, Any]) -> None:
    r = f["replay_cpu_ms"]
    print(f"worker CPU per wake-up over {f['projects']} projects ({f['short_history_events']} history events each):")
    print(f"  in the cache:            {f['cached_wakeup_cpu_ms']:.1f} ms")
    print(
        f"  not in it (new worker):  {f['evicted_wakeup_cpu_ms']:.1f} ms, of which the replay {r['short_sandboxed_ms']:.1f} ms"
    )
    print(
        f"  full chain ({f['full_chain_history_events']} events), not in the cache: "
        f"{f['evicted_full_chain_wakeup_cpu_ms']:.1f} ms (cached wake-up + its replay)"
    )
    print(
        f"  unsandboxed worker (APPROVALS_WORKFLOW_SANDBOX=false): cached {f['unsandboxed_cached_wakeup_cpu_ms']:.1f} ms, "
        f"not cached {f['unsandboxed_evicted_wakeup_cpu_ms']:.1f} ms, full chain not cached "
        f"{f['unsandboxed_evicted_full_chain_wakeup_cpu_ms']:.1f} ms"
    )
    print(
        f"replay CPU per history: short {r['short_sandboxed_ms']:.1f} ms sandboxed / {r['short_unsandboxed_ms']:.1f} ms "
        f"unsandboxed; full chain {r['full_chain_sandboxed_ms']:.1f} / {r['full_chain_unsandboxed_ms']:.1f} ms"
    )
    print("(no target of its own: these are the inputs of the capacity model, docs/architecture.md)")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--projects", type=int, default=200, help="projects woken, in the cache and then not")
    parser.add_argument("--replays", type=int, default=20, help="replays of each history, for the replay cost")
    parser.add_argument("--json", action="store_true", help="also print the figures as one JSON line")
    return parser.parse_args(argv)


def summary(figures: dict[str, Any]) -> list[str]:
    """The figures the capacity model takes (no target), for `make bench`."""
    return [
        f"wake-up CPU: cached {figures['cached_wakeup_cpu_ms']} ms, evicted {figures['evicted_wakeup_cpu_ms']} ms, "
        f"full chain evicted {figures['evicted_full_chain_wakeup_cpu_ms']} ms (no target: capacity model input)"
    ]


def main() -> None:
    args = parse()
    figures = asyncio.run(run(args))
    if args.json:
        print(json.dumps(figures, default=str))


if __name__ == "__main__":
    main()
