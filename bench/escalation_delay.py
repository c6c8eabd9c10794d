"""Benchmark: how late overdue steps escalate when thousands of project clocks run at once."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.client import STEP, ApiClient, create_projects, expect, in_parallel, login
from bench.poller import ProblemPoller
from bench.procstat import CpuMeter, cpu_line, memory_kib, wait_quiet
from bench.readmodel import count_events, read_deadlines, warn_lateness, worker_warnings, workflow_sizes
from bench.stack import Stack, open_stack
from bench.stats import percentile, verdict

DELAY_TARGET_S = 1.0
RSS_TARGET_MIB = 500.0
LIMIT_DAYS = 10  # project_approval of `general` (domain/catalog.json)
SUBMIT_ATTEMPTS = 5


class BenchmarkFailed(RuntimeError):
    """The run could not finish within its time budget, or a process died."""


@dataclass
class Progress:
    """How far the run got, for the figures and for a clear message when it cannot finish."""

    phase: str = "starting"
    codes: list[str] = field(default_factory=list)
    submitted: int = 0
    retried: int = 0
    submit_latencies: list[float] = field(default_factory=list)
    poller: ProblemPoller | None = None
    meter: CpuMeter | None = None  # started when the submissions start

    def describe(self, stack: Stack) -> str:
        """Where the run stopped, and the delays of the escalations seen until then."""
        seen = self.poller.seen if self.poller else {}
        deadlines = read_deadlines(stack.database_url)
        delays = [at - deadlines[code].timestamp() for code, at in list(seen.items()) if code in deadlines]
        return (
            f"phase {self.phase}: {len(self.codes)} created, {self.submitted} submitted ({self.retried} retried), "
            f"{len(seen)} escalations seen, their delay {fmt(seconds_figures(delays))}; "
            f"worker RSS now/peak MiB {workers_memory_mib(stack)}; "
            f"worker log: {worker_warnings(stack)}; events: {count_events(stack.database_url)}"
            + (f"; since the submissions began, {cpu_line(self.meter.stop())}" if self.meter else "")
        )


def workers_memory_mib(stack: Stack) -> dict[str, tuple[float, float]]:
    """Each worker's resident memory now and its peak (VmHWM), in MiB."""
    found = {}
    for name, pid in stack.worker_pids().items():
        memory = memory_kib(pid)
        found[name] = (round(memory.get("VmRSS", 0) / 1024, 1), round(memory.get("VmHWM", 0) / 1024, 1))
    return found


def seconds_figures(values: list[float]) -> dict[str, float]:
    """p50, p99 and max in seconds."""
    return {
        "p50_s": round(percentile(values, 50), 3),
        "p99_s": round(percentile(values, 99), 3),
        "max_s": round(max(values, default=float("nan")), 3),
    }


async def submit_once(api: ApiClient, code: str, progress: Progress, step: str = STEP) -> None:
    """Submit the step; no answer, 503 or 'still in progress' is retried with the same Idempotency-Key."""
    for _ in range(SUBMIT_ATTEMPTS):
        try:
            r = await api.submit("owner-a", code, step, key=f"bench-submit-{code}")
        except httpx.TimeoutException:
            progress.retried += 1
            continue
        if r.status_code == 503 or (r.status_code == 409 and "request_in_progress" in r.text):
            progress.retried += 1
            continue
        expect(r, 200, f"submit {code}")
        progress.submitted += 1
        return
    raise BenchmarkFailed(f"submitting {code} got no answer in {SUBMIT_ATTEMPTS} attempts")


async def submit_paced(api: ApiClient, progress: Progress, spread: float, concurrency: int) -> float:
    """Submit project_approval on each project, the i-th at i*spread/n seconds from now; the seconds taken."""
    started = time.monotonic()
    codes = progress.codes

    async def one(i: int) -> None:
        await asyncio.sleep(max(0.0, started + i * spread / len(codes) - time.monotonic()))
        began = time.monotonic()
        await submit_once(api, codes[i], progress)
        progress.submit_latencies.append(time.monotonic() - began)

    await in_parallel(len(codes), concurrency, one)
    return time.monotonic() - started


async def wait_all_seen(stack: Stack, poller: ProblemPoller, expected: int) -> None:
    """Return once the poller has seen a problem for every project; report progress every 10 s."""
    last_report = time.monotonic()
    while len(poller.seen) < expected:
        stack.check_alive()
        if poller.error is not None:
            raise BenchmarkFailed(f"the poller failed: {poller.error!r}")
        if not poller.is_alive():
            raise BenchmarkFailed("the poller stopped: the time budget is used up")
        if time.monotonic() - last_report >= 10:
            print(f"  overdue problems seen: {len(poller.seen)}/{expected}", flush=True)
            last_report = time.monotonic()
        await asyncio.sleep(0.5)


async def measure(stack: Stack, args: argparse.Namespace, progress: Progress, budget_end: float) -> dict[str, Any]:
    """Create, submit, wait for every escalation, then compute the figures."""
    tokens = await login(stack.api_url)
    meter = CpuMeter(stack.pids(), alone=frozenset({"bench"}))
    busy = wait_quiet()
    async with ApiClient(stack.api_url, tokens, connections=args.concurrency) as api:
        progress.phase = "creation"
        meter.start()
        began = time.monotonic()
        progress.codes = await create_projects(api, args.projects, args.concurrency)
        creation_s = time.monotonic() - began
        creation_cpu = meter.stop()
        print(
            f"created {args.projects} projects in {creation_s:.1f} s ({args.projects / creation_s:.1f}/s)", flush=True
        )
        print("  " + cpu_line(creation_cpu), flush=True)
        poller = progress.poller = ProblemPoller(stack.database_url, list(stack.worker_pids().values()), budget_end)
        poller.start()
        try:
            progress.phase = "submission"
            progress.meter = CpuMeter(stack.pids(), alone=frozenset({"bench"}))
            progress.meter.start()
            submit_s = await submit_paced(api, progress, args.spread, args.concurrency)
            print(f"submitted all in {submit_s:.1f} s, {progress.retried} retried", flush=True)
            progress.phase = "waiting for the deadlines"
            meter.start()
            await wait_all_seen(stack, poller, len(progress.codes))
            overdue_cpu = meter.stop()
        finally:
            poller.stop()
    progress.phase = "figures"
    memory = workers_memory_mib(stack)
    deadlines = read_deadlines(stack.database_url)
    delays, lateness, lag = [], [], []
    for code in progress.codes:
        seen_at, opened_at = poller.seen[code], poller.opened[code]
        deadline = deadlines[code].timestamp()
        delays.append(seen_at - deadline)
        lateness.append(opened_at.timestamp() - deadline)
        lag.append(seen_at - opened_at.timestamp())
    limit_seconds = LIMIT_DAYS * stack.workday_seconds
    peak_mib = max(peak for _, peak in memory.values())  # the target holds for each worker process
    rss_now_mib = max(now for now, _ in memory.values())
    delay = seconds_figures(delays)
    return {
        "benchmark": "escalation_delay",
        "read_model": stack.backend,
        "projects": len(progress.codes),
        "workers": len(stack.workers),
        "max_cached_workflows": args.max_cached_workflows,
        "workday_seconds": stack.workday_seconds,
        "deadline_after_submit_s": limit_seconds,
        "creation_s": round(creation_s, 1),
        "creation_per_s": round(len(progress.codes) / creation_s, 1),
        "submission_s": round(submit_s, 1),
        "submission_latency": seconds_figures(progress.submit_latencies),
        "submission_retries": progress.retried,
        "delay": delay,
        "timer_lateness": seconds_figures(lateness),
        "publish_visibility_lag": seconds_figures(lag),
        "warn_timer_lateness": seconds_figures(warn_lateness(stack.database_url, deadlines, limit_seconds)),
        **(await workflow_sizes(progress.codes, stack.temporal.address)),
        **worker_warnings(stack),
        "machine_busy_before_percent": busy,
        "polls": poller.polls,
        "slowest_poll_s": round(poller.slowest_poll, 3),
        "worker_peak_rss_mib": peak_mib,
        "worker_rss_mib": rss_now_mib,
        "worker_peak_rss_mib_each": {name: peak for name, (_, peak) in memory.items()},
        "worker_max_sampled_rss_mib": max(rss_now_mib, round(poller.peak_rss_kib / 1024, 1)),
        "cpu_creation_percent_of_one_core": creation_cpu,
        "cpu_overdue_window_percent_of_one_core": overdue_cpu,
        "events": count_events(stack.database_url),
        "delay_target_met": delay["p99_s"] < DELAY_TARGET_S,
        "rss_target_met": peak_mib < RSS_TARGET_MIB,
    }


async def run(args: argparse.Namespace | None = None) -> dict[str, Any]:
    """Start a stack, measure within the budget, print the figures and return them."""
    args = args or parse([])
    budget_end = time.monotonic() + args.budget
    progress = Progress()
    async with open_stack(args.workday_seconds, args.workers, args.max_cached_workflows) as stack:
        try:
            async with asyncio.timeout(budget_end - time.monotonic()):
                figures = await measure(stack, args, progress, budget_end)
        except TimeoutError:
            why = f"did not finish within its {args.budget:.0f} s budget"
            raise BenchmarkFailed(f"escalation benchmark {why}; {progress.describe(stack)}") from None
        except BenchmarkFailed as err:
            raise BenchmarkFailed(f"{err}; {progress.describe(stack)}") from None
    report(figures)
    return figures


def report(f: dict[str, Any]) -> None:
    """Print the figures."""
    print(
        f"{f['projects']} projects on {f['workers']} worker(s), deadline {f['deadline_after_submit_s']:.0f} s after submission "
        f"(workday {f['workday_seconds']} s); creation {f['creation_per_s']}/s; submissions took "
        f"{f['submission_s']} s (p50 {f['submission_latency']['p50_s']} s, {f['submission_retries']} retried)"
    )
    verdict = "met" if f["delay_target_met"] else "NOT met"
    print(
        f"escalation delay (poller saw problem - deadline): {fmt(f['delay'])} (target p99 < {DELAY_TARGET_S} s: {verdict})"
    )
    print(f"  of which timer lateness (opened_at - deadline): {fmt(f['timer_lateness'])}")
    print(f"  and publish + poll lag (seen - opened_at):      {fmt(f['publish_visibility_lag'])}")
    print(f"  for comparison, lateness of the 80 % (yellow) timer: {fmt(f['warn_timer_lateness'])}")
    print(f"  history length (sample of 20): mean {f['history_length_mean']} max {f['history_length_max']}")
    print(
        f"  workflow tasks over 5 s: {f['workflow_tasks_over_5s']}, timed out: {f['workflow_tasks_timed_out']}; "
        f"polls {f['polls']} (slowest {f['slowest_poll_s']} s); machine busy before start {f['machine_busy_before_percent']}%"
    )
    verdict = "met" if f["rss_target_met"] else "NOT met"
    print(
        f"worker memory: peak RSS (VmHWM) {f['worker_peak_rss_mib']} MiB, RSS now {f['worker_rss_mib']} MiB "
        f"(largest worker; each: {f['worker_peak_rss_mib_each']}; target < {RSS_TARGET_MIB:.0f} MiB: {verdict})"
    )
    print("cpu while the deadlines passed: " + cpu_line(f["cpu_overdue_window_percent_of_one_core"]))
    print(f"events written: {f['events']}")


def fmt(figures: dict[str, float]) -> str:
    return f"p50={figures['p50_s']:.3f} s p99={figures['p99_s']:.3f} s max={figures['max_s']:.3f} s"


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--projects", type=int, default=2000, help="live projects with a running step clock")
    parser.add_argument("--workday-seconds", type=float, default=30.0, help="one working day; the step limit is 10")
    parser.add_argument("--spread", type=float, default=300.0, help="seconds over which submissions are spread")
    parser.add_argument(
        "--workers", type=int, default=2, help="worker processes on the task queue (docs/architecture.md: sizing)"
    )
    parser.add_argument(
        "--max-cached-workflows", type=int, default=1200, help="each worker's workflow cache; headroom over 1,000"
    )
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent HTTP callers")
    parser.add_argument("--budget", type=float, default=1500.0, help="the whole run must finish within this")
    parser.add_argument("--json", action="store_true", help="also print the figures as one JSON line")
    return parser.parse_args(argv)


def summary(figures: dict[str, Any]) -> list[str]:
    """One line per target, for `make bench`."""
    return [
        f"escalation delay p99 {figures['delay']['p99_s']} s over {figures['projects']} projects, "
        f"{figures['workers']} worker(s) (target < {DELAY_TARGET_S} s): {verdict(figures['delay_target_met'])}",
        f"worker peak RSS {figures['worker_peak_rss_mib']} MiB, largest worker "
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
