"""The benchmarks stay runnable: a small run of each on its own stack.

Their figures are not judged here (speed is the benchmarks' business); only that each ran to its
end: every overdue project escalated, each worker process was measured, every figure is there.
"""

from __future__ import annotations

import math
import os
import random
from collections import Counter

import pytest

from bench import chaos, deadline_wave, escalation_delay, wakeup
from bench.chaos_checks import Action, Findings, compare_timeline

PROJECTS = 12


async def test_escalation_benchmark_runs_on_two_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    # The benchmark's read model follows the tests' own: PostgreSQL in CI, SQLite otherwise.
    monkeypatch.setenv("APPROVALS_BENCH_DATABASE_URL", os.environ.get("APPROVALS_TEST_DATABASE_URL") or "sqlite")
    small = f"--projects {PROJECTS} --workers 2 --workday-seconds 1 --spread 1 --concurrency 4 --budget 120"
    args = escalation_delay.parse(small.split())

    figures = await escalation_delay.run(args)

    assert figures["projects"] == PROJECTS
    assert figures["events"]["overdue"] == PROJECTS
    assert figures["events"]["problem_raised"] >= PROJECTS
    assert set(figures["worker_peak_rss_mib_each"]) == {"worker1", "worker2"}
    assert all(mib > 0 for mib in figures["worker_peak_rss_mib_each"].values())
    assert all(math.isfinite(value) for value in figures["delay"].values())  # every escalation had its deadline


async def test_wakeup_benchmark_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APPROVALS_BENCH_DATABASE_URL", os.environ.get("APPROVALS_TEST_DATABASE_URL") or "sqlite")

    figures = await wakeup.run(wakeup.parse(["--projects", "4", "--replays", "2"]))

    assert figures["projects"] == 4
    assert figures["full_chain_history_events"] > figures["short_history_events"] > 0
    assert 0 < figures["cached_wakeup_cpu_ms"] < figures["evicted_wakeup_cpu_ms"]  # a replay costs something
    assert all(ms > 0 for ms in figures["replay_cpu_ms"].values())


async def test_deadline_wave_benchmark_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APPROVALS_BENCH_DATABASE_URL", os.environ.get("APPROVALS_TEST_DATABASE_URL") or "sqlite")
    args = deadline_wave.parse(f"--projects {PROJECTS} --workday-seconds 10 --concurrency 4".split())

    figures = await deadline_wave.run(args)

    assert figures["projects"] == PROJECTS
    assert figures["deadline_instants"] == 1  # every step fell due at the same close
    assert figures["events"]["overdue"] == PROJECTS
    assert figures["worker_peak_rss_mib"] > 0
    assert all(math.isfinite(value) for value in figures["delay"].values())


def test_the_chaos_timeline_check_sees_a_lost_and_a_doubled_action() -> None:
    """make chaos passes only when each acknowledged action is in the timeline once (no run here:
    a whole chaos run takes minutes, see docs/benchmarks.md)."""
    acked: Counter[Action] = Counter({("created", None, "owner-a"): 1, ("submitted", "project_approval", "owner-a"): 1})
    created = {"action": "created", "step": None, "actor": "owner-a"}
    submitted = {"action": "submitted", "step": "project_approval", "actor": "owner-a"}
    approved = {"action": "approved", "step": "project_approval", "actor": "reviewer-drc"}
    overdue = {"action": "overdue", "step": "project_approval", "actor": "system"}  # not a client's action

    good = Findings()
    compare_timeline("P", acked, [created, submitted, overdue], good)
    assert good.once == 2 and good.timeline == []

    bad = Findings()
    compare_timeline("P", acked, [created, submitted, submitted, approved], bad)
    assert bad.once == 1 and len(bad.timeline) == 2  # submitted twice; approved never acknowledged

    lost = Findings()
    compare_timeline("P", acked, [created], lost)
    assert lost.once == 1 and len(lost.timeline) == 1


def test_the_chaos_schedule_kills_every_part_under_load() -> None:
    planned = chaos.schedule(3, random.Random(1))
    assert Counter(part for _, part in planned) == {part: 3 for part in chaos.PARTS}
    moments = [fraction for fraction, _ in planned]
    assert moments == sorted(moments) and moments[0] >= chaos.FIRST_KILL and moments[-1] <= chaos.LAST_KILL
