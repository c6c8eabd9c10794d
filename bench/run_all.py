"""Runs every benchmark with its defaults and prints a summary against the targets (`make bench`).

Each benchmark is a module with `run()` (its figures, on a stack of its own) and `summary(figures)`
(one line per target: the figure, the target, met or not).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import traceback
from types import ModuleType
from typing import Any

from bench import deadline_wave, decision_latency, escalation_delay, page_render, readmodel_load, wakeup

BENCHMARKS: dict[str, ModuleType] = {
    "decision_latency": decision_latency,
    "page_render": page_render,
    "readmodel_load": readmodel_load,
    "escalation_delay": escalation_delay,
    "wakeup": wakeup,
    "deadline_wave": deadline_wave,
}


def summarise(results: dict[str, dict[str, Any] | str]) -> list[str]:
    """Every benchmark's summary lines, or that it failed."""
    lines: list[str] = []
    for name, figures in results.items():
        if isinstance(figures, str):
            lines.append(f"{name}: FAILED ({figures})")
        else:
            lines += BENCHMARKS[name].summary(figures)
    return lines


async def run_all(names: list[str]) -> dict[str, dict[str, Any] | str]:
    """Each benchmark on a stack of its own, one after the other; a failure is recorded, not raised."""
    results: dict[str, dict[str, Any] | str] = {}
    for name in names:
        print(f"=== {name}", flush=True)
        try:
            results[name] = await BENCHMARKS[name].run()
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
