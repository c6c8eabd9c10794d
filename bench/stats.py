"""Small statistics helpers for benchmark figures: percentiles and one-line summaries."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation between order statistics; nan if empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary_ms(values: Sequence[float]) -> dict[str, float]:
    """p50, p99, max and mean of durations given in seconds, reported in milliseconds."""
    if not values:
        return {"n": 0, "p50_ms": math.nan, "p99_ms": math.nan, "max_ms": math.nan, "mean_ms": math.nan}
    return {
        "n": len(values),
        "p50_ms": round(percentile(values, 50) * 1000, 2),
        "p99_ms": round(percentile(values, 99) * 1000, 2),
        "max_ms": round(max(values) * 1000, 2),
        "mean_ms": round(sum(values) / len(values) * 1000, 2),
    }


def line(label: str, figures: dict[str, float]) -> str:
    """`label: n=.. p50=.. ms p99=.. ms max=.. ms` for printing."""
    return (
        f"{label}: n={figures['n']} p50={figures['p50_ms']:.1f} ms p99={figures['p99_ms']:.1f} ms "
        f"max={figures['max_ms']:.1f} ms mean={figures['mean_ms']:.1f} ms"
    )


def verdict(met: bool) -> str:
    """How a summary line ends: whether the figure met its target."""
    return "met" if met else "NOT met"
