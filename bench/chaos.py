"""Faults under load (`make chaos`): clients drive projects through the whole chain while the
worker, the API, the Temporal server and PostgreSQL are killed at random moments and started again.

Everything runs privately: a PostgreSQL cluster initdb'd for the run, a Temporal dev server on a
data file (so that it comes back with its state), a worker and the API. The clients behave as real
ones (bench.patient). Each part is killed `--kills` times at random points of the load, one fault
at a time: the worker, the API and Temporal by SIGKILL, PostgreSQL by `pg_ctl stop -m immediate`;
each is started again after a random pause. At the end bench.chaos_checks judges what is left.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.chain import movable, next_move
from bench.chaos_checks import Fault, Ledger, judge, report
from bench.client import in_parallel
from bench.patient import GaveUp, PatientClient, Seen
from bench.postgres import PrivateCluster
from bench.stack import Stack, open_stack, wait_healthy
from launch.processes import TemporalDevServer, free_port
from models.seed import ORG_A

PARTS = ("worker", "api", "temporal", "postgres")
OWNER = "owner-a"
VIEWER = "office-1"  # sees every project
MAX_ROUNDS = 100  # reads of a project's view before it counts as stuck
# The kills fall between these fractions of the load's writes, so every one lands under load.
FIRST_KILL, LAST_KILL = 0.03, 0.9


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__)
    parser.add_argument("--projects", type=int, default=200)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--kills", type=int, default=3, help="kills of each part")
    parser.add_argument("--max-down", type=float, default=5.0, help="longest pause before a part starts again, s")
    parser.add_argument("--update-wait-seconds", type=float, default=5.0, help="the API's wait for a workflow")
    parser.add_argument("--give-up", type=float, default=300.0, help="a client's patience with one request, s")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: a fresh one, printed)")
    parser.add_argument("--json", action="store_true", help="also print every figure as one JSON line")
    args = parser.parse_args(argv)
    if args.projects < 2 or args.clients < 1 or args.kills < 0:
        parser.error("needs --projects >= 2 (the first one runs alone), --clients >= 1, --kills >= 0")
    if args.seed is None:
        args.seed = random.randrange(1_000_000)
    return args


@dataclass
class Run:
    stack: Stack
    cluster: PrivateCluster
    ledger: Ledger = field(default_factory=Ledger)
    seen: Seen = field(default_factory=Seen)
    faults: list[Fault] = field(default_factory=list)
    died: Counter[str] = field(default_factory=Counter)  # parts found dead that no one killed
    load_started: float = 0.0

    def kill(self, part: str) -> None:
        if part == "worker":
            self.stack.workers[0].kill()
        elif part == "api":
            self.stack.api.kill()
        elif part == "temporal":
            self.stack.temporal.kill()
        else:
            self.cluster.crash()

    async def start(self, part: str) -> None:
        if part == "worker":
            self.stack.start_worker_again()
        elif part == "api":
            self.stack.start_api_again()
        elif part == "temporal":
            await asyncio.to_thread(self.stack.temporal.launch)
        else:
            await asyncio.to_thread(self.cluster.start)

    def dead(self) -> list[str]:
        """Parts that are not running now."""
        found = [] if self.stack.workers[0].running else ["worker"]
        found += [] if self.stack.api.running else ["api"]
        process = self.stack.temporal.process
        found += [] if process is not None and process.poll() is None else ["temporal"]
        return found + ([] if self.cluster.postmaster_pid is not None else ["postgres"])

    async def revive_the_dead(self) -> None:
        """Start again whatever died though no one killed it (counted: it fails the run)."""
        for part in self.dead():
            print(f"chaos: the {part} died by itself; starting it again", flush=True)
            self.died[part] += 1
            await self.start(part)


async def drive(run: Run, client: PatientClient, index: int) -> None:
    """Create one project and move it along the chain until it completes, as its people would."""
    started = time.monotonic()
    ledger = run.ledger
    try:
        body = {"name": f"chaos project {index}", "category": "general", "owner_credit_code": ORG_A}
        r = await client.write(OWNER, "/projects", body | {"investment_wan": 1200.0})
        if r.status_code != 201:
            ledger.failed[index] = f"creation answered {r.status_code}: {r.text[:200]}"
            return
        code = r.json()["code"]
        ledger.acknowledge(code, "created", None, OWNER)
        for _ in range(MAX_ROUNDS):
            r = await client.read(VIEWER, f"/projects/{code}")
            project = r.json()
            if r.status_code != 200 or project["status"] != "active":
                break
            for step in movable(project):
                move = next_move(step, OWNER)
                assert move is not None
                r = await client.write(move.user, move.path(code), move.body)
                if r.status_code == 200:
                    ledger.acknowledge(code, move.action, move.step, move.user)
                else:
                    ledger.refused.append(f"{code} {move.verb} {move.step}: {r.status_code} {r.text[:200]}")
    except GaveUp as err:
        ledger.failed[index] = str(err)
    ledger.project_seconds.append(time.monotonic() - started)


async def load(run: Run, indexes: range, clients: int, give_up: float) -> None:
    """`clients` concurrent clients share the projects; each drives one project at a time."""
    lanes = [PatientClient(run.stack.api_url, run.seen, give_up) for _ in range(clients)]
    order = list(indexes)
    try:
        await in_parallel(len(order), clients, lambda i: drive(run, lanes[i % clients], order[i]))
    finally:
        for lane in lanes:
            await lane.http.aclose()


def schedule(kills: int, rng: random.Random) -> list[tuple[float, str]]:
    """(fraction of the load's writes, part) for every kill, in order; the parts in random order."""
    parts = [part for part in PARTS for _ in range(kills)]
    rng.shuffle(parts)
    moments = sorted(rng.uniform(FIRST_KILL, LAST_KILL) for _ in parts)
    return list(zip(moments, parts, strict=True))


async def chaos(
    run: Run, planned: list[tuple[float, str]], writes_expected: int, rng: random.Random, max_down: float
) -> None:
    """Kill and start again each part at its moment of the load; one fault at a time."""
    first = run.ledger.writes
    for fraction, part in planned:
        await run.ledger.until(first + math.ceil(fraction * writes_expected))
        if run.ledger.ended:
            print(f"chaos: the load ended before the {part} could be killed", flush=True)
            return
        await run.revive_the_dead()
        fault = Fault(part, round(time.monotonic() - run.load_started, 1), round(rng.uniform(0.5, max_down), 1))
        print(f"chaos: {fault.at_s:7.1f} s kill {part}, down {fault.down_s} s", flush=True)
        run.kill(part)
        run.faults.append(fault)
        await asyncio.sleep(fault.down_s)
        await run.start(part)
        fault.restarted_at = time.monotonic()
        await wait_healthy(run.stack)
        fault.healthy_s = round(time.monotonic() - fault.restarted_at, 2)


async def execute(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    random.seed(args.seed)  # the clients' backoff jitter
    cluster = await asyncio.to_thread(PrivateCluster.create)
    run_dir = Path(tempfile.mkdtemp(prefix="chaos-run-"))
    temporal = TemporalDevServer(free_port(), run_dir / "temporal.db", log_file=run_dir / "temporal.log")
    await asyncio.to_thread(temporal.launch)
    began = time.monotonic()
    try:
        async with open_stack(
            workday_seconds=0,
            database=cluster.url,
            temporal=temporal,
            update_wait_seconds=args.update_wait_seconds,
            log_dir=run_dir,
        ) as stack:
            run = Run(stack, cluster)
            print(f"chaos: seed {args.seed}; logs and Temporal's data file in {run_dir}; postgres in {cluster.root}")
            # One project alone first: it warms the stack and tells how many writes a project takes.
            await load(run, range(1), 1, args.give_up)
            per_project = max(run.ledger.writes, 1)
            planned = schedule(args.kills, rng)
            print(f"chaos: {per_project} writes per project; {len(planned)} kills planned", flush=True)
            run.load_started = time.monotonic()
            saboteur = asyncio.create_task(chaos(run, planned, per_project * (args.projects - 1), rng, args.max_down))
            try:
                await load(run, range(1, args.projects), args.clients, args.give_up)
            finally:
                run.ledger.end()
                await saboteur
            load_s = time.monotonic() - run.load_started
            await run.revive_the_dead()
            await wait_healthy(stack)
            checks_started = time.monotonic()
            figures = await judge(run, args)
            figures["logs"] = str(run_dir)
            figures["durations_s"] = {
                "load": round(load_s, 1),
                "checks": round(time.monotonic() - checks_started, 1),
                "total": round(time.monotonic() - began, 1),
            }
            return figures
    finally:
        temporal.kill()
        await asyncio.to_thread(cluster.destroy)
        (run_dir / "temporal.db").unlink(missing_ok=True)  # the logs stay, for a post-mortem


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    figures = asyncio.run(execute(args))
    print(report(figures))
    if args.json:
        print(json.dumps(figures, default=str))
    if not figures["all_met"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
