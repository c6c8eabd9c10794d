"""Benchmark: decision latency against a bare Temporal update, and project-creation throughput, over real HTTP."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter, defaultdict
from typing import Any

from temporalio.client import Client

from bench.client import STEP, ApiClient, create_projects, creation_body, expect, login, step_of, submit_projects
from bench.light_http import LightPool
from bench.procstat import CpuMeter, cpu_line, wait_quiet
from bench.stack import Stack, open_stack
from bench.stats import line, summary_ms, verdict
from bench.trivial import BareBaseline, bare_creation_rate
from domain.access import Actor
from domain.project import Decide
from workflows.project import ProjectWorkflow
from workflows.search import connect

RATIO_TARGET = 1.5
THROUGHPUT_TARGET = 100.0
# Creations per second through the API, as a share of the server's bare update-with-start rate.
CREATION_RATIO_TARGET = 0.8
ROUNDS = 4  # turns of creations, each followed by a turn of the bare baseline
SETUP_CONCURRENCY = 8
REVIEWER = Actor(username="reviewer-drc", role="reviewer", department="drc")


async def direct_decide(client: Client, code: str) -> float:
    """Seconds a `decide` update sent straight to the project workflow takes (no HTTP, no API)."""
    inp = Decide(step=STEP, actor=REVIEWER, outcome="approve")
    started = time.perf_counter()
    await client.get_workflow_handle(code).execute_update(ProjectWorkflow.decide, inp)
    return time.perf_counter() - started


async def decision_phase(stack: Stack, api: ApiClient, projects: int, warmup: int) -> dict[str, Any]:
    """Time, in turn, an HTTP decision, a bare update and a direct decide update; check read-your-writes."""
    total = projects + warmup
    codes = await create_projects(api, 2 * total, SETUP_CONCURRENCY)
    await submit_projects(api, codes, SETUP_CONCURRENCY)
    busy = wait_quiet()
    over_http, direct = codes[:total], codes[total:]
    client = await connect(stack.temporal.address, "default")
    series: dict[str, list[float]] = {"decision": [], "bare_update": [], "direct_decide_update": []}
    mismatches = 0
    # Decisions through the light keep-alive client (bench/light_http.py), as the bare update goes
    # through Temporal's own: httpx's CPU per request would be counted as the service's latency.
    pool = LightPool([stack.api_port], 1)
    auth = {"Authorization": f"Bearer {api.tokens[REVIEWER.username]}"}
    async with BareBaseline(client, total) as baseline:
        for i in range(total):
            path = f"/projects/{over_http[i]}/steps/{STEP}/decision"
            started = time.perf_counter()
            status, answer = await pool.post_json(path, {"outcome": "approve"}, auth)
            elapsed = time.perf_counter() - started
            if status != 200:
                raise RuntimeError(f"decision on {over_http[i]}: {status} {answer}")
            version = answer["version"]
            view = expect(await api.project("reviewer-drc", over_http[i]), 200, f"GET /projects/{over_http[i]}")
            if view["version"] < version or step_of(view)["status"] != "approved":
                mismatches += 1
            timings = (elapsed, await baseline.time_update(i), await direct_decide(client, direct[i]))
            if i >= warmup:
                for name, value in zip(series, timings, strict=True):
                    series[name].append(value)
    pool.close()
    figures: dict[str, Any] = {name: summary_ms(values) for name, values in series.items()}
    ratio = figures["decision"]["p99_ms"] / figures["bare_update"]["p99_ms"]
    return {
        **figures,
        "ratio_p99": round(ratio, 2),
        "ratio_p50": round(figures["decision"]["p50_ms"] / figures["bare_update"]["p50_ms"], 2),
        "read_your_writes_mismatches": mismatches,
        "machine_busy_before_percent": busy,
        "ratio_target_met": ratio <= RATIO_TARGET,
    }


async def creation_phase(
    stack: Stack, tokens: dict[str, str], clients: int, seconds: float, count: int | None, rounds: int = ROUNDS
) -> dict[str, Any]:
    """`clients` concurrent callers POST /projects for `seconds` in all (or until `count` are made),
    in `rounds` turns, each followed by as long a turn of bare update-with-start: the machine is
    shared, and its speed drifts by a tenth from one minute to the next, so both see the same drift."""
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    issued = 0

    async def caller(n: int) -> None:
        nonlocal issued
        creators = ("owner-a", "agent-1") if n % 2 == 0 else ("agent-1", "owner-a")
        k = 0
        while time.monotonic() < stop_at and (count is None or issued < count):
            issued += 1
            body = creation_body(f"throughput {n}-{k}")
            auth = {"Authorization": f"Bearer {tokens[creators[k % 2]]}"}
            k += 1
            started = time.perf_counter()
            status, _ = await pool.post_json("/projects", body, auth)
            if status == 201:
                latencies.append(time.perf_counter() - started)
            else:
                errors[str(status)] += 1

    idle_before = wait_quiet()
    client = await connect(stack.temporal.address, "default")
    meter = CpuMeter(stack.pids(), alone=frozenset({"bench"}))
    wall, bare_rates, cpu_ms = 0.0, list[float](), defaultdict[str, float](float)
    for _ in range(rounds):
        # A client that costs little CPU (bench/light_http.py): httpx's own cost would be a tenth of a
        # creation's. New connections each turn: the API closes those left idle during the bare one.
        pool = LightPool([stack.api_port], clients)
        meter.start()
        started = time.monotonic()
        stop_at = started + seconds / rounds
        async with asyncio.TaskGroup() as group:
            for n in range(clients):
                group.create_task(caller(n))
        turn = time.monotonic() - started
        pool.close()
        wall += turn
        for name, share in meter.stop().items():
            cpu_ms[name] += share * turn * 10  # percent of a core for `turn` seconds, in ms
        # The same callers, as long, straight to Temporal: a trivial workflow.
        bare_rates.append(await bare_creation_rate(client, clients, seconds / rounds))
    stack.check_alive()
    rate = len(latencies) / wall
    bare = sum(bare_rates) / rounds
    cpu = {name: round(used / wall / 10, 1) for name, used in cpu_ms.items()}
    per_project = {name: round(used / max(len(latencies), 1), 1) for name, used in cpu_ms.items()}
    return {
        "clients": clients,
        "rounds": rounds,
        "seconds": round(wall, 2),
        "created": len(latencies),
        "errors": dict(errors),
        "projects_per_s": round(rate, 1),
        "bare_update_with_start_per_s": round(bare, 1),
        "ratio_to_bare": round(rate / bare, 2) if bare else 0.0,
        "ratio_target_met": bare > 0 and rate / bare >= CREATION_RATIO_TARGET,
        "latency": summary_ms(latencies),
        "machine_busy_before_percent": idle_before,
        "cpu_percent_of_one_core": cpu,
        "cpu_ms_per_project": per_project,
        "throughput_target_met": rate >= THROUGHPUT_TARGET,
    }


async def run(
    projects: int = 60,
    seconds: float = 20.0,
    clients: int = 8,
    warmup: int = 5,
    count: int | None = None,
    workday_seconds: float = 0.0,
) -> dict[str, Any]:
    """Start a stack, measure, print the figures and return them."""
    async with open_stack(workday_seconds) as stack:
        tokens = await login(stack.api_url)
        async with ApiClient(stack.api_url, tokens) as api:
            latency = await decision_phase(stack, api, projects, warmup)
        print_latency(latency)
        creation = await creation_phase(stack, tokens, clients, seconds, count)
        print_creation(creation)
        return {"benchmark": "decision_latency", "read_model": stack.backend, **latency, "creation": creation}


def print_latency(figures: dict[str, Any]) -> None:
    """The decision half of the report."""
    print(line("decision (POST .../decision, HTTP)", figures["decision"]))
    print(line("bare update (execute_update)     ", figures["bare_update"]))
    print(line("direct decide update (no HTTP)   ", figures["direct_decide_update"]))
    verdict = "met" if figures["ratio_target_met"] else "NOT met"
    print(
        f"ratio decision_p99 / bare_p99 = {figures['ratio_p99']} (target <= {RATIO_TARGET}: {verdict}); p50 ratio {figures['ratio_p50']}"
    )
    print(f"read-your-writes mismatches: {figures['read_your_writes_mismatches']}")
    print(f"machine busy just before timing: {figures['machine_busy_before_percent']}% of one core")


def print_creation(figures: dict[str, Any]) -> None:
    """The creation half of the report."""
    verdict = "met" if figures["throughput_target_met"] else "NOT met"
    print(
        f"creation: {figures['created']} projects in {figures['seconds']} s with {figures['clients']} clients = "
        f"{figures['projects_per_s']} projects/s (target >= {THROUGHPUT_TARGET}: {verdict}); errors {figures['errors']}"
    )
    ratio_verdict = "met" if figures["ratio_target_met"] else "NOT met"
    print(
        f"bare update-with-start of a trivial workflow, same clients, turns in between: {figures['bare_update_with_start_per_s']}/s; "
        f"ratio {figures['ratio_to_bare']} (target >= {CREATION_RATIO_TARGET}: {ratio_verdict})"
    )
    print(line("creation latency", figures["latency"]))
    print(f"machine busy just before the run: {figures['machine_busy_before_percent']}% of one core")
    print(cpu_line(figures["cpu_percent_of_one_core"]))
    print("cpu ms per created project: " + " ".join(f"{k}={v}" for k, v in figures["cpu_ms_per_project"].items()))


def summary(figures: dict[str, Any]) -> list[str]:
    """One line per target, for `make bench`."""
    creation = figures["creation"]
    return [
        f"decision p99 {figures['decision']['p99_ms']} ms / bare update p99 {figures['bare_update']['p99_ms']} ms"
        f" = {figures['ratio_p99']} (target <= {RATIO_TARGET}): {verdict(figures['ratio_target_met'])}",
        f"read-your-writes mismatches: {figures['read_your_writes_mismatches']} (must be 0): "
        f"{verdict(figures['read_your_writes_mismatches'] == 0)}",
        f"creation {creation['projects_per_s']} projects/s (target >= {THROUGHPUT_TARGET}): "
        f"{verdict(creation['throughput_target_met'])}",
        f"creation / bare update-with-start {creation['projects_per_s']} / "
        f"{creation['bare_update_with_start_per_s']} = {creation['ratio_to_bare']} "
        f"(target >= {CREATION_RATIO_TARGET}): {verdict(creation['ratio_target_met'])}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--projects", type=int, default=60, help="decisions to time (after warm-up)")
    parser.add_argument("--warmup", type=int, default=5, help="decisions made first and not counted")
    parser.add_argument("--seconds", type=float, default=20.0, help="duration of the creation run")
    parser.add_argument(
        "--count",
        type=int,
        default=None,
        help="stop the creation run after this many (or --seconds, whichever comes first)",
    )
    parser.add_argument("--clients", type=int, default=8, help="concurrent creating clients")
    parser.add_argument("--workday-seconds", type=float, default=0.0, help="0: the real calendar, as in production")
    parser.add_argument("--json", action="store_true", help="also print the figures as one JSON line")
    args = parser.parse_args()
    figures = asyncio.run(run(args.projects, args.seconds, args.clients, args.warmup, args.count, args.workday_seconds))
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
