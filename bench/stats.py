"""Statistics of the benchmark: percentiles, summaries, ratios of medians with a bootstrap interval."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from statistics import median


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), linearly interpolated between closest ranks (numpy's default)."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0..100, got {q}")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summarize(values: Sequence[float]) -> dict[str, float]:
    """n, min, p50, p90, p99, max and mean of `values`."""
    return {
        "n": len(values),
        "min": min(values),
        "p50": percentile(values, 50),
        "p90": percentile(values, 90),
        "p99": percentile(values, 99),
        "max": max(values),
        "mean": sum(values) / len(values),
    }


def ratio(numerator: float, denominator: float) -> float | None:
    """numerator / denominator, or None when the denominator is zero."""
    return numerator / denominator if denominator else None


def median_ratio_interval(
    numerator: Sequence[float], denominator: Sequence[float], *, resamples: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """A 95 % bootstrap interval for median(numerator) / median(denominator) (seeded: reproducible)."""
    rng = random.Random(seed)
    ratios = []
    for _ in range(resamples):
        num = median(rng.choices(numerator, k=len(numerator)))
        den = median(rng.choices(denominator, k=len(denominator)))
        if den:
            ratios.append(num / den)
    return percentile(ratios, 2.5), percentile(ratios, 97.5)


__all__ = ["median", "median_ratio_interval", "percentile", "ratio", "summarize"]
