"""The benchmark's statistics: percentiles as numpy computes them, summaries, ratio intervals."""

from __future__ import annotations

import pytest

from bench.stats import median_ratio_interval, percentile, ratio, summarize


@pytest.mark.parametrize(
    ("q", "expected"),
    [(0, 1.0), (25, 1.75), (50, 2.5), (99, 3.97), (100, 4.0)],
)
def test_percentile_interpolates_between_closest_ranks(q: float, expected: float) -> None:
    assert percentile([4, 1, 3, 2], q) == pytest.approx(expected)


def test_percentile_of_one_value_is_that_value() -> None:
    assert percentile([7.5], 99) == 7.5


@pytest.mark.parametrize(("values", "q"), [([], 50), ([1, 2], -1), ([1, 2], 100.5)])
def test_percentile_rejects_no_values_and_out_of_range(values: list[float], q: float) -> None:
    with pytest.raises(ValueError, match="percentile"):
        percentile(values, q)


def test_summary_has_count_extremes_percentiles_and_mean() -> None:
    summary = summarize([float(v) for v in range(1, 101)])

    assert summary["n"] == 100
    assert (summary["min"], summary["max"]) == (1, 100)
    assert summary["p50"] == pytest.approx(50.5)
    assert summary["p99"] == pytest.approx(99.01)
    assert summary["mean"] == pytest.approx(50.5)


def test_ratio_of_zero_denominator_is_none() -> None:
    assert ratio(3, 0) is None
    assert ratio(3, 4) == 0.75


def test_median_ratio_interval_brackets_the_ratio_and_is_reproducible() -> None:
    numerator = [70.0, 72, 75, 71, 90, 69, 73]
    denominator = [100.0, 98, 103, 101, 99, 140, 100]

    low, high = median_ratio_interval(numerator, denominator)

    assert low <= 72 / 100 <= high
    assert median_ratio_interval(numerator, denominator) == (low, high)
