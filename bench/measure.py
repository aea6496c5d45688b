"""The figures of `make bench`: each function measures one and returns it as JSON-able data."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import os
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench import build, cost, sizes
from bench.events import batch_events, callback_events, create_events, write_events
from bench.lambda_runs import Variant, cold_starts, import_self_times, lambda_environment, run_handler, top_level_names
from bench.stats import median, median_ratio_interval, ratio, summarize

if TYPE_CHECKING:
    from bench.run import Config

MS = 1e6  # nanoseconds per millisecond


def log(message: str) -> None:
    """Progress on stderr."""
    print(f"bench: {message}", file=sys.stderr, flush=True)


def _ms(values_ns: list[int]) -> list[float]:
    return [v / MS for v in values_ns]


@dataclass(frozen=True)
class Harness:
    """What every run of a handler needs: the interpreter, the counts, a scratch directory, the endpoint."""

    python: str
    cfg: Config
    work: Path
    endpoint_env: dict[str, str]

    def env(self, v: Variant, *, idempotency: bool = True) -> dict[str, str]:
        """Lambda's environment for `v`, HOME an empty directory."""
        (self.work / "home").mkdir(exist_ok=True)
        return lambda_environment(v, self.endpoint_env, home=self.work / "home", idempotency=idempotency)

    def events(self, tag: str, events: list[dict[str, Any]]) -> Path:
        return write_events(self.work / f"{tag}.json", events)

    def run(self, v: Variant, events: Path, env: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
        """`run_handler` in the scratch directory."""
        return run_handler(self.python, v, env or self.env(v), events, workdir=self.work, **spec)


def variants(art: build.Artifacts) -> dict[str, Variant]:
    """Every deployable the benchmark runs, keyed by its name in the results."""
    rt, guide, ours = art.runtime, "lambda_handler.lambda_handler", "callback_app.handler.lambda_handler"
    return {
        v.name: v
        for v in (
            Variant("guide", "guide's callback, guide's packaging (pip -t, no bytecode)", guide, (art.guide, rt)),
            Variant("guide_compiled", "guide's callback, with our bytecode step", guide, (art.guide_compiled, rt)),
            Variant("callback", "callback (ours), our build (bytecode)", ours, (art.callback, art.layer, rt), True),
            Variant(
                "callback_sam",
                "callback (ours), as `sam build` ships it (no bytecode)",
                ours,
                (art.callback_sam, art.layer_sam, rt),
                True,
            ),
            Variant(
                "resolver",
                "Powertools APIGatewayRestResolver, same work, our build",
                "resolver_handler.lambda_handler",
                (art.resolver, art.layer, rt),
                True,
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
    paths = (art.scheduler, art.layer, art.runtime)
    return Variant("scheduler", "scheduler API, our build", "scheduler_app.handler.lambda_handler", paths)


def measure_cold(h: Harness, vs: dict[str, Variant]) -> dict[str, Any]:
    """Cold starts, interleaved; each run delivers a new occurrence (a first delivery, not a replay): the same
    event for every variant within a round, the idempotent ones their own task id per variant."""
    files: dict[str, Path] = {}

    def events_for(v: Variant, r: int) -> Path:
        tag = f"cold-{v.name}-{r}" if v.idempotent else f"cold-{r}"
        if tag not in files:
            files[tag] = h.events(tag, callback_events(tag, 1))
        return files[tag]

    raw = cold_starts(
        h.python, list(vs.values()), h.cfg.cold_runs, env_for=h.env, events_for=events_for, workdir=h.work, progress=log
    )
    out: dict[str, Any] = {}
    for name, runs in raw.items():
        init, first = _ms([r["init_ns"] for r in runs]), _ms([r["first_ns"] for r in runs])
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
    guide = out["guide"]
    for fig in out.values():
        fig["vs_guide"] = {
            "total": ratio(fig["total_ms"]["p50"], guide["total_ms"]["p50"]),
            "total_ci95": median_ratio_interval(fig["samples_ms"]["total"], guide["samples_ms"]["total"]),
            "init": ratio(fig["init_ms"]["p50"], guide["init_ms"]["p50"]),
            "first_invoke": ratio(fig["first_invoke_ms"]["p50"], guide["first_invoke_ms"]["p50"]),
        }
    return out


def measure_warm(h: Harness, vs: dict[str, Variant]) -> dict[str, Any]:
    """Per-invocation latency in one warm container per round, idempotency storage disabled and enabled."""
    quiet = {"POWERTOOLS_LOG_LEVEL": "WARNING"}  # what the INFO lines cost, by leaving them out
    # (key, variant, idempotency storage: None = the handler has none, extra environment)
    plan: list[tuple[str, str, bool | None, dict[str, str]]] = [
        ("guide", "guide", None, {}),
        ("bare", "bare", None, {}),
        ("callback:disabled", "callback", False, {}),
        ("callback:disabled:warning", "callback", False, quiet),
        ("resolver:disabled", "resolver", False, {}),
        ("callback:enabled", "callback", True, {}),
        ("resolver:enabled", "resolver", True, {}),
    ]
    cfg, rounds = h.cfg, max(1, h.cfg.warm_rounds)
    per_round = cfg.warm_invocations // rounds
    raws: dict[str, list[dict[str, Any]]] = {key: [] for key, *_ in plan}
    for r in range(rounds):  # interleaved: every handler once per round
        for key, name, idempotency, extra in plan:
            tag = f"warm-{key.replace(':', '-')}-r{r}"
            events = h.events(tag, callback_events(tag, 1 + cfg.warmup + per_round))
            env = h.env(vs[name], idempotency=idempotency is not False) | extra
            replay = cfg.replays if idempotency and r == rounds - 1 else 0
            raws[key].append(
                h.run(vs[name], events, env, mode="warm", warmup=cfg.warmup, count=per_round, replay=replay)
            )
    out: dict[str, Any] = {}
    for key, name, idempotency, extra in plan:
        runs, statuses = raws[key], dict[str, int]()
        for status, count in ((s, c) for run in runs for s, c in run["statuses"].items()):
            statuses[status] = statuses.get(status, 0) + count
        durations = [d for run in runs for d in _ms(run["durations_ns"])]
        fig: dict[str, Any] = {
            "variant": name,
            "idempotency": "n/a" if idempotency is None else ("enabled" if idempotency else "disabled"),
            "environment": extra,
            "rounds": rounds,
            "ms": summarize(durations),
            "billed_ms_mean": cost.billed_ms(durations),
            "statuses": statuses,
            "log_bytes_per_invocation": sum(r["log_bytes"] for r in runs) / sum(r["invocations"] for r in runs),
        }
        if "replay_ns" in (last := runs[-1]):
            fig |= {"replay_ms": summarize(_ms(last["replay_ns"])), "replay_statuses": last["replay_statuses"]}
        out[key] = fig
        log(f"warm {key}: p50 {fig['ms']['p50']:.3f} ms, p99 {fig['ms']['p99']:.3f} ms")
    for fig in out.values():
        fig["p50_vs_guide"] = ratio(fig["ms"]["p50"], out["guide"]["ms"]["p50"])
    return out


def measure_importtime(h: Harness, vs: dict[str, Variant], *, imported: set[str]) -> dict[str, Any]:
    """Where init and the first invocation spend their time: ``-X importtime`` self time per package
    (importtime adds its own overhead, so these sum to more than the cold-start figures: shares, not totals)."""
    samples: dict[str, list[dict[str, dict[str, float]]]] = {"guide": [], "callback": []}
    for r in range(h.cfg.importtime_runs):
        for name, runs in samples.items():
            v, tag = vs[name], f"importtime-{name}-{r}"
            raw = h.run(v, h.events(tag, callback_events(tag, 1)), importtime=True, report_modules=name == "callback")
            runs.append(import_self_times(raw["importtime_stderr"], top_level_names(v.paths)))
            imported.update(layer_sources(raw.get("module_files", []), v.paths[1]))
    out: dict[str, Any] = {}
    for name, runs in samples.items():
        out[name] = {}
        for phase in ("init", "first_invoke"):
            packages = {pkg for run in runs for pkg in run[phase]}
            medians = {pkg: median([run[phase].get(pkg, 0.0) for run in runs]) for pkg in packages}
            out[name][phase] = dict(sorted(medians.items(), key=lambda kv: -kv[1]))
    return out


def measure_scheduling(
    h: Harness, art: build.Artifacts, endpoint: Any, *, imported: set[str], aws_latency_ms: float = 0.0
) -> dict[str, Any]:
    """Creates per second through the scheduler's entry point, one per request vs `batch_size` per request.

    Both run in one warm container against the local endpoint; the first request of each run warms it
    and is not counted. Every schedule is then counted in the group, so a throughput is only reported
    for creates that happened. With `aws_latency_ms`, each AWS call first waits that long (a modelled
    network round trip; see runner.model_network_latency).
    """
    cfg, v, tag = h.cfg, scheduler_variant(art), f"rtt{aws_latency_ms:g}" if aws_latency_ms else "loopback"
    before = count_schedules(endpoint)
    singles = h.events(f"single-{tag}", create_events(f"single-{tag}", cfg.single_creates + 1))
    batches = h.events(f"batch-{tag}", batch_events(f"batch-{tag}", cfg.batches + 1, cfg.batch_size))
    single = h.run(
        v, singles, mode="warm", count=cfg.single_creates, report_modules=True, aws_latency_ms=aws_latency_ms
    )
    imported.update(layer_sources(single["module_files"], art.layer))
    batch = h.run(v, batches, mode="warm", count=cfg.batches, keep_responses=True, aws_latency_ms=aws_latency_ms)
    out: dict[str, Any] = {"aws_latency_ms": aws_latency_ms}
    for key, raw, requests, size in (
        ("single", single, cfg.single_creates, 1),
        ("batch", batch, cfg.batches, cfg.batch_size),
    ):
        durations = _ms(raw["durations_ns"])
        out[key] = {
            "requests": requests,
            **({"batch_size": size} if key == "batch" else {}),
            "creates": requests * size,
        }
        out[key] |= {
            "seconds": sum(raw["durations_ns"]) / 1e9,
            "creates_per_second": requests * size / (sum(raw["durations_ns"]) / 1e9),
            "request_ms": summarize(durations),
            "billed_ms_mean": cost.billed_ms(durations),
            "log_bytes_per_request": raw["log_bytes"] / raw["invocations"],
            "statuses": raw["statuses"],
        }
    out["batch"]["item_statuses"] = batch_item_statuses(batch["responses"])
    first = json.loads(batch["first_response"].get("body") or "{}").get("items", [])
    expected = (cfg.single_creates + 1) + (cfg.batches + 1) * cfg.batch_size
    out["schedules_in_group"] = {"expected": expected, "found": count_schedules(endpoint) - before}
    # The first request of a fresh container is not timed, but what it did is reported.
    out["first_batch_of_a_fresh_container"] = {
        "item_statuses": batch_item_statuses([batch["first_response"]]),
        "errors": sorted({str(item["body"].get("detail")) for item in first if item["status"] >= 400})[:3],
    }
    out["speedup"] = ratio(out["batch"]["creates_per_second"], out["single"]["creates_per_second"])
    return out


def batch_item_statuses(responses: list[dict[str, Any]]) -> dict[str, int]:
    """How many batch items were answered with each status."""
    counts: dict[str, int] = {}
    for item in (i for response in responses for i in json.loads(response.get("body") or "{}").get("items", [])):
        counts[str(item["status"])] = counts.get(str(item["status"]), 0) + 1
    return counts


def _client(endpoint: Any) -> dict[str, Any]:
    """boto3.client's arguments for the local endpoint."""
    env = endpoint.environment()
    keys = {"aws_access_key_id": env["AWS_ACCESS_KEY_ID"], "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"]}
    return {"endpoint_url": endpoint.url, "region_name": env["AWS_REGION"], **keys}


def count_schedules(endpoint: Any) -> int:
    """How many schedules the local endpoint holds in the stack's group."""
    import boto3

    group = endpoint.environment()["SCHEDULE_GROUP_NAME"]
    pages = boto3.client("scheduler", **_client(endpoint)).get_paginator("list_schedules").paginate(GroupName=group)
    return sum(len(page["Schedules"]) for page in pages)


def idempotency_record_bytes(endpoint: Any) -> int | None:
    """The largest idempotency record in the local table, by DynamoDB's item-size rules (names + values)."""
    # Powertools' records only (`task#...`).
    return _largest_item(endpoint, "IDEMPOTENCY_TABLE_NAME", lambda item: item["id"]["S"].startswith("task#"))


def ledger_item_bytes(endpoint: Any) -> dict[str, int | None]:
    """The largest task item and run item in the local task ledger (written by the runs measured)."""
    return {
        kind: _largest_item(endpoint, "TASK_LEDGER_TABLE", lambda item, k=kind: item["sk"]["S"].startswith(k))
        for kind in ("TASK", "RUN#")
    }


def _largest_item(endpoint: Any, table_variable: str, keep: Any) -> int | None:
    import boto3

    pages = (
        boto3.client("dynamodb", **_client(endpoint))
        .get_paginator("scan")
        .paginate(TableName=endpoint.environment()[table_variable])
    )
    items = [item for page in pages for item in page["Items"] if keep(item)][:50]

    def value_bytes(value: Mapping[str, Any]) -> int:
        (kind, raw), *_ = value.items()
        if kind == "N":  # DynamoDB: about one byte per two significant digits, plus one
            return len(str(raw).lstrip("-").replace(".", "")) // 2 + 1
        if kind in ("BOOL", "NULL"):
            return 1
        return len(raw if isinstance(raw, bytes) else str(raw).encode())

    totals = [sum(len(name.encode()) + value_bytes(v) for name, v in item.items()) for item in items]
    return max(totals) if totals else None


def measure_sizes(art: build.Artifacts) -> dict[str, Any]:
    """Unzipped and zipped bytes of each artifact; the layer in its arm64 build, as deployed."""
    layer = sizes.measure(art.layer_arm64, prefix="python")
    callback, scheduler = sizes.measure(art.callback), sizes.measure(art.scheduler)
    deployables = {"callback + layer": callback, "scheduler + layer": scheduler}
    return {
        "artifacts": {
            "layer (arm64, with bytecode)": layer,
            "layer (arm64, as sam build ships it)": sizes.measure(art.layer_arm64, prefix="python", bytecode=False),
            "callback function": callback,
            "scheduler function": scheduler,
            "guide's package (x86_64, the guide's default)": sizes.measure(art.guide),
        },
        "deployables": {
            name: {k: fn[k] + layer[k] for k in ("unzipped_bytes", "zipped_bytes")} for name, fn in deployables.items()
        },
        "limits": {"unzipped_bytes": sizes.UNZIPPED_LIMIT, "zipped_bytes": sizes.ZIPPED_LIMIT},
        "sam_build": sam_build_sizes(),
    }


def sam_build_sizes() -> dict[str, Any] | None:
    """The sizes of `.aws-sam/build` (scripts/build.sh: `sam build` + bytecode), when one exists here: a
    cross-check, with its date (the benchmark does not build it: that needs the SAM CLI)."""
    root, names = build.ROOT / ".aws-sam" / "build", ("SharedLayer", "CallbackFunction", "SchedulerFunction")
    if not all((root / name).is_dir() for name in names):
        return None
    built = datetime.fromtimestamp((root / "SharedLayer").stat().st_mtime, UTC).isoformat(timespec="minutes")
    figures = {name: sizes.measure(root / name) for name in names}
    return {
        "built_at": built,
        "artifacts": {n: {k: v for k, v in f.items() if k != "zipped_by_package"} for n, f in figures.items()},
    }


def layer_sources(module_files: list[str], layer: Path) -> set[str]:
    """The layer's source files among `module_files`, relative to the layer (`fastapi/routing.py`)."""
    paths = (Path(name) for name in module_files)
    return {p.relative_to(layer).as_posix() for p in paths if p.suffix == ".py" and p.is_relative_to(layer)}


def selective_bytecode_size(art: build.Artifacts, imported: set[str]) -> dict[str, Any] | None:
    """The arm64 layer's size with bytecode only for the modules the two functions imported."""
    if not imported:
        return None
    fig = sizes.measure(art.layer_arm64, prefix="python", bytecode=imported)
    del fig["zipped_by_package"]
    return fig | {"compiled_modules": len(imported)}


def threadpool_dependencies() -> dict[str, Any]:
    """The FastAPI dependencies each function's app runs in the thread pool (plain `def`, not generators):
    FastAPI calls such a dependency with `run_in_threadpool` on every request that uses it."""
    from fastapi.routing import APIRoute

    def in_threadpool(call: Any) -> bool:
        target = call if inspect.isfunction(call) or inspect.ismethod(call) else getattr(call, "__call__", call)  # noqa: B004
        checks = (inspect.iscoroutinefunction, inspect.isgeneratorfunction, inspect.isasyncgenfunction)
        return not any(check(inspect.unwrap(target)) for check in checks)

    def walk(dependant: Any, names: set[str]) -> set[str]:
        for dep in dependant.dependencies:
            if dep.call is not None and in_threadpool(dep.call):
                names.add(getattr(dep.call, "__name__", repr(dep.call)))
            walk(dep, names)
        return names

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
        routes = [route for route in app.routes if isinstance(route, APIRoute)]
        out[key] = sorted(set[str]().union(*(walk(route.dependant, set()) for route in routes)))
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
            args = [sys.executable, "-m", "bench.dispatch", str(cfg.simultaneous_schedules), str(out), str(concurrency)]
            # stdout: the callback's own log lines
            proc = subprocess.run(
                args,
                cwd=build.ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
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
