"""What a chaos run recorded, and the verdict on it: the checks `make chaos` prints and fails on.

- every project completed;
- every acknowledged action exactly once in its project's timeline (GET /projects/{code}/events),
  and the read model holding one project per acknowledged creation;
- the read model equal to each project's workflow state (bench.consistency);
- no 5xx but the documented 503s;
- no workflow task stuck, none failed (Temporal's describe and each project's history);
- every part killed at least `--kills` times, and none dying on its own;
- no request failing unhandled in the API (its log), even where the client got an answer.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import func
from sqlmodel import select
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from bench.client import in_parallel
from bench.consistency import read_model_differences
from bench.patient import PatientClient, Seen
from bench.stats import percentile
from models.db import make_engine, session_factory
from models.tables import ProjectRow
from workflows.search import connect

if TYPE_CHECKING:
    from bench.chaos import Run

VIEWER = "office-1"
CLIENT_ACTIONS = frozenset({"created", "submitted", "approved", "verified"})
QUIET_SECONDS = 60.0  # how long the workflows get to finish their pending tasks after the load
CHECK_CONCURRENCY = 8
# How the API's log shows a request that failed unhandled: api/errors.py's handler, uvicorn's own.
UNHANDLED = ("unhandled_error", "Exception in ASGI application")
Action = tuple[str, str | None, str]  # (audit action, step, actor)


@dataclass
class Ledger:
    """What the clients were told had been done, project by project."""

    acked: defaultdict[str, Counter[Action]] = field(default_factory=lambda: defaultdict(Counter))
    ack_times: list[float] = field(default_factory=list)  # monotonic
    refused: list[str] = field(default_factory=list)  # writes answered with neither 2xx nor a retry
    failed: dict[int, str] = field(default_factory=dict)  # projects a client gave up on
    project_seconds: list[float] = field(default_factory=list)
    writes: int = 0
    ended: bool = False  # the load is over
    moved: asyncio.Event = field(default_factory=asyncio.Event)  # set at each acknowledgement

    def acknowledge(self, code: str, action: str, step: str | None, actor: str) -> None:
        self.acked[code][(action, step, actor)] += 1
        self.ack_times.append(time.monotonic())
        self.writes += 1
        self.moved.set()

    async def until(self, writes: int) -> None:
        """Return once `writes` writes have been acknowledged, or the load has ended (`moved` set for good)."""
        while self.writes < writes and not self.ended:
            self.moved.clear()
            await self.moved.wait()

    def end(self) -> None:
        self.ended = True
        self.moved.set()


@dataclass
class Fault:
    """One kill: which part, when (seconds into the load), how long it stayed down."""

    part: str
    at_s: float
    down_s: float
    restarted_at: float = 0.0  # monotonic
    healthy_s: float = 0.0  # from the restart until GET /health answered 200 again


@dataclass
class Check:
    name: str
    figure: str
    target: str
    met: bool


@dataclass
class Findings:
    """Per project, what the checks found wrong; counts for the table."""

    not_completed: list[str] = field(default_factory=list)
    timeline: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)
    task_failures: Counter[str] = field(default_factory=Counter)  # failed / timed out, over all histories
    once: int = 0


async def examine(run: Run, client: Client, findings: Findings) -> None:
    """Each project through the API (its view, its timeline) and against its workflow."""
    engine = make_engine(run.stack.database_url)
    api = PatientClient(run.stack.api_url, Seen(), give_up_seconds=120)
    codes = list(run.ledger.acked)
    try:

        async def one(i: int) -> None:
            code = codes[i]
            view = (await api.read(VIEWER, f"/projects/{code}")).json()
            if view.get("status") != "completed":
                findings.not_completed.append(f"{code}: {view.get('status')}")
            events = (await api.read(VIEWER, f"/projects/{code}/events")).json()
            compare_timeline(code, run.ledger.acked[code], events, findings)
            async with session_factory(engine)() as db:
                findings.differences += await read_model_differences(db, client, code)
            async for event in client.get_workflow_handle(code).fetch_history_events():
                if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
                    findings.task_failures["failed"] += 1
                elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
                    findings.task_failures["timed_out"] += 1

        await in_parallel(len(codes), CHECK_CONCURRENCY, one)
    finally:
        await api.http.aclose()
        await engine.dispose()


def compare_timeline(code: str, acked: Counter[Action], events: list[dict[str, Any]], findings: Findings) -> None:
    """Each acknowledged action must be in the timeline once, and no client action more than that."""
    written = Counter((e["action"], e["step"], e["actor"]) for e in events if e["action"] in CLIENT_ACTIONS)
    for action, times in acked.items():
        if times == 1 and written[action] == 1:
            findings.once += 1
        else:
            findings.timeline.append(f"{code} {action}: acknowledged {times}x, in the timeline {written[action]}x")
    for action in written.keys() - acked.keys():
        findings.timeline.append(f"{code} {action}: in the timeline {written[action]}x, never acknowledged")


async def stuck_tasks(client: Client) -> list[str]:
    """Running workflows that still have a workflow task pending after QUIET_SECONDS."""
    deadline = time.monotonic() + QUIET_SECONDS
    while True:
        pending = []
        async for execution in client.list_workflows("ExecutionStatus = 'Running'"):
            described = await client.get_workflow_handle(execution.id, run_id=execution.run_id).describe()
            raw = described.raw_description
            if raw.HasField("pending_workflow_task"):
                task = raw.pending_workflow_task
                pending.append(f"{execution.id}: attempt {task.attempt}, state {task.state}")
        if not pending or time.monotonic() > deadline:
            return pending
        await asyncio.sleep(1)


def unhandled_errors(log: str) -> int:
    """Requests that ended in an exception the API did not handle, over every API process of the run.

    Such a request may still have been answered (the client saw no 5xx), so only the log tells.
    """
    return sum(1 for line in log.splitlines() if any(mark in line for mark in UNHANDLED))


async def project_rows(run: Run) -> int:
    engine = make_engine(run.stack.database_url)
    try:
        async with session_factory(engine)() as db:
            return int((await db.exec(select(func.count()).select_from(ProjectRow))).one())
    finally:
        await engine.dispose()


async def judge(run: Run, args: argparse.Namespace) -> dict[str, Any]:
    """Every figure of the run and the checks on them; `all_met` is the verdict."""
    client = await connect(run.stack.temporal.address, "default")
    stuck = await stuck_tasks(client)
    findings = Findings()
    await examine(run, client, findings)
    rows = await project_rows(run)
    ledger, seen = run.ledger, run.seen
    acked = sum(sum(c.values()) for c in ledger.acked.values())
    kills = Counter(f.part for f in run.faults)
    completed = len(ledger.acked) - len(findings.not_completed)
    unhandled = unhandled_errors(run.stack.api.log_text())
    checks = [
        Check("every project completed", f"{completed}/{args.projects}", "all", completed == args.projects),
        Check(
            "acknowledged actions once in the timeline",
            f"{findings.once}/{acked}; {len(findings.timeline)} wrong; {rows} project rows",
            f"all; {len(ledger.acked)} rows",
            not findings.timeline and findings.once == acked and rows == len(ledger.acked),
        ),
        Check("writes refused (not 2xx, not retried)", str(len(ledger.refused)), "0", not ledger.refused),
        Check(
            "read model equal to the workflow's state",
            f"{len(ledger.acked) - len({d.split(':')[0] for d in findings.differences})}/{len(ledger.acked)}",
            "all",
            not findings.differences,
        ),
        Check("5xx other than the documented 503s", str(seen.other_5xx()), "0", seen.other_5xx() == 0),
        Check(
            "workflow tasks stuck / failed",
            f"{len(stuck)} / {findings.task_failures['failed']}",
            "0 / 0",
            not stuck and not findings.task_failures["failed"],
        ),
        Check(
            "kills per part",
            ", ".join(f"{part} {kills[part]}" for part in ("worker", "api", "temporal", "postgres")),
            f">= {args.kills} each",
            all(kills[part] >= args.kills for part in ("worker", "api", "temporal", "postgres")),
        ),
        Check("parts that died by themselves", str(sum(run.died.values())), "0", not run.died),
        Check("unhandled errors in the API's log", str(unhandled), "0", unhandled == 0),
    ]
    return {
        "projects": args.projects,
        "clients": args.clients,
        "kills": args.kills,
        "seed": args.seed,
        "checks": [vars(c) for c in checks],
        "all_met": all(c.met for c in checks),
        "statuses": dict(sorted(seen.statuses.items())),
        "unavailable": dict(seen.unavailable),
        "connection_errors": seen.connection_errors,
        "retries": seen.retries,
        "workflow_tasks_timed_out": findings.task_failures["timed_out"],
        "faults": [fault_figures(f, ledger.ack_times) for f in run.faults],
        "write_s": seconds(seen.write_seconds),
        "project_s": seconds(ledger.project_seconds),
        "problems": (
            findings.not_completed
            + findings.timeline
            + findings.differences
            + ledger.refused
            + stuck
            + [f"project {i}: {why}" for i, why in ledger.failed.items()]
        )[:50],
    }


def fault_figures(fault: Fault, ack_times: list[float]) -> dict[str, Any]:
    """A fault's figures, with the time from its restart to the next acknowledged write."""
    after = [t for t in ack_times if t >= fault.restarted_at]
    back = round(min(after) - fault.restarted_at, 2) if after else None
    return {
        "part": fault.part,
        "at_s": fault.at_s,
        "down_s": fault.down_s,
        "healthy_s": fault.healthy_s,
        "next_ack_s": back,
    }


def seconds(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50": round(percentile(values, 50), 3),
        "p99": round(percentile(values, 99), 3),
        "max": round(max(values, default=float("nan")), 3),
    }


def report(figures: dict[str, Any]) -> str:
    """The table `make chaos` prints."""
    lines = [
        f"faults under load: {figures['projects']} projects, {figures['clients']} clients, "
        f"{figures['kills']} kills of each part, seed {figures['seed']}",
        "",
        "| check | figure | target | met |",
        "|---|---|---|---|",
    ]
    for c in figures["checks"]:
        lines.append(f"| {c['name']} | {c['figure']} | {c['target']} | {'yes' if c['met'] else 'NO'} |")
    lines += [
        "",
        "answers by status: "
        + ", ".join(f"{s}: {n}" for s, n in figures["statuses"].items())
        + f"; 503 by code: {figures['unavailable']}; connection errors: {figures['connection_errors']}; "
        f"retries: {figures['retries']}; workflow tasks timed out (killed workers): {figures['workflow_tasks_timed_out']}",
        "",
        "| part | killed at (s into the load) | down (s) | healthy after restart (s) | next acknowledged write (s) |",
        "|---|---|---|---|---|",
    ]
    for f in figures["faults"]:
        lines.append(f"| {f['part']} | {f['at_s']} | {f['down_s']} | {f['healthy_s']} | {f['next_ack_s']} |")
    w, p, d = figures["write_s"], figures["project_s"], figures.get("durations_s", {})
    lines += [
        "",
        f"write, first try to final answer: n={w['n']} p50 {w['p50']} s, p99 {w['p99']} s, max {w['max']} s",
        f"project, creation to completed: n={p['n']} p50 {p['p50']} s, p99 {p['p99']} s, max {p['max']} s",
        f"durations: load {d.get('load')} s, checks {d.get('checks')} s, total {d.get('total')} s",
        f"logs of every process: {figures.get('logs')}",
    ]
    if figures["problems"]:
        lines += ["", "problems found:", *(f"  {p}" for p in figures["problems"])]
    lines.append(f"verdict: {'every check met' if figures['all_met'] else 'a check FAILED'}")
    return "\n".join(lines)
