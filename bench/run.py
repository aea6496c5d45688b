"""`make bench`: every figure of docs/performance.md and docs/cost.md, measured side by side in one run.

    python -m bench.run                    # full run: docs/performance.json, then the tables of both docs
    python -m bench.run --quick            # smoke run (also BENCH_QUICK=1): tiny counts, writes bench/results/ only
    python -m bench.run --only dispatcher  # re-measure the local dispatcher alone, keep the other figures
    python -m bench.run --render           # measure nothing: rewrite the docs' tables from docs/performance.json

The JSON also goes to bench/results/ (gitignored). A benchmark is not a test: nothing here fails on a slow
number; a missed target shows as missed in the targets table (docs/performance.md says why, by hand).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import build, ledger_calls, measure, render

DOCS, RESULTS = build.ROOT / "docs", build.ROOT / "bench" / "results"
#: An assumed round trip for one AWS API call from Lambda to a regional endpoint. moto on loopback has
#: none, so without it concurrency has nothing to overlap; the loopback figure is reported as well.
MODELLED_RTT_MS = 20.0


@dataclass(frozen=True)
class Config:
    """How much of each figure to measure: the defaults are the full run's (about ten minutes on two cores)."""

    quick: bool = False
    cold_runs: int = 15
    warm_invocations: int = 2000
    #: The warm invocations are split into this many rounds, each running every handler in turn, so a
    #: slow phase of a shared machine falls on all handlers alike instead of on one.
    warm_rounds: int = 4
    warmup: int = 100
    replays: int = 500
    importtime_runs: int = 5
    single_creates: int = 300
    batch_size: int = 100
    batches: int = 3
    simultaneous_schedules: int = 1000

    @classmethod
    def smoke(cls) -> Config:
        """Everything once, with tiny counts: checks that the harness works, measures nothing."""
        return cls(
            quick=True,
            cold_runs=2,
            warm_invocations=20,
            warm_rounds=1,
            warmup=2,
            replays=5,
            importtime_runs=1,
            single_creates=5,
            batch_size=5,
            batches=1,
            simultaneous_schedules=10,
        )


def machine_info(python: str) -> dict[str, Any]:
    """What the numbers were measured on."""
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text(encoding="utf-8").splitlines() if cpuinfo.is_file() else []
    cpu = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "unknown CPU")
    version = [python, "-c", "import platform; print(platform.python_version())"]
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "machine": platform.machine(),
        "os": f"{platform.system()} {platform.release()}",
        "python": subprocess.run(version, capture_output=True, text=True, check=True).stdout.strip(),
    }


def run(cfg: Config) -> dict[str, Any]:
    """Build the artifacts, measure every figure, and return the results."""
    started = time.monotonic()
    python = build.python313()
    art = build.build(python, log=measure.log)
    vs = measure.variants(art)
    results: dict[str, Any] = {
        "schema": 2,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info(python),
        "config": asdict(cfg),
        "variants": {
            k: {"label": v.label, "handler": v.handler}
            for k, v in {**vs, "scheduler": measure.scheduler_variant(art)}.items()
        },
    }
    measure.log("sizes")
    results["sizes"] = measure.measure_sizes(art)
    measure.log("the task ledger's DynamoDB requests per path")
    results["ledger_calls"] = ledger_calls.measure()
    results["analysis"] = {**measure.threadpool_dependencies(), "xray_sdk_in_layer": measure.xray_sdk_in(art.layer)}

    from localcloud.endpoint import moto_endpoint

    imported: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp, moto_endpoint() as endpoint:
        h = measure.Harness(python, cfg, Path(tmp), endpoint.environment())
        results["cold_start"] = measure.measure_cold(h, vs)
        results["warm"] = measure.measure_warm(h, vs)
        results["warm"]["callback:enabled"]["idempotency_record_bytes"] = measure.idempotency_record_bytes(endpoint)
        results["warm"]["callback:enabled"]["ledger_item_bytes"] = measure.ledger_item_bytes(endpoint)
        measure.log("import time breakdown")
        results["import_time"] = measure.measure_importtime(h, vs, imported=imported)
        measure.log("scheduling throughput")
        results["scheduling"] = measure.measure_scheduling(h, art, endpoint, imported=imported)
        results["scheduling"]["task_item_bytes"] = measure.ledger_item_bytes(endpoint)["TASK"]
        measure.log(f"scheduling throughput, {MODELLED_RTT_MS:g} ms modelled round trip per AWS call")
        results["scheduling_modelled"] = measure.measure_scheduling(
            h, art, endpoint, imported=imported, aws_latency_ms=MODELLED_RTT_MS
        )
    results["sizes"]["layer_imported_bytecode_only"] = measure.selective_bytecode_size(art, imported)
    measure.log("local dispatcher lateness")
    results["dispatcher"] = measure.measure_dispatcher(cfg)
    results["callback_memory_mb"] = measure.callback_memory_mb()
    results["elapsed_seconds"] = round(time.monotonic() - started, 1)
    return results


def main(argv: list[str] | None = None) -> int:
    """Command line: `python -m bench.run [--quick] [--only dispatcher | --render] [--docs-dir D] [--results-dir D]`."""
    parser = argparse.ArgumentParser(prog="make bench", description=(__doc__ or "").split("\n\n")[0])
    quick = bool(os.environ.get("BENCH_QUICK"))
    parser.add_argument("--quick", action="store_true", default=quick, help="smoke run: tiny counts")
    parser.add_argument(
        "--docs-dir", type=Path, help="where the docs and JSON go (default docs/; bench/results/ with --quick)"
    )
    parser.add_argument(
        "--results-dir", type=Path, default=RESULTS, help="where the JSON also goes (default bench/results/)"
    )
    parser.add_argument("--only", choices=["dispatcher"], help="re-measure this part only, into the last results")
    parser.add_argument("--render", action="store_true", help="measure nothing: rewrite the docs from the last results")
    args = parser.parse_args(argv)
    cfg = Config.smoke() if args.quick else Config()
    docs_dir = args.docs_dir or (RESULTS if cfg.quick else DOCS)
    if args.render or args.only:
        results = json.loads((docs_dir / "performance.json").read_text(encoding="utf-8"))
    if args.only:
        measure.log("local dispatcher lateness")
        measured_at = datetime.now(UTC).isoformat(timespec="seconds")
        results["dispatcher"] = {**measure.measure_dispatcher(cfg), "measured_at": measured_at}
    elif not args.render:
        results = run(cfg)
    if not args.render:  # performance.json in both directories
        for directory in {docs_dir, args.results_dir}:
            directory.mkdir(parents=True, exist_ok=True)
            (directory / "performance.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    render.write_docs(results, docs_dir)
    for target in render.targets(results):
        status = {True: "met", False: "MISSED", None: "not measured"}[target["met"]]
        measure.log(f"{status:>12}: {target['target']}: {target['measured']} (goal {target['goal']})")
    measure.log(f"wrote the tables of {docs_dir / 'performance.md'} and cost.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
