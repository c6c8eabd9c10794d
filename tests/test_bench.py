"""The escalation benchmark stays runnable: a small run of it on its own stack, with two workers.

Its figures are not judged here (speed is the benchmark's business); only that every overdue
project escalated and that each worker process was measured.
"""

from __future__ import annotations

import math
import os

import pytest

from bench import escalation_delay

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
