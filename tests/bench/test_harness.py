"""The harness itself, on the bare baseline: a fresh interpreter per run, the JSON it reports, the docs' tables.

No timing is asserted: a benchmark is not a test.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bench import render
from bench.config import Config
from bench.events import callback_events, write_events
from bench.lambda_runs import Harness, Variant, cold_starts, lambda_environment, run_handler
from localcloud.template import ROOT

BARE = Variant("bare", "bare", "bare_handler.lambda_handler", (ROOT / "bench" / "baselines" / "bare",))


@pytest.fixture
def events(tmp_path: Path) -> Path:
    return write_events(tmp_path / "events.json", callback_events("harness", 8))


def _env(tmp_path: Path) -> dict[str, str]:
    return lambda_environment(BARE, {"AWS_REGION": "us-east-1"}, home=tmp_path)


def test_cold_run_reports_init_first_invocation_and_peak_memory(tmp_path: Path, events: Path) -> None:
    result = run_handler(sys.executable, BARE, _env(tmp_path), events, workdir=tmp_path)

    assert result["init_ns"] > 0
    assert result["first_ns"] > 0
    assert result["peak_rss_kb"] > 0
    assert result["first_status"] == 200
    assert result["invocations"] == 1
    assert result["log_bytes"] == 0


def test_warm_run_times_each_invocation_after_the_warmup(tmp_path: Path, events: Path) -> None:
    result = run_handler(sys.executable, BARE, _env(tmp_path), events, mode="warm", warmup=2, count=5, workdir=tmp_path)

    assert len(result["durations_ns"]) == 5
    assert result["statuses"] == {"200": 5}
    assert result["invocations"] == 1 + 2 + 5


def test_runner_sees_only_the_artifact_not_this_environment(tmp_path: Path, events: Path) -> None:
    result = run_handler(sys.executable, BARE, _env(tmp_path), events, workdir=tmp_path, report_modules=True)

    assert not [path for path in result["module_files"] if "site-packages" in path]


def test_cold_starts_run_every_variant_each_round(tmp_path: Path, events: Path) -> None:
    other = Variant("bare2", "bare again", BARE.handler, BARE.paths)
    harness = Harness(sys.executable, replace(Config.smoke(), cold_runs=2), tmp_path, {"AWS_REGION": "us-east-1"})

    results = cold_starts(harness, [BARE, other], events_for=lambda v, r: events)

    assert {name: len(runs) for name, runs in results.items()} == {"bare": 2, "bare2": 2}


def test_a_failing_handler_is_reported_with_its_error(tmp_path: Path, events: Path) -> None:
    broken = Variant("broken", "broken", "no_such_module.lambda_handler", BARE.paths)

    with pytest.raises(RuntimeError, match="ModuleNotFoundError"):
        run_handler(sys.executable, broken, _env(tmp_path), events, workdir=tmp_path)


def _summary(p50: float) -> dict[str, float]:
    return {"n": 3, "min": p50, "p50": p50, "p90": p50, "p99": p50, "max": p50, "mean": p50}


def _results() -> dict[str, Any]:
    """The shape `bench.run.run` produces, with made-up numbers; scheduling and dispatcher not measured."""

    def cold(init: float, first: float, vs: float) -> dict[str, Any]:
        return {
            "init_ms": _summary(init),
            "first_invoke_ms": _summary(first),
            "total_ms": _summary(init + first),
            "peak_rss_mb": _summary(50),
            "modules_loaded": 400,
            "vs_guide": {"total": vs, "total_ci95": [vs - 0.1, vs + 0.1], "init": vs, "first_invoke": vs},
        }

    def warm(variant: str, idempotency: str, p50: float) -> dict[str, Any]:
        return {
            "variant": variant,
            "idempotency": idempotency,
            "ms": _summary(p50),
            "billed_ms_mean": 1.0,
            "statuses": {"200": 3},
            "log_bytes_per_invocation": 900.0,
            "p50_vs_guide": p50 / 0.3,
        }

    size = {"files": 3, "unzipped_bytes": 20_000_000, "zipped_bytes": 7_000_000, "zipped_by_package": {"pydantic": 1}}
    return {
        "generated_at": "2026-11-26T00:00:00+00:00",
        "callback_memory_mb": 512,
        "elapsed_seconds": 1.0,
        "machine": {"cpu": "CPU", "cores": 2, "machine": "x86_64", "os": "Linux", "python": "3.13.0"},
        "config": {"cold_runs": 3, "warm_invocations": 3, "warmup": 1, "importtime_runs": 1},
        "variants": {name: {"label": name} for name in ("guide", "callback", "callback_sam")},
        "analysis": {"callback_sync_dependencies": ["get_task_runner"]},
        "cold_start": {
            "guide": cold(1000, 2, 1.0),
            "callback": cold(500, 150, 0.65),
            "callback_sam": cold(1100, 200, 1.3),
        },
        "import_time": {
            "guide": {"init": {"fastapi": 300.0}, "first_invoke": {}},
            "callback": {"init": {"fastapi": 100.0, "botocore": 40.0}, "first_invoke": {"boto3": 8.0}},
        },
        "warm": {
            "guide": warm("guide", "n/a", 0.3),
            "callback:disabled": warm("callback", "disabled", 0.9),
            "callback:enabled": warm("callback", "enabled", 15.0),
        },
        "sizes": {
            "artifacts": {"layer (arm64, with bytecode)": size, "layer (arm64, as sam build ships it)": size},
            "deployables": {"callback + layer": {"unzipped_bytes": 20_000_000, "zipped_bytes": 9_000_000}},
            "limits": {"unzipped_bytes": 250 * 2**20, "zipped_bytes": 50 * 2**20},
        },
        "scheduling": {"reason": "no scheduler API in this test"},
        "dispatcher": {"reason": "no dispatcher in this test"},
    }


def test_targets_say_met_missed_or_not_measured() -> None:
    targets = {t["key"]: t for t in render.targets(_results())}

    assert targets["cold_start"]["met"] is True
    assert targets["warm_p50"]["met"] is False
    # The targets have no prose notes any more: the thread-pool dependency is in the *Checks* table.
    assert "`get_task_runner`" in render.performance_blocks(_results())["checks"]
    assert targets["batch_speedup"]["met"] is None
    assert targets["dispatcher_lateness"]["met"] is None
    assert targets["zipped:callback + layer"]["met"] is False


def _render(results: dict[str, Any]) -> tuple[str, str]:
    """docs/performance.md and docs/cost.md as checked in, with their tables from `results`."""
    docs = ROOT / "docs"
    performance = render.fill((docs / "performance.md").read_text(encoding="utf-8"), render.performance_blocks(results))
    return performance, render.fill((docs / "cost.md").read_text(encoding="utf-8"), render.cost_blocks(results))


def test_docs_render_every_section_from_the_results() -> None:
    performance, bill = _render(_results())

    for heading in ("## Targets", "## Cold start", "## Warm invocations", "## Artifact sizes", "## Reproduce"):
        assert heading in performance
    assert "Not measured yet: no scheduler API in this test." in performance
    assert "❌ missed" in performance
    assert "### Callback (ours)" in bill
    assert "**Total**" in bill


def test_the_dispatcher_section_shows_start_lateness_at_both_concurrencies_and_what_bounds_it() -> None:
    results = _results()
    cpu = {"wall": 20.0, "local_cloud_process": 17.0, "environments": 9.0}
    results["dispatcher"] = {
        "schedules": 1000,
        "concurrency": 10,
        "delivered": 1000,
        "early": 0,
        "fire_lateness_s": _summary(0.1),
        "start_lateness_s": _summary(12.0),
        "cpu_seconds": cpu,
        "counts": {"environments_started": 10},
        "concurrency_1": {"start_lateness_s": _summary(13.0), "fire_lateness_s": _summary(0.1), "cpu_seconds": cpu},
        "measured_at": "2026-12-01T00:00:00+00:00",
    }

    performance, _ = _render(results)

    assert "| started (the callback began running it), concurrency 10 | 12.000 | 12.000 | 12.000 |" in performance
    assert "| started, concurrency 1 | 13.000 | 13.000 | 13.000 |" in performance
    # What bounds the start, once a sentence generated from these figures, is now the CPU table (the
    # reading of it is written by hand): 17 ms and 9 ms of CPU per task, 10 environments started, so
    # 2 cores start at most about 59 tasks/s; the p99 at concurrency 1 against 10 is in the rows above.
    assert "| concurrency 10 | 20.00 | 17.00 | 9.00 | 17 | 9 | 10 | 59 |" in performance
    assert "Re-measured on 2026-12-01 by `make bench ONLY=dispatcher`." in performance


def test_rendering_rewrites_only_the_generated_blocks() -> None:
    text = "# Doc\n\nBy hand.\n\n<!-- bench:a -->\nold table\n<!-- /bench:a -->\n\nAlso by hand.\n"

    assert render.fill(text, {"a": "| new |"}) == text.replace("old table", "| new |")
    assert render.fill(render.fill(text, {"a": "x"}), {"a": "| new |"}) == text.replace("old table", "| new |")
    with pytest.raises(ValueError, match="generated blocks"):
        render.fill(text, {"a": "x", "b": "y"})  # a table the doc has no place for is an error, not dropped


def test_a_new_docs_directory_starts_from_the_checked_in_docs_then_keeps_its_own_text(tmp_path: Path) -> None:
    render.write_docs(_results(), tmp_path)  # as a smoke run writes bench/results/
    (tmp_path / "cost.md").write_text((tmp_path / "cost.md").read_text().replace("## Not included", "## Left out"))

    render.write_docs(_results(), tmp_path)

    assert "Not measured yet: no scheduler API in this test." in (tmp_path / "performance.md").read_text()
    assert "## Left out" in (tmp_path / "cost.md").read_text()
    assert "| Running them: the callback (ours) |" in (tmp_path / "cost.md").read_text()
