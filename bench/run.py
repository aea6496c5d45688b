"""`make bench`: every figure of docs/performance.md, measured side by side in one run.

    python -m bench.run            # full run: docs/performance.md, docs/performance.json, docs/cost.md
    python -m bench.run --quick    # smoke run (also BENCH_QUICK=1): tiny counts, writes bench/results/ only
    python -m bench.run --only dispatcher   # re-measure the local dispatcher alone, keep the other figures
    python -m bench.run --render   # measure nothing: rewrite the docs from docs/performance.json

The JSON also goes to bench/results/ (gitignored). A benchmark is not a test: nothing here fails on
a slow number; a missed target shows as missed in the targets table (docs/performance.md says why, by hand).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import build, measure, render
from bench.lambda_runs import scratch_dir

ROOT = build.ROOT
DOCS = ROOT / "docs"
RESULTS = ROOT / "bench" / "results"
#: An assumed round trip for one AWS API call from Lambda to a regional endpoint. moto on loopback has
#: none, so without it concurrency has nothing to overlap; the loopback figure is reported as well.
MODELLED_RTT_MS = 20.0


@dataclass(frozen=True)
class Config:
    """How much of each figure to measure."""

    quick: bool
    cold_runs: int
    warm_invocations: int
    #: The warm invocations are split into this many rounds, each running every handler in turn, so a
    #: slow phase of a shared machine falls on all handlers alike instead of on one.
    warm_rounds: int
    warmup: int
    replays: int
    importtime_runs: int
    single_creates: int
    batch_size: int
    batches: int
    simultaneous_schedules: int

    @classmethod
    def full(cls) -> Config:
        """The figures the docs report (about four minutes on two cores)."""
        return cls(
            quick=False,
            cold_runs=15,
            warm_invocations=2000,
            warm_rounds=4,
            warmup=100,
            replays=500,
            importtime_runs=5,
            single_creates=300,
            batch_size=100,
            batches=3,
            simultaneous_schedules=1000,
        )

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
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    version = subprocess.run(
        [python, "-c", "import platform; print(platform.python_version())"], capture_output=True, text=True, check=True
    ).stdout.strip()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "machine": platform.machine(),
        "os": f"{platform.system()} {platform.release()}",
        "python": version,
    }


def run(cfg: Config) -> dict[str, Any]:
    """Build the artifacts, measure every figure, and return the results (targets and cost included)."""
    for path in (ROOT / "layers" / "shared", ROOT / "functions" / "callback", ROOT / "functions" / "scheduler"):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
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
    results["analysis"] = {
        **measure.threadpool_dependencies(),
        "xray_sdk_in_layer": measure.xray_sdk_in(art.layer),
    }

    from localcloud.endpoint import moto_endpoint

    imported: set[str] = set()
    with scratch_dir() as tmp, moto_endpoint() as endpoint:
        work = Path(tmp)
        endpoint_env = endpoint.environment()
        results["cold_start"] = measure.measure_cold(python, vs, endpoint_env, cfg, work)
        results["warm"] = measure.measure_warm(python, vs, endpoint_env, cfg, work)
        results["warm"]["callback:enabled"]["idempotency_record_bytes"] = measure.idempotency_record_bytes(endpoint)
        measure.log("import time breakdown")
        results["import_time"] = measure.measure_importtime(python, vs, endpoint_env, cfg, work, imported=imported)
        measure.log("scheduling throughput")
        results["scheduling"] = measure.measure_scheduling(python, art, endpoint, cfg, work, imported=imported)
        measure.log(f"scheduling throughput, {MODELLED_RTT_MS:g} ms modelled round trip per AWS call")
        results["scheduling_modelled"] = measure.measure_scheduling(
            python, art, endpoint, cfg, work, imported=imported, aws_latency_ms=MODELLED_RTT_MS
        )
    results["sizes"]["layer_imported_bytecode_only"] = measure.selective_bytecode_size(art, imported)
    measure.log("local dispatcher lateness")
    results["dispatcher"] = measure.measure_dispatcher(cfg)
    results["callback_memory_mb"] = measure.callback_memory_mb()
    results["elapsed_seconds"] = round(time.monotonic() - started, 1)
    return results


def write_outputs(results: dict[str, Any], *, docs_dir: Path, results_dir: Path) -> None:
    """performance.json in both directories; performance.md and cost.md in `docs_dir`."""
    text = json.dumps(results, indent=1) + "\n"
    for directory in {docs_dir, results_dir}:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "performance.json").write_text(text, encoding="utf-8")
    render.write_docs(results, docs_dir)


def main(argv: list[str] | None = None) -> int:
    """Command line: `python -m bench.run [--quick] [--docs-dir DIR] [--results-dir DIR]`."""
    parser = argparse.ArgumentParser(prog="make bench", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", default=bool(os.environ.get("BENCH_QUICK")), help="smoke run: tiny counts"
    )
    parser.add_argument(
        "--docs-dir", type=Path, help="where the markdown and JSON go (default docs/; bench/results/ with --quick)"
    )
    parser.add_argument(
        "--results-dir", type=Path, default=RESULTS, help="where the JSON also goes (default bench/results/)"
    )
    parser.add_argument("--only", choices=["dispatcher"], help="re-measure this part only, into the last results")
    parser.add_argument("--render", action="store_true", help="measure nothing: rewrite the docs from the last results")
    args = parser.parse_args(argv)
    cfg = Config.smoke() if args.quick else Config.full()
    docs_dir = args.docs_dir or (RESULTS if cfg.quick else DOCS)
    if args.render:
        results = json.loads((docs_dir / "performance.json").read_text(encoding="utf-8"))
        render.write_docs(results, docs_dir)
        measure.log(f"rendered {docs_dir / 'performance.md'} and cost.md from performance.json")
        return 0
    if args.only:
        results = json.loads((docs_dir / "performance.json").read_text(encoding="utf-8"))
        measure.log("local dispatcher lateness")
        measured_at = datetime.now(UTC).isoformat(timespec="seconds")
        results["dispatcher"] = {**measure.measure_dispatcher(cfg), "measured_at": measured_at}
    else:
        results = run(cfg)
    write_outputs(results, docs_dir=docs_dir, results_dir=args.results_dir)
    for target in render.targets(results):
        status = {True: "met", False: "MISSED", None: "not measured"}[target["met"]]
        measure.log(f"{status:>12}: {target['target']}: {target['measured']} (goal {target['goal']})")
    measure.log(
        f"wrote {docs_dir / 'performance.md'}, performance.json and cost.md in {results['elapsed_seconds']:.0f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
