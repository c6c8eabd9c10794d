"""Benchmark: how late overdue steps escalate when thousands of project clocks run at once."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import create_engine, func, select
from sqlmodel import col

from bench.client import STEP, ApiClient, create_projects, expect, in_parallel, login
from bench.poller import ProblemPoller
from bench.procstat import CpuMeter, cpu_line, memory_kib, wait_quiet
from bench.stack import Stack, open_stack
from bench.stats import percentile
from domain.clock import WARN_FRACTION
from models.db import sync_url
from models.tables import EventRow, ProjectRow, StepRow
from settings import Settings
from worker import connect

DELAY_TARGET_S = 1.0
RSS_TARGET_MIB = 500.0
SUBMIT_ATTEMPTS = 5
LIMIT_DAYS = 10  # project_approval of `general` (domain/catalog.json)


class BenchmarkFailed(RuntimeError):
    """The run could not finish within its time budget, or a process died."""


def read_deadlines(database_url: str) -> dict[str, datetime]:
    """Deadline of every project_approval step in the read model, by project code."""
    engine = create_engine(sync_url(database_url))
    try:
        with engine.connect() as conn:
            stmt = select(col(StepRow.code), col(StepRow.deadline)).where(col(StepRow.key) == STEP)
            return {code: deadline for code, deadline in conn.execute(stmt) if deadline is not None}
    finally:
        engine.dispose()


def count_events(database_url: str) -> dict[str, int]:
    """How many audit events of each action the run produced: the publishing load behind the figures."""
    engine = create_engine(sync_url(database_url))
    try:
        with engine.connect() as conn:
            stmt = select(col(EventRow.action), func.count()).group_by(col(EventRow.action))
            return {action: int(n) for action, n in conn.execute(stmt)}
    finally:
        engine.dispose()


def warn_lateness(database_url: str, deadlines: dict[str, datetime], workday_seconds: float) -> list[float]:
    """How late each project turned yellow: the 80 % timer, which fires before the overdue one.

    With the compressed clock the warning instant is the deadline less 20 % of the limit.
    """
    engine = create_engine(sync_url(database_url))
    early = (1 - WARN_FRACTION) * LIMIT_DAYS * workday_seconds
    late: list[float] = []
    try:
        with engine.connect() as conn:
            stmt = select(col(EventRow.code), col(EventRow.at), col(EventRow.detail)).where(
                col(EventRow.action) == "colour_changed"
            )
            for code, at, detail in conn.execute(stmt):
                if code in deadlines and (detail or {}).get("to") == "yellow":
                    late.append(at.timestamp() - (deadlines[code].timestamp() - early))
    finally:
        engine.dispose()
    return late


async def workflow_sizes(stack: Stack, codes: list[str], sample: int = 20) -> dict[str, float]:
    """Mean history length of a sample of project workflows, and mean published version in the read model."""
    client = await connect(Settings.model_validate({"temporal_address": stack.temporal.address}))
    lengths = [(await client.get_workflow_handle(c).describe()).history_length for c in codes[:sample]]
    engine = create_engine(sync_url(stack.database_url))
    try:
        with engine.connect() as conn:
            mean_version, max_version = conn.execute(
                select(func.avg(col(ProjectRow.version)), func.max(col(ProjectRow.version)))
            ).one()
    finally:
        engine.dispose()
    return {
        "history_length_mean": round(sum(lengths) / len(lengths), 1),
        "project_version_mean": round(float(mean_version), 1),
        "project_version_max": int(max_version),
    }


def seconds_figures(values: list[float]) -> dict[str, float]:
    """p50, p99 and max in seconds."""
    return {
        "p50_s": round(percentile(values, 50), 3),
        "p99_s": round(percentile(values, 99), 3),
        "max_s": round(max(values), 3),
    }


async def submit_once(api: ApiClient, code: str, attempts: int = SUBMIT_ATTEMPTS) -> int:
    """Submit project_approval; a timeout or 503 is retried with the same Idempotency-Key. The attempts used."""
    for attempt in range(1, attempts + 1):
        try:
            r = await api.submit("owner-a", code, key=f"bench-submit-{code}")
        except httpx.TimeoutException:
            continue
        if r.status_code == 503:
            continue
        expect(r, 200, f"submit {code}")
        return attempt
    raise BenchmarkFailed(f"submitting {code} got no answer in {attempts} attempts of {api.http.timeout.read} s")


async def submit_paced(api: ApiClient, codes: list[str], spread: float, concurrency: int) -> dict[str, Any]:
    """Submit project_approval on each project, the i-th at i*spread/n seconds from now."""
    started = time.monotonic()
    latencies: list[float] = []
    retried = 0

    async def one(i: int) -> None:
        nonlocal retried
        await asyncio.sleep(max(0.0, started + i * spread / len(codes) - time.monotonic()))
        began = time.monotonic()
        retried += await submit_once(api, codes[i]) - 1
        latencies.append(time.monotonic() - began)

    await in_parallel(len(codes), concurrency, one)
    return {
        "seconds": round(time.monotonic() - started, 1),
        "latency_p50_s": round(percentile(latencies, 50), 3),
        "latency_max_s": round(max(latencies), 3),
        "retried": retried,
    }


async def wait_all_seen(stack: Stack, poller: ProblemPoller, expected: int) -> None:
    """Return once the poller has seen a problem for every project; report progress every 10 s."""
    last_report = time.monotonic()
    while len(poller.seen) < expected:
        stack.check_alive()
        if poller.error is not None:
            raise BenchmarkFailed(f"the poller failed: {poller.error!r}")
        if not poller.is_alive():
            raise BenchmarkFailed("the poller stopped (time budget used up)")
        if time.monotonic() - last_report >= 10:
            print(f"  overdue problems seen: {len(poller.seen)}/{expected}", flush=True)
            last_report = time.monotonic()
        await asyncio.sleep(0.5)


async def measure(stack: Stack, projects: int, spread: float, concurrency: int, budget_end: float) -> dict[str, Any]:
    """Create, submit, wait for every escalation, then compute the figures."""
    tokens = await login(stack.api_url)
    pids = stack.pids()
    busy = wait_quiet()
    async with ApiClient(stack.api_url, tokens, connections=concurrency) as api:
        meter = CpuMeter(pids, alone=frozenset({"bench"}))
        meter.start()
        began = time.monotonic()
        codes = await create_projects(api, projects, concurrency)
        creation_s = time.monotonic() - began
        creation_cpu = meter.stop()
        print(f"created {len(codes)} projects in {creation_s:.1f} s ({len(codes) / creation_s:.1f}/s)", flush=True)
        print("  " + cpu_line(creation_cpu), flush=True)
        poller = ProblemPoller(stack.database_url, stack.worker.pid, budget_end)
        poller.start()
        try:
            submitted = await submit_paced(api, codes, spread, concurrency)
            print(
                f"submitted project_approval on all {len(codes)} over {submitted['seconds']} s "
                f"(p50 {submitted['latency_p50_s']} s, max {submitted['latency_max_s']} s, {submitted['retried']} retried)",
                flush=True,
            )
            meter.start()
            await wait_all_seen(stack, poller, len(codes))
            overdue_cpu = meter.stop()
        finally:
            poller.stop()
    memory = memory_kib(stack.worker.pid)
    deadlines = read_deadlines(stack.database_url)
    delays, lateness, lag = [], [], []
    for code in codes:
        seen_at, opened_at = poller.seen[code]
        deadline = deadlines[code].timestamp()
        delays.append(seen_at - deadline)
        lateness.append(opened_at.timestamp() - deadline)
        lag.append(seen_at - opened_at.timestamp())
    warned = warn_lateness(stack.database_url, deadlines, stack.workday_seconds)
    sizes = await workflow_sizes(stack, codes)
    peak_mib = memory.get("VmHWM", 0) / 1024
    rss_mib = max(memory.get("VmRSS", 0), poller.peak_rss_kib) / 1024
    delay = seconds_figures(delays)
    return {
        "benchmark": "escalation_delay",
        "read_model": stack.backend,
        "projects": len(codes),
        "workday_seconds": stack.workday_seconds,
        "deadline_after_submit_s": stack.workday_seconds * LIMIT_DAYS,
        "submission": submitted,
        "creation_s": round(creation_s, 1),
        "creation_per_s": round(len(codes) / creation_s, 1),
        "delay": delay,
        "timer_lateness": seconds_figures(lateness),
        "publish_visibility_lag": seconds_figures(lag),
        "warn_timer_lateness": seconds_figures(warned),
        **sizes,
        "machine_busy_before_percent": busy,
        "polls": poller.polls,
        "slowest_poll_s": round(poller.slowest_poll, 3),
        "worker_peak_rss_mib": round(peak_mib, 1),
        "worker_rss_mib": round(memory.get("VmRSS", 0) / 1024, 1),
        "worker_max_sampled_rss_mib": round(rss_mib, 1),
        "cpu_creation_percent_of_one_core": creation_cpu,
        "cpu_overdue_window_percent_of_one_core": overdue_cpu,
        "events": count_events(stack.database_url),
        "delay_target_met": delay["p99_s"] < DELAY_TARGET_S,
        "rss_target_met": peak_mib < RSS_TARGET_MIB,
    }


async def run(
    projects: int = 2000,
    workday_seconds: float = 8.0,
    spread: float = 60.0,
    concurrency: int = 16,
    budget: float = 900.0,
) -> dict[str, Any]:
    """Start a stack, measure within `budget` seconds, print the figures and return them."""
    budget_end = time.monotonic() + budget
    async with open_stack(workday_seconds) as stack:
        try:
            async with asyncio.timeout(budget_end - time.monotonic()):
                figures = await measure(stack, projects, spread, concurrency, budget_end)
        except TimeoutError:
            raise BenchmarkFailed(f"escalation benchmark did not finish within its {budget:.0f} s budget") from None
    report(figures)
    return figures


def report(f: dict[str, Any]) -> None:
    """Print the figures."""
    d, t, v = f["delay"], f["timer_lateness"], f["publish_visibility_lag"]
    print(
        f"{f['projects']} projects, deadline {f['deadline_after_submit_s']:.0f} s after submission "
        f"(workday {f['workday_seconds']} s), submissions took {f['submission']['seconds']} s"
    )
    verdict = "met" if f["delay_target_met"] else "NOT met"
    print(
        f"escalation delay (poller saw problem - deadline): p50={d['p50_s']:.3f} s p99={d['p99_s']:.3f} s "
        f"max={d['max_s']:.3f} s (target p99 < {DELAY_TARGET_S} s: {verdict})"
    )
    print(
        f"  of which timer lateness (opened_at - deadline): p50={t['p50_s']:.3f} p99={t['p99_s']:.3f} max={t['max_s']:.3f} s"
    )
    print(
        f"  and publish + poll lag (seen - opened_at): p50={v['p50_s']:.3f} p99={v['p99_s']:.3f} max={v['max_s']:.3f} s"
    )
    w = f["warn_timer_lateness"]
    print(
        f"  for comparison, the 80 % (yellow) timer's lateness: p50={w['p50_s']:.3f} p99={w['p99_s']:.3f} max={w['max_s']:.3f} s"
    )
    print(
        f"  polls: {f['polls']}, slowest {f['slowest_poll_s']} s; machine busy before start {f['machine_busy_before_percent']}%"
    )
    print(
        f"  publishes per project (read-model version): mean {f['project_version_mean']} max {f['project_version_max']}; "
        f"history length (sample of 20): mean {f['history_length_mean']}"
    )
    verdict = "met" if f["rss_target_met"] else "NOT met"
    print(
        f"worker memory: peak RSS (VmHWM) {f['worker_peak_rss_mib']} MiB, RSS now {f['worker_rss_mib']} MiB "
        f"(target < {RSS_TARGET_MIB:.0f} MiB: {verdict})"
    )
    print("cpu while the deadlines passed: " + cpu_line(f["cpu_overdue_window_percent_of_one_core"]))
    print(f"events written: {f['events']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--projects", type=int, default=2000, help="live projects with a running step clock")
    parser.add_argument("--workday-seconds", type=float, default=8.0, help="one working day; the step limit is 10")
    parser.add_argument("--spread", type=float, default=60.0, help="seconds over which submissions are spread")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent HTTP callers")
    parser.add_argument("--budget", type=float, default=900.0, help="the whole run must finish within this")
    parser.add_argument("--json", action="store_true", help="also print the figures as one JSON line")
    args = parser.parse_args()
    try:
        figures = asyncio.run(run(args.projects, args.workday_seconds, args.spread, args.concurrency, args.budget))
    except BenchmarkFailed as err:
        raise SystemExit(f"FAILED: {err}") from None
    if args.json:
        print(json.dumps(figures, default=str))


if __name__ == "__main__":
    main()
