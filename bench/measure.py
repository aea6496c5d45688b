"""The figures of `make bench`: each function measures one and returns it as JSON-able data."""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench import build, cost, sizes
from bench.lambda_runs import (
    Variant,
    cold_starts,
    import_self_times,
    lambda_environment,
    run_handler,
    top_level_names,
)
from bench.stats import median, median_ratio_interval, ratio, summarize

if TYPE_CHECKING:
    from bench.run import Config

MS = 1e6  # nanoseconds per millisecond


def log(message: str) -> None:
    """Progress on stderr."""
    import sys

    print(f"bench: {message}", file=sys.stderr, flush=True)


def variants(art: build.Artifacts) -> dict[str, Variant]:
    """Every deployable the benchmark runs, keyed by its name in the results."""
    rt = art.runtime
    return {
        v.name: v
        for v in (
            Variant(
                "guide",
                "guide's callback, guide's packaging (pip -t, no bytecode)",
                "lambda_handler.lambda_handler",
                (art.guide, rt),
            ),
            Variant(
                "guide_compiled",
                "guide's callback, with our bytecode step",
                "lambda_handler.lambda_handler",
                (art.guide_compiled, rt),
            ),
            Variant(
                "callback",
                "callback (ours), our build (bytecode)",
                "callback_app.handler.lambda_handler",
                (art.callback, art.layer, rt),
                idempotent=True,
            ),
            Variant(
                "callback_sam",
                "callback (ours), as `sam build` ships it (no bytecode)",
                "callback_app.handler.lambda_handler",
                (art.callback_sam, art.layer_sam, rt),
                idempotent=True,
            ),
            Variant(
                "resolver",
                "Powertools APIGatewayRestResolver, same work, our build",
                "resolver_handler.lambda_handler",
                (art.resolver, art.layer, rt),
                idempotent=True,
            ),
            Variant(
                "bare",
                "bare handler (json.loads, return a dict): the floor",
                "bare_handler.lambda_handler",
                (art.bare, rt),
            ),
        )
    }


def scheduler_variant(art: build.Artifacts) -> Variant:
    """The scheduler function (the API), our build."""
    return Variant(
        "scheduler",
        "scheduler API, our build",
        "scheduler_app.handler.lambda_handler",
        (art.scheduler, art.layer, art.runtime),
    )


def measure_scheduling(
    python: str,
    art: build.Artifacts,
    endpoint: Any,
    cfg: Config,
    work: Path,
    *,
    imported: set[str],
    aws_latency_ms: float = 0.0,
) -> dict[str, Any]:
    """Creates per second through the scheduler's entry point, one per request vs `batch_size` per request.

    Both run in one warm container against the local endpoint; the first request of each run warms it
    and is not counted. Every schedule is then counted in the group, so a throughput is only reported
    for creates that happened. With `aws_latency_ms`, each AWS call first waits that long (a modelled
    network round trip; see runner.model_network_latency).
    """
    tag = f"rtt{aws_latency_ms:g}" if aws_latency_ms else "loopback"
    before = count_schedules(endpoint)
    from bench.events import batch_events, create_events, write_events

    v = scheduler_variant(art)
    home = work / "home"
    home.mkdir(exist_ok=True)
    env = lambda_environment(v, endpoint.environment(), home=home)
    single_events = write_events(work / f"single-{tag}.json", create_events(f"single-{tag}", cfg.single_creates + 1))
    batch_file = write_events(work / f"batch-{tag}.json", batch_events(f"batch-{tag}", cfg.batches + 1, cfg.batch_size))
    single = run_handler(
        python,
        v,
        env,
        single_events,
        mode="warm",
        count=cfg.single_creates,
        workdir=work,
        report_modules=True,
        aws_latency_ms=aws_latency_ms,
    )
    imported.update(layer_sources(single["module_files"], art.layer))
    batch = run_handler(
        python,
        v,
        env,
        batch_file,
        mode="warm",
        count=cfg.batches,
        workdir=work,
        keep_responses=True,
        aws_latency_ms=aws_latency_ms,
    )
    item_statuses = batch_item_statuses(batch["responses"])
    first_batch = batch_item_statuses([batch["first_response"]])
    first_errors = sorted(
        {
            str(item["body"].get("detail"))
            for item in json.loads(batch["first_response"].get("body") or "{}").get("items", [])
            if item["status"] >= 400
        }
    )
    created = count_schedules(endpoint) - before
    expected = (cfg.single_creates + 1) + (cfg.batches + 1) * cfg.batch_size
    single_s = sum(single["durations_ns"]) / 1e9
    batch_s = sum(batch["durations_ns"]) / 1e9
    single_rate = cfg.single_creates / single_s
    batch_rate = cfg.batches * cfg.batch_size / batch_s
    return {
        "aws_latency_ms": aws_latency_ms,
        "single": {
            "requests": cfg.single_creates,
            "creates": cfg.single_creates,
            "seconds": single_s,
            "creates_per_second": single_rate,
            "request_ms": summarize(_ms(single["durations_ns"])),
            "billed_ms_mean": cost.billed_ms(_ms(single["durations_ns"])),
            "log_bytes_per_request": single["log_bytes"] / single["invocations"],
            "statuses": single["statuses"],
        },
        "batch": {
            "requests": cfg.batches,
            "batch_size": cfg.batch_size,
            "creates": cfg.batches * cfg.batch_size,
            "seconds": batch_s,
            "creates_per_second": batch_rate,
            "request_ms": summarize(_ms(batch["durations_ns"])),
            "billed_ms_mean": cost.billed_ms(_ms(batch["durations_ns"])),
            "log_bytes_per_request": batch["log_bytes"] / batch["invocations"],
            "statuses": batch["statuses"],
            "item_statuses": item_statuses,
        },
        "schedules_in_group": {"expected": expected, "found": created},
        # The first request of a fresh container is not timed, but what it did is reported.
        "first_batch_of_a_fresh_container": {"item_statuses": first_batch, "errors": first_errors[:3]},
        "speedup": ratio(batch_rate, single_rate),
    }


def batch_item_statuses(responses: list[dict[str, Any]]) -> dict[str, int]:
    """How many batch items were answered with each status."""
    counts: dict[str, int] = {}
    for response in responses:
        for item in json.loads(response.get("body") or "{}").get("items", []):
            counts[str(item["status"])] = counts.get(str(item["status"]), 0) + 1
    return counts


def count_schedules(endpoint: Any) -> int:
    """How many schedules the local endpoint holds in the stack's group."""
    import boto3

    env = endpoint.environment()
    client = boto3.client(
        "scheduler",
        endpoint_url=endpoint.url,
        region_name=env["AWS_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )
    pages = client.get_paginator("list_schedules").paginate(GroupName=env["SCHEDULE_GROUP_NAME"])
    return sum(len(page["Schedules"]) for page in pages)


def _ms(values_ns: list[int]) -> list[float]:
    return [v / MS for v in values_ns]


def measure_cold(
    python: str, vs: dict[str, Variant], endpoint_env: dict[str, str], cfg: Config, work: Path
) -> dict[str, Any]:
    """Cold starts, interleaved; each run delivers a new occurrence (a first delivery, not a replay)."""
    from bench.events import callback_events, write_events

    home = work / "home"
    home.mkdir(exist_ok=True)
    files = {r: write_events(work / f"cold-{r}.json", callback_events(f"cold-{r}", 1)) for r in range(cfg.cold_runs)}
    # The same event for every variant within a round; the idempotent ones get their own task id per variant.
    per_variant: dict[tuple[str, int], Path] = {}

    def events_for(v: Variant, r: int) -> Path:
        if not v.idempotent:
            return files[r]
        key = (v.name, r)
        if key not in per_variant:
            per_variant[key] = write_events(work / f"cold-{v.name}-{r}.json", callback_events(f"cold-{v.name}-{r}", 1))
        return per_variant[key]

    raw = cold_starts(
        python,
        list(vs.values()),
        cfg.cold_runs,
        env_for=lambda v: lambda_environment(v, endpoint_env, home=home),
        events_for=events_for,
        workdir=work,
        progress=log,
    )
    out: dict[str, Any] = {}
    for name, runs in raw.items():
        init = _ms([r["init_ns"] for r in runs])
        first = _ms([r["first_ns"] for r in runs])
        total = [a + b for a, b in zip(init, first, strict=True)]
        out[name] = {
            "runs": len(runs),
            "init_ms": summarize(init),
            "first_invoke_ms": summarize(first),
            "total_ms": summarize(total),
            "peak_rss_mb": summarize([r["peak_rss_kb"] / 1024 for r in runs]),
            "modules_loaded": runs[0]["modules"],
            "first_status": sorted({r["first_status"] for r in runs}),
            "samples_ms": {"init": init, "first_invoke": first, "total": total},
        }
    guide_total = out["guide"]["samples_ms"]["total"]
    for fig in out.values():
        fig["vs_guide"] = {
            "total": ratio(fig["total_ms"]["p50"], out["guide"]["total_ms"]["p50"]),
            "total_ci95": median_ratio_interval(fig["samples_ms"]["total"], guide_total),
            "init": ratio(fig["init_ms"]["p50"], out["guide"]["init_ms"]["p50"]),
            "first_invoke": ratio(fig["first_invoke_ms"]["p50"], out["guide"]["first_invoke_ms"]["p50"]),
        }
    return out


def measure_warm(
    python: str, vs: dict[str, Variant], endpoint_env: dict[str, str], cfg: Config, work: Path
) -> dict[str, Any]:
    """Per-invocation latency in one warm container, idempotency storage disabled and enabled."""
    from bench.events import callback_events, write_events

    home = work / "home"
    home.mkdir(exist_ok=True)
    # (key, variant, idempotency storage: None = the handler has none, extra environment)
    quiet = {"POWERTOOLS_LOG_LEVEL": "WARNING"}  # what the INFO lines cost, by leaving them out
    plan: list[tuple[str, str, bool | None, dict[str, str]]] = [
        ("guide", "guide", None, {}),
        ("bare", "bare", None, {}),
        ("callback:disabled", "callback", False, {}),
        ("callback:disabled:warning", "callback", False, quiet),
        ("resolver:disabled", "resolver", False, {}),
        ("callback:enabled", "callback", True, {}),
        ("resolver:enabled", "resolver", True, {}),
    ]
    rounds = max(1, cfg.warm_rounds)
    per_round = cfg.warm_invocations // rounds
    n = 1 + cfg.warmup + per_round
    durations: dict[str, list[float]] = {key: [] for key, *_ in plan}
    raws: dict[str, list[dict[str, Any]]] = {key: [] for key, *_ in plan}
    for r in range(rounds):  # interleaved: every handler once per round
        for key, name, idempotency, extra in plan:
            v = vs[name]
            tag = f"warm-{key.replace(':', '-')}-r{r}"
            events = write_events(work / f"{tag}.json", callback_events(tag, n))
            env = lambda_environment(v, endpoint_env, home=home, idempotency=idempotency is not False) | extra
            replay = cfg.replays if idempotency and r == rounds - 1 else 0
            raw = run_handler(
                python,
                v,
                env,
                events,
                mode="warm",
                warmup=cfg.warmup,
                count=per_round,
                replay=replay,
                workdir=work,
            )
            durations[key] += _ms(raw["durations_ns"])
            raws[key].append(raw)
    out: dict[str, Any] = {}
    for key, name, idempotency, extra in plan:
        runs = raws[key]
        statuses: dict[str, int] = {}
        for raw in runs:
            for status, count in raw["statuses"].items():
                statuses[status] = statuses.get(status, 0) + count
        fig: dict[str, Any] = {
            "variant": name,
            "idempotency": "n/a" if idempotency is None else ("enabled" if idempotency else "disabled"),
            "environment": extra,
            "rounds": rounds,
            "ms": summarize(durations[key]),
            "billed_ms_mean": cost.billed_ms(durations[key]),
            "statuses": statuses,
            "log_bytes_per_invocation": sum(r["log_bytes"] for r in runs) / sum(r["invocations"] for r in runs),
        }
        last = runs[-1]
        if "replay_ns" in last:
            fig["replay_ms"] = summarize(_ms(last["replay_ns"]))
            fig["replay_statuses"] = last["replay_statuses"]
        out[key] = fig
        log(f"warm {key}: p50 {fig['ms']['p50']:.3f} ms, p99 {fig['ms']['p99']:.3f} ms")
    guide_p50 = out["guide"]["ms"]["p50"]
    for fig in out.values():
        fig["p50_vs_guide"] = ratio(fig["ms"]["p50"], guide_p50)
    return out


def measure_importtime(
    python: str, vs: dict[str, Variant], endpoint_env: dict[str, str], cfg: Config, work: Path, *, imported: set[str]
) -> dict[str, Any]:
    """Where init and the first invocation spend their time: ``-X importtime`` self time per package.

    importtime adds its own overhead, so these sum to more than the cold-start figures; they show
    the shares, not the totals.
    """
    from bench.events import callback_events, write_events

    home = work / "home"
    home.mkdir(exist_ok=True)
    names = ("guide", "callback")
    samples: dict[str, list[dict[str, dict[str, float]]]] = {n: [] for n in names}
    for r in range(cfg.importtime_runs):
        for name in names:
            v = vs[name]
            events = write_events(work / f"importtime-{name}-{r}.json", callback_events(f"importtime-{name}-{r}", 1))
            env = lambda_environment(v, endpoint_env, home=home)
            raw = run_handler(python, v, env, events, workdir=work, importtime=True, report_modules=name == "callback")
            samples[name].append(import_self_times(raw["importtime_stderr"], top_level_names(v.paths)))
            imported.update(layer_sources(raw.get("module_files", []), v.paths[1]))
    out: dict[str, Any] = {}
    for name, runs in samples.items():
        phases: dict[str, dict[str, float]] = {}
        for phase in ("init", "first_invoke"):
            packages = {pkg for run in runs for pkg in run[phase]}
            medians = {pkg: median([run[phase].get(pkg, 0.0) for run in runs]) for pkg in packages}
            phases[phase] = dict(sorted(medians.items(), key=lambda kv: -kv[1]))
        out[name] = phases
    return out


def measure_sizes(art: build.Artifacts) -> dict[str, Any]:
    """Unzipped and zipped bytes of each artifact; the layer in its arm64 build, as deployed."""
    layer = sizes.measure(art.layer_arm64, prefix="python")
    layer_sam = sizes.measure(art.layer_arm64, prefix="python", bytecode=False)
    callback = sizes.measure(art.callback)
    scheduler = sizes.measure(art.scheduler)
    guide = sizes.measure(art.guide)
    deployables = {
        "callback + layer": (callback, layer),
        "scheduler + layer": (scheduler, layer),
    }
    return {
        "artifacts": {
            "layer (arm64, with bytecode)": layer,
            "layer (arm64, as sam build ships it)": layer_sam,
            "callback function": callback,
            "scheduler function": scheduler,
            "guide's package (x86_64, the guide's default)": guide,
        },
        "deployables": {
            name: {
                "unzipped_bytes": fn["unzipped_bytes"] + ly["unzipped_bytes"],
                "zipped_bytes": fn["zipped_bytes"] + ly["zipped_bytes"],
            }
            for name, (fn, ly) in deployables.items()
        },
        "limits": {"unzipped_bytes": sizes.UNZIPPED_LIMIT, "zipped_bytes": sizes.ZIPPED_LIMIT},
        "sam_build": sam_build_sizes(),
    }


def sam_build_sizes() -> dict[str, Any] | None:
    """The sizes of `.aws-sam/build` (scripts/build.sh: `sam build` + bytecode), when one exists here.

    Not built by the benchmark (that needs the SAM CLI); reported, with its date, as a cross-check.
    """
    from datetime import UTC, datetime

    root = build.ROOT / ".aws-sam" / "build"
    names = ("SharedLayer", "CallbackFunction", "SchedulerFunction")
    if not all((root / name).is_dir() for name in names):
        return None
    built = datetime.fromtimestamp((root / "SharedLayer").stat().st_mtime, UTC).isoformat(timespec="minutes")
    figures = {name: sizes.measure(root / name) for name in names}
    for fig in figures.values():
        fig.pop("zipped_by_package")
    return {"built_at": built, "artifacts": figures}


def layer_sources(module_files: list[str], layer: Path) -> set[str]:
    """The layer's source files among `module_files`, relative to the layer (`fastapi/routing.py`)."""
    out = set()
    for name in module_files:
        path = Path(name)
        if path.suffix == ".py" and path.is_relative_to(layer):
            out.add(path.relative_to(layer).as_posix())
    return out


def selective_bytecode_size(art: build.Artifacts, imported: set[str]) -> dict[str, Any] | None:
    """The arm64 layer's size with bytecode only for the modules the two functions imported."""
    if not imported:
        return None
    fig = sizes.measure(art.layer_arm64, prefix="python", bytecode=imported)
    fig["compiled_modules"] = len(imported)
    fig.pop("zipped_by_package")
    return fig


def threadpool_dependencies() -> dict[str, Any]:
    """The FastAPI dependencies each function's app runs in the thread pool (plain `def`, not generators).

    FastAPI calls such a dependency with `run_in_threadpool` on every request that uses it.
    """
    import importlib
    import warnings

    from fastapi.routing import APIRoute

    def in_threadpool(call: Any) -> bool:
        target = call if inspect.isfunction(call) or inspect.ismethod(call) else getattr(call, "__call__", call)  # noqa: B004
        target = inspect.unwrap(target)
        checks = (inspect.iscoroutinefunction, inspect.isgeneratorfunction, inspect.isasyncgenfunction)
        return not any(check(target) for check in checks)

    out: dict[str, Any] = {}
    for key, module in (
        ("callback_sync_dependencies", "callback_app.main"),
        ("scheduler_sync_dependencies", "scheduler_app.main"),
    ):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                app = importlib.import_module(module).app
        except Exception as exc:  # a function that does not import is reported, not fatal
            out[key] = [f"(could not import {module}: {type(exc).__name__})"]
            continue
        names: set[str] = set()

        def walk(dependant: Any, names: set[str] = names) -> None:
            for dep in dependant.dependencies:
                if dep.call is not None and in_threadpool(dep.call):
                    names.add(getattr(dep.call, "__name__", repr(dep.call)))
                walk(dep)

        for route in app.routes:
            if isinstance(route, APIRoute):
                walk(route.dependant)
        out[key] = sorted(names)
    return out


def xray_sdk_in(layer: Path) -> bool:
    """Whether the layer ships the X-Ray SDK (without it Powertools' Tracer stays off)."""
    return (layer / "aws_xray_sdk").is_dir()


def callback_memory_mb() -> int:
    """The callback's memory size in template.yaml (its own, else the Globals')."""
    from localcloud.template import load_template

    template = load_template()
    own = template["Resources"]["CallbackFunction"]["Properties"].get("MemorySize")
    return int(own or template["Globals"]["Function"]["MemorySize"])


def measure_dispatcher(cfg: Config) -> dict[str, Any]:
    """`bench.dispatch` in its own process: the local cloud with `simultaneous_schedules` due at once, at the
    default concurrency, then at concurrency 1 (`concurrency_1`: what more environments change)."""
    import importlib.util
    import os
    import subprocess
    import sys
    import tempfile

    missing = [m for m in ("localcloud.dispatcher", "localcloud.cloud") if importlib.util.find_spec(m) is None]
    if missing:
        return {"reason": f"{', '.join(missing)} does not exist yet"}
    from localcloud.cloud import CloudOptions

    runs: list[dict[str, Any]] = []
    for concurrency in (CloudOptions().concurrency, 1):
        with tempfile.TemporaryDirectory(prefix="bench-dispatch-") as tmp:
            out = Path(tmp) / "dispatch.json"
            # Nothing from this shell reaches AWS: the local cloud sets moto's dummy credentials itself.
            env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | {"HOME": tmp}
            proc = subprocess.run(
                [sys.executable, "-m", "bench.dispatch", str(cfg.simultaneous_schedules), str(out), str(concurrency)],
                cwd=build.ROOT,
                env=env,
                stdout=subprocess.DEVNULL,  # the callback's own log lines
                stderr=subprocess.PIPE,
                text=True,
                check=False,
                timeout=600,
            )
            if proc.returncode != 0 or not out.is_file():
                return {"reason": f"bench.dispatch failed (exit {proc.returncode}): {proc.stderr.strip()[-500:]}"}
            runs.append(json.loads(out.read_text(encoding="utf-8")))
    result, single = runs
    result["concurrency_1"] = {k: single[k] for k in ("start_lateness_s", "fire_lateness_s", "cpu_seconds", "counts")}
    return result


def idempotency_record_bytes(endpoint: Any) -> int | None:
    """The largest idempotency record in the local table, by DynamoDB's item-size rules (names + values)."""
    import boto3

    env = endpoint.environment()
    client = boto3.client(
        "dynamodb",
        endpoint_url=endpoint.url,
        region_name=env["AWS_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )
    # Powertools' records only (`task#...`): the table also holds the invocation counts (`invocations#...`).
    items = [
        item
        for page in client.get_paginator("scan").paginate(TableName=env["IDEMPOTENCY_TABLE_NAME"])
        for item in page["Items"]
        if item["id"]["S"].startswith("task#")
    ][:50]

    def value_bytes(value: Mapping[str, Any]) -> int:
        (kind, raw), *_ = value.items()
        if kind == "N":  # DynamoDB: about one byte per two significant digits, plus one
            return len(str(raw).lstrip("-").replace(".", "")) // 2 + 1
        if kind == "BOOL" or kind == "NULL":
            return 1
        return len(raw if isinstance(raw, bytes) else str(raw).encode())

    totals = [sum(len(name.encode()) + value_bytes(v) for name, v in item.items()) for item in items]
    return max(totals) if totals else None
