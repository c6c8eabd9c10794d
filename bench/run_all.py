"""Runs every benchmark with its defaults and prints a summary against the targets (`make bench`)."""

from __future__ import annotations

import argparse
import asyncio
import json
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

from bench import deadline_wave, decision_latency, escalation_delay, wakeup

BENCHMARKS: dict[str, Callable[[], Awaitable[dict[str, Any]]]] = {
    "decision_latency": decision_latency.run,
    "escalation_delay": escalation_delay.run,
    "wakeup": wakeup.run,
    "deadline_wave": deadline_wave.run,
}


def summarise(results: dict[str, dict[str, Any] | str]) -> list[str]:
    """One line per target: the figure, the target, met or not."""
    lines: list[str] = []
    for name, figures in results.items():
        if isinstance(figures, str):
            lines.append(f"{name}: FAILED ({figures})")
            continue
        if name == "decision_latency":
            creation = figures["creation"]
            lines.append(
                f"decision p99 {figures['decision']['p99_ms']} ms / bare update p99 {figures['bare_update']['p99_ms']} ms"
                f" = {figures['ratio_p99']} (target <= {decision_latency.RATIO_TARGET}): {verdict(figures['ratio_target_met'])}"
            )
            lines.append(
                f"read-your-writes mismatches: {figures['read_your_writes_mismatches']} (must be 0): "
                f"{verdict(figures['read_your_writes_mismatches'] == 0)}"
            )
            lines.append(
                f"creation {creation['projects_per_s']} projects/s (target >= {decision_latency.THROUGHPUT_TARGET}): "
                f"{verdict(creation['throughput_target_met'])}"
            )
        elif name == "wakeup":
            lines.append(
                f"wake-up CPU: cached {figures['cached_wakeup_cpu_ms']} ms, evicted {figures['evicted_wakeup_cpu_ms']} ms, "
                f"full chain evicted {figures['evicted_full_chain_wakeup_cpu_ms']} ms (no target: capacity model input)"
            )
        elif name == "deadline_wave":
            lines.append(
                f"deadline wave: {figures['projects']} projects due at once, all visible within {figures['delay']['max_s']} s "
                f"(p99 {figures['delay']['p99_s']} s; target <= {deadline_wave.ALL_WITHIN_TARGET_S:.0f} s): "
                f"{verdict(figures['all_within_target_met'])}"
            )
            lines.append(
                f"deadline wave worker peak RSS {figures['worker_peak_rss_mib']} MiB "
                f"(target < {deadline_wave.RSS_TARGET_MIB:.0f} MiB): {verdict(figures['rss_target_met'])}"
            )
        else:
            lines.append(
                f"escalation delay p99 {figures['delay']['p99_s']} s over {figures['projects']} projects, "
                f"{figures['workers']} worker(s) "
                f"(target < {escalation_delay.DELAY_TARGET_S} s): {verdict(figures['delay_target_met'])}"
            )
            lines.append(
                f"worker peak RSS {figures['worker_peak_rss_mib']} MiB, largest worker "
                f"(target < {escalation_delay.RSS_TARGET_MIB:.0f} MiB): {verdict(figures['rss_target_met'])}"
            )
    return lines


def verdict(met: bool) -> str:
    return "met" if met else "NOT met"


async def run_all(names: list[str]) -> dict[str, dict[str, Any] | str]:
    """Each benchmark on a stack of its own, one after the other; a failure is recorded, not raised."""
    results: dict[str, dict[str, Any] | str] = {}
    for name in names:
        print(f"=== {name}", flush=True)
        try:
            results[name] = await BENCHMARKS[name]()
        except Exception as err:
            traceback.print_exc()
            results[name] = f"{type(err).__name__}: {err}"
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", choices=sorted(BENCHMARKS), action="append", help="run only this benchmark")
    parser.add_argument("--json", action="store_true", help="also print every figure as one JSON line")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is not met, too")
    args = parser.parse_args()
    results = asyncio.run(run_all(args.only or list(BENCHMARKS)))
    print("=== summary")
    lines = summarise(results)
    for text in lines:
        print(text)
    if args.json:
        print(json.dumps(results, default=str))
    failed = any(isinstance(r, str) for r in results.values())
    unmet = any("NOT met" in text for text in lines)
    if failed or (args.strict and unmet):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
