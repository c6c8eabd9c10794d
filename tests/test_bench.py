"""The escalation benchmark stays runnable: a small run of it on its own stack, with two workers.

Its figures are not judged here (speed is the benchmark's business); only that every overdue
project escalated and that each worker process was measured.
"""

from __future__ import annotations

import math
import os
import random
from collections import Counter

import pytest

from bench import chaos, escalation_delay
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
