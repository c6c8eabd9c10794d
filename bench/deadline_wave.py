"""Benchmark: a deadline wave. Thousands of live projects fall due at the same instant on one worker.

With whole-day deadlines every step due on a day turns red at that day's close. The benchmark
reproduces that on the compressed clock counted in whole days (APPROVALS_WORKDAY_WHOLE_DAYS): it
creates the projects, waits for a compressed day to begin, submits one step on each within that
day, so all fall due at the same close, and measures how long after it each overdue problem is
visible in the read model, with the worker's memory and CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import time
from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import create_engine, select
from sqlmodel import col

from bench.client import ApiClient, create_projects, in_parallel, login
from bench.escalation_delay import (
    BenchmarkFailed,
    Progress,
    fmt,
    seconds_figures,
    submit_once,
    wait_all_seen,
    workers_memory_mib,
)
from bench.poller import ProblemPoller
from bench.procstat import CpuMeter, cpu_line, tree_cpu_seconds, wait_quiet
from bench.readmodel import count_events, read_deadlines, worker_warnings, workflow_sizes
from bench.stack import Stack, open_stack
from bench.stats import verdict
from models.db import sync_url
from models.tables import EventRow

ALL_WITHIN_TARGET_S = 60.0
RSS_TARGET_MIB = 500.0
# low_risk's combined_permit opens at creation, has a limit of 2 working days and raises a problem
# when overdue (domain/catalog.json): the wave comes at the second close after the submission day.
CATEGORY = "low_risk"
STEP = "combined_permit"
LIMIT_DAYS = 2
SLOWEST_SUBMISSIONS_PER_S = 12.0  # what the compressed day must leave room for (16/s seen in a slow phase)


def auto_workday(projects: int) -> float:
    """A compressed day long enough to submit every project within it, in whole 10 s."""
    return max(10.0, math.ceil(projects / SLOWEST_SUBMISSIONS_PER_S / 10) * 10)


async def wait_for_day_start(day: float, needed: float) -> float:
    """Start now if the current compressed day has `needed` seconds left, else at the next one; when it started."""
    now = time.time()
    start = now - now % day
    if start + day - now < needed:
        start += day
        await asyncio.sleep(start - now + 0.05)
    return start


async def submit_all(api: ApiClient, progress: Progress, concurrency: int) -> float:
    """Submit the step on every project as fast as the clients go; the seconds taken."""
    began = time.monotonic()

    async def one(i: int) -> None:
        await submit_once(api, progress.codes[i], progress, STEP)

    await in_parallel(len(progress.codes), concurrency, one)
    return time.monotonic() - began


def yellow_lateness(database_url: str, deadlines: dict[str, datetime], day: float) -> list[float]:
    """How late each step turned yellow: its warning is the close before the deadline (warn_days(2) = 1)."""
    engine = create_engine(sync_url(database_url))
    late: list[float] = []
    try:
        with engine.connect() as conn:
            stmt = select(col(EventRow.code), col(EventRow.at), col(EventRow.detail)).where(
                col(EventRow.action) == "step_colour_changed", col(EventRow.step) == STEP
            )
            for code, at, detail in conn.execute(stmt):
                if code in deadlines and (detail or {}).get("to") == "yellow":
                    late.append(at.timestamp() - (deadlines[code].timestamp() - day))
    finally:
        engine.dispose()
    return late


async def measure(stack: Stack, args: argparse.Namespace, progress: Progress, budget_end: float) -> dict[str, Any]:
    """Create, submit within one compressed day, wait for the wave to drain, then compute the figures."""
    day = stack.workday_seconds
    tokens = await login(stack.api_url)
    busy = wait_quiet()
    worker_pid = next(iter(stack.worker_pids().values()))
    async with ApiClient(stack.api_url, tokens, connections=args.concurrency) as api:
        progress.phase = "creation"
        began = time.monotonic()
        progress.codes = await create_projects(api, args.projects, args.concurrency, category=CATEGORY)
        creation_s = time.monotonic() - began
        print(f"created {args.projects} in {creation_s:.1f} s ({args.projects / creation_s:.1f}/s)", flush=True)
        progress.phase = "submission"
        day_start = await wait_for_day_start(day, needed=1.5 * creation_s)
        submit_s = await submit_all(api, progress, args.concurrency)
        print(f"submitted all in {submit_s:.1f} s, {progress.retried} retried", flush=True)
    deadlines = read_deadlines(stack.database_url, STEP)
    waves = Counter(deadlines.values())
    wave_at = min(waves).timestamp()
    print(
        f"deadlines: {len(waves)} distinct instant(s), the first {wave_at - time.time():.0f} s from now "
        f"(day began {time.time() - day_start:.0f} s ago); largest wave {max(waves.values())} projects",
        flush=True,
    )
    progress.phase = "waiting for the deadline"
    poller = progress.poller = ProblemPoller(stack.database_url, [worker_pid], budget_end)
    poller.start()
    try:
        await asyncio.sleep(max(0.0, wave_at - 1.0 - time.time()))
        meter = CpuMeter(stack.pids(), alone=frozenset({"bench"}))
        meter.start()
        metered_from = time.monotonic()
        worker_cpu = tree_cpu_seconds(worker_pid)
        progress.phase = "draining the wave"
        await wait_all_seen(stack, poller, len(progress.codes))
        worker_cpu = tree_cpu_seconds(worker_pid) - worker_cpu
        wave_cpu = meter.stop()
        metered_s = time.monotonic() - metered_from
    finally:
        poller.stop()
    progress.phase = "figures"
    memory = workers_memory_mib(stack)
    delays = [poller.seen[c] - deadlines[c].timestamp() for c in progress.codes]
    lateness = [poller.opened[c].timestamp() - deadlines[c].timestamp() for c in progress.codes]
    drained_s = max(poller.seen.values()) - wave_at
    peak_mib = max(peak for _, peak in memory.values())
    return {
        "benchmark": "deadline_wave",
        "read_model": stack.backend,
        "projects": len(progress.codes),
        "max_cached_workflows": args.max_cached_workflows,
        "worker_tuning": tuning(args),
        "workday_seconds": day,
        "creation_per_s": round(len(progress.codes) / creation_s, 1),
        "submission_s": round(submit_s, 1),
        "submission_retries": progress.retried,
        "deadline_instants": len(waves),
        "largest_wave": max(waves.values()),
        "delay": seconds_figures(delays),
        "timer_lateness": seconds_figures(lateness),
        "yellow_lateness": seconds_figures(yellow_lateness(stack.database_url, deadlines, day)),
        "drained_s": round(drained_s, 3),
        "worker_cpu_s": round(worker_cpu, 2),
        "worker_cpu_ms_per_project": round(1000 * worker_cpu / len(progress.codes), 1),
        # The Temporal server's share of a project's wave: it runs on the same cores as the worker.
        "temporal_cpu_ms_per_project": round(10 * wave_cpu["temporal"] * metered_s / len(progress.codes), 1),
        **(await workflow_sizes(progress.codes, stack.temporal.address)),
        **worker_warnings(stack),
        "machine_busy_before_percent": busy,
        "worker_peak_rss_mib": peak_mib,
        "worker_max_sampled_rss_mib": round(poller.peak_rss_kib / 1024, 1),
        "cpu_wave_percent_of_one_core": wave_cpu,
        "events": count_events(stack.database_url),
        "all_within_target_met": max(delays) <= ALL_WITHIN_TARGET_S,
        "rss_target_met": peak_mib < RSS_TARGET_MIB,
    }


async def run(args: argparse.Namespace | None = None) -> dict[str, Any]:
    """Start a stack with one worker, measure within the budget, print the figures and return them."""
    args = args or parse([])
    day = args.workday_seconds or auto_workday(args.projects)
    budget = args.budget or args.projects / 10 + (LIMIT_DAYS + 3) * day + 300
    budget_end = time.monotonic() + budget
    progress = Progress()
    async with open_stack(day, 1, args.max_cached_workflows, whole_days=True, tuning=tuning(args)) as stack:
        try:
            async with asyncio.timeout(budget_end - time.monotonic()):
                figures = await measure(stack, args, progress, budget_end)
        except TimeoutError:
            raise BenchmarkFailed(f"did not finish within {budget:.0f} s; {progress.describe(stack)}") from None
        except BenchmarkFailed as err:
            raise BenchmarkFailed(f"{err}; {progress.describe(stack)}") from None
    report(figures)
    return figures


def tuning(args: argparse.Namespace) -> dict[str, Any]:
    """The worker settings the command line changes from their defaults."""
    found: dict[str, Any] = {"workflow_sandbox": True} if args.sandbox else {}
    for name in ("max_concurrent_workflow_tasks", "sticky_queue_seconds"):
        if getattr(args, name) is not None:
            found[name] = getattr(args, name)
    return found


def report(f: dict[str, Any]) -> None:
    """Print the figures with their targets."""
    print(
        f"{f['projects']} projects on one worker (cache {f['max_cached_workflows']}, {f['worker_tuning'] or 'defaults'}), compressed day "
        f"{f['workday_seconds']:.0f} s counted whole; creation {f['creation_per_s']}/s; submissions took "
        f"{f['submission_s']} s ({f['submission_retries']} retried); {f['deadline_instants']} deadline instant(s), "
        f"largest wave {f['largest_wave']} projects"
    )
    met = "met" if f["all_within_target_met"] else "NOT met"
    print(
        f"overdue problem visible after its deadline: {fmt(f['delay'])} (target: all within {ALL_WITHIN_TARGET_S:.0f} s: {met})"
    )
    if f["deadline_instants"] > 1:
        print("  the submissions outlasted the compressed day, so the wave is split: pass a longer --workday-seconds")
    print(f"  wave drained {f['drained_s']:.1f} s after the first deadline")
    print(f"  of which timer lateness (opened_at - deadline): {fmt(f['timer_lateness'])}")
    print(f"  the yellow wave one day earlier, lateness: {fmt(f['yellow_lateness'])}")
    print(
        f"  worker CPU in the wave: {f['worker_cpu_s']} s, {f['worker_cpu_ms_per_project']} ms per project; "
        f"history length mean {f['history_length_mean']}; workflow tasks over 5 s: {f['workflow_tasks_over_5s']}, "
        f"timed out: {f['workflow_tasks_timed_out']}; machine busy before start {f['machine_busy_before_percent']}%"
    )
    print(f"  Temporal server CPU in the wave: {f['temporal_cpu_ms_per_project']} ms per project")
    met = "met" if f["rss_target_met"] else "NOT met"
    print(f"worker peak RSS (VmHWM) {f['worker_peak_rss_mib']} MiB (target < {RSS_TARGET_MIB:.0f} MiB: {met})")
    print("cpu during the wave: " + cpu_line(f["cpu_wave_percent_of_one_core"]))
    print(f"events written: {f['events']}")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--projects", type=int, default=5000, help="live projects, all due at the same instant")
    parser.add_argument("--max-cached-workflows", type=int, default=1000, help="the worker's cache (its default)")
    parser.add_argument(
        "--workday-seconds", type=float, default=0.0, help="one compressed day; 0: long enough for the submissions"
    )
    parser.add_argument("--max-concurrent-workflow-tasks", type=int, default=None, help="the worker's (settings.py)")
    parser.add_argument("--sticky-queue-seconds", type=float, default=None, help="the worker's (settings.py)")
    parser.add_argument("--sandbox", action="store_true", help="run workflows in Temporal's sandbox (not the default)")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent HTTP callers")
    parser.add_argument("--budget", type=float, default=0.0, help="the whole run must finish within this; 0: auto")
    parser.add_argument("--json", action="store_true", help="also print the figures as one JSON line")
    return parser.parse_args(argv)


def summary(figures: dict[str, Any]) -> list[str]:
    """One line per target, for `make bench`."""
    return [
        f"deadline wave: {figures['projects']} projects due at once, all visible within {figures['delay']['max_s']} s "
        f"(p99 {figures['delay']['p99_s']} s; target <= {ALL_WITHIN_TARGET_S:.0f} s): "
        f"{verdict(figures['all_within_target_met'])}",
        f"deadline wave worker peak RSS {figures['worker_peak_rss_mib']} MiB "
        f"(target < {RSS_TARGET_MIB:.0f} MiB): {verdict(figures['rss_target_met'])}",
    ]


def main() -> None:
    args = parse()
    try:
        figures = asyncio.run(run(args))
    except BenchmarkFailed as err:
        raise SystemExit(f"FAILED: {err}") from None
    if args.json:
        print(json.dumps(figures, default=str))


if __name__ == "__main__":
    main()
