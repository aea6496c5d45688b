"""`make bench`: every figure of docs/performance.md and docs/cost.md, measured side by side in one run.

    python -m bench.run                    # full run: docs/performance.json, then the tables of both docs
    python -m bench.run --quick            # smoke run (also BENCH_QUICK=1): tiny counts, writes bench/results/ only
    python -m bench.run --only dispatcher  # re-measure the local dispatcher alone, keep the other figures
    python -m bench.run --only heat        # re-measure the heat model alone (make bench-heat; --heat-creates N)
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
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import build, checks, dispatch, heat, ledger_calls, render, sizes, stored
from bench.config import MODELLED_RTT_MS, Config, log
from bench.lambda_runs import Harness, scheduler_variant, variants
from bench.measure import imported_layer_sources, measure_cold, measure_importtime, measure_warm
from bench.scheduling import measure_scheduling

DOCS, RESULTS = build.ROOT / "docs", build.ROOT / "bench" / "results"


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


def callback_memory_mb() -> int:
    """The callback's memory size in template.yaml (its own, else the Globals')."""
    from localcloud.template import load_template

    template = load_template()
    own = template["Resources"]["CallbackFunction"]["Properties"].get("MemorySize")
    return int(own or template["Globals"]["Function"]["MemorySize"])


def run(cfg: Config) -> dict[str, Any]:
    """Build the artifacts, measure every figure, and return the results."""
    from localcloud.endpoint import moto_endpoint

    started, python = time.monotonic(), build.python313()
    art = build.build(python, log=log)
    vs, scheduler = variants(art), scheduler_variant(art)
    results: dict[str, Any] = {
        "schema": 2,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info(python),
        "config": asdict(cfg),
        "variants": {k: {"label": v.label, "handler": v.handler} for k, v in {**vs, "scheduler": scheduler}.items()},
    }
    log("sizes")
    results["sizes"] = sizes.measure_sizes(art)
    log("the task ledger's DynamoDB requests per path")
    results["ledger_calls"] = ledger_calls.measure()
    log(f"the heat model: {cfg.heat_creates} creates by one service role, then their runs")
    results["heat"] = heat.measure(cfg.heat_creates)
    results["analysis"] = {**checks.threadpool_dependencies(), "xray_sdk_in_layer": checks.xray_sdk_in(art.layer)}
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp, moto_endpoint() as endpoint:
        h = Harness(python, cfg, Path(tmp), endpoint.environment())
        results["cold_start"] = measure_cold(h, vs)
        results["warm"] = measure_warm(h, vs)
        results["warm"]["callback:enabled"]["idempotency_record_bytes"] = stored.idempotency_record_bytes(endpoint)
        results["warm"]["callback:enabled"]["ledger_item_bytes"] = stored.ledger_item_bytes(endpoint)
        log("import time breakdown")
        results["import_time"] = measure_importtime(h, vs)
        imported = imported_layer_sources(h, vs["callback"], scheduler)
        log("scheduling throughput")
        results["scheduling"] = measure_scheduling(h, scheduler, endpoint)
        results["scheduling"]["task_item_bytes"] = stored.ledger_item_bytes(endpoint)["TASK"]
        log(f"scheduling throughput, {MODELLED_RTT_MS:g} ms modelled round trip per AWS call")
        results["scheduling_modelled"] = measure_scheduling(h, scheduler, endpoint, aws_latency_ms=MODELLED_RTT_MS)
    results["sizes"]["layer_imported_bytecode_only"] = sizes.selective_bytecode_size(art, imported)
    log("local dispatcher lateness")
    results["dispatcher"] = dispatch.measure_dispatcher(cfg.simultaneous_schedules)
    results["callback_memory_mb"] = callback_memory_mb()
    results["elapsed_seconds"] = round(time.monotonic() - started, 1)
    return results


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make bench", description=(__doc__ or "").split("\n\n")[0])
    quick = bool(os.environ.get("BENCH_QUICK"))
    parser.add_argument(
        "--quick", action="store_true", default=quick, help="smoke run: tiny counts, bench/results/ only"
    )
    parser.add_argument(
        "--only", choices=["dispatcher", "heat"], help="re-measure this part only, into the last results"
    )
    parser.add_argument("--heat-creates", type=int, help="the heat model's creates (default: the config's)")
    parser.add_argument("--render", action="store_true", help="measure nothing: rewrite the docs from the last results")
    return parser.parse_args(argv)


def _results(args: argparse.Namespace, cfg: Config, docs_dir: Path) -> dict[str, Any]:
    """A full run's results, or the last results with the dispatcher measured again (--only), or as they are."""
    if not (args.render or args.only):
        return run(cfg)
    results: dict[str, Any] = json.loads((docs_dir / "performance.json").read_text(encoding="utf-8"))
    measured_at = datetime.now(UTC).isoformat(timespec="seconds")
    if args.only == "dispatcher":
        log("local dispatcher lateness")
        results["dispatcher"] = {**dispatch.measure_dispatcher(cfg.simultaneous_schedules), "measured_at": measured_at}
    elif args.only == "heat":
        log(f"the heat model: {cfg.heat_creates} creates by one service role, then their runs")
        results["heat"] = {**heat.measure(cfg.heat_creates), "measured_at": measured_at}
    return results


def main(argv: list[str] | None = None) -> int:
    """Command line: `python -m bench.run [--quick] [--only dispatcher | --render]`."""
    args = _arguments(argv)
    cfg = Config.smoke() if args.quick else Config()
    if args.heat_creates:
        cfg = replace(cfg, heat_creates=args.heat_creates)
    docs_dir = RESULTS if cfg.quick else DOCS
    results = _results(args, cfg, docs_dir)
    if not args.render:  # performance.json in both directories
        for directory in {docs_dir, RESULTS}:
            directory.mkdir(parents=True, exist_ok=True)
            (directory / "performance.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    render.write_docs(results, docs_dir)
    for target in render.targets(results):
        status = {True: "met", False: "MISSED", None: "not measured"}[target["met"]]
        log(f"{status:>12}: {target['target']}: {target['measured']} (goal {target['goal']})")
    log(f"wrote the tables of {docs_dir / 'performance.md'} and cost.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
