"""docs/performance.md and docs/cost.md from the results of one `make bench` run.

Every number in both files comes from the results dictionary (docs/performance.json); the prose
around them is fixed. A target's note is chosen by whether the run met it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from bench import cost

MIB = 1024 * 1024

#: (key, goal): the issue's targets, as ratios or limits on this machine.
COLD_TARGET = 0.75
WARM_TARGET = 1.2
BATCH_TARGET = 5.0
LATENESS_TARGET_S = 1.0
ZIPPED_TARGET_BYTES = 8 * MIB


def _f(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _x(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}×"


def _mib(value: float) -> str:
    return f"{value / MIB:.2f} MiB"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _met(met: bool | None) -> str:
    return {True: "✅ met", False: "❌ missed", None: "⏳ not measured"}[met]


# -- targets ------------------------------------------------------------------------------------


def evaluate_targets(r: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target: what was measured, whether it was met, and a note (why, and what would close it)."""
    return [
        _cold_target(r),
        _warm_target(r),
        _batch_target(r),
        _lateness_target(r),
        *_size_targets(r),
    ]


def _cold_target(r: dict[str, Any]) -> dict[str, Any]:
    cold = r["cold_start"]
    ours, guide, sam = cold["callback"], cold["guide"], cold.get("callback_sam")
    value = ours["vs_guide"]["total"]
    lo, hi = ours["vs_guide"]["total_ci95"]
    met = value is not None and value <= COLD_TARGET
    note = (
        f"init {ours['init_ms']['p50']:.0f} ms + first invocation {ours['first_invoke_ms']['p50']:.0f} ms, against the "
        f"guide's {guide['init_ms']['p50']:.0f} + {guide['first_invoke_ms']['p50']:.0f} ms"
    )
    if sam is not None:
        note += (
            f"; without our bytecode step (as `sam build` ships it) the callback takes {sam['total_ms']['p50']:.0f} ms"
        )
    if not met:
        extra = _extra_imports(r)
        short = ours["total_ms"]["p50"] - COLD_TARGET * guide["total_ms"]["p50"]
        note += (
            ". Missed because the callback does work the guide does not: its first invocation imports boto3, "
            "creates the DynamoDB client and writes the idempotency record"
            + (f"; the imports only the callback makes are led by {extra}" if extra else "")
            + f". Closing it takes {short:.0f} ms off the callback's cold start (see *Where the cold start goes*)."
        )
    return {
        "key": "cold_start",
        "target": "Callback cold start (init + first invocation, p50) vs the guide's callback as the guide packages it",
        "goal": f"≤ {COLD_TARGET}×",
        "measured": f"{value:.2f}× (95% CI {lo:.2f}–{hi:.2f})",
        "value": value,
        "met": met,
        "note": note,
    }


def _extra_imports(r: dict[str, Any], top: int = 4) -> str:
    """The packages the callback's cold start imports that the guide's does not, largest first."""
    it = r.get("import_time")
    if not it:
        return ""
    guide = set(it["guide"]["init"])
    ours: dict[str, float] = {}
    for phase in ("init", "first_invoke"):
        for pkg, ms in it["callback"][phase].items():
            if pkg not in guide:
                ours[pkg] = ours.get(pkg, 0.0) + ms
    largest = sorted(ours.items(), key=lambda kv: -kv[1])[:top]
    return ", ".join(f"{pkg} ({ms:.0f} ms)" for pkg, ms in largest)


def _warm_target(r: dict[str, Any]) -> dict[str, Any]:
    warm = r["warm"]
    ours, guide, resolver = warm["callback:disabled"], warm["guide"], warm.get("resolver:disabled")
    value = ours["p50_vs_guide"]
    met = value is not None and value <= WARM_TARGET
    note = f"p50 {ours['ms']['p50']:.3f} ms against the guide's {guide['ms']['p50']:.3f} ms"
    if not met:
        note += (
            f". Per invocation the callback also writes {ours['log_bytes_per_invocation']:.0f} B of JSON logs and "
            f"EMF metrics (the guide {guide['log_bytes_per_invocation']:.0f} B of plain lines)"
            + (
                ", records an X-Ray subsegment (every invocation is sampled here)"
                if r.get("analysis", {}).get("xray_sdk_in_layer")
                else ""
            )
            + " and runs the idempotency wrapper"
        )
        quiet = warm.get("callback:disabled:warning")
        if quiet is not None:
            note += (
                f"; with those log lines off (log level WARNING) it takes {quiet['ms']['p50']:.3f} ms "
                f"({_x(quiet['p50_vs_guide'])})"
            )
        if resolver is not None:
            note += f"; the same work behind Powertools' resolver takes {resolver['ms']['p50']:.3f} ms"
        blocking = r.get("analysis", {}).get("callback_sync_dependencies") or []
        if blocking:
            note += (
                ". FastAPI runs the plain `def` dependency "
                + ", ".join(f"`{b}`" for b in blocking)
                + " in its thread pool on every request, and the pool's thread ends with Mangum's task, so each "
                "invocation starts a thread: an `async def` dependency removes that"
            )
        note += "."
    return {
        "key": "warm_p50",
        "target": "Callback warm p50, idempotency storage disabled, vs the guide's callback",
        "goal": f"≤ {WARM_TARGET}×",
        "measured": _x(value),
        "value": value,
        "met": met,
        "note": note,
    }


def _batch_target(r: dict[str, Any]) -> dict[str, Any]:
    raw, modelled = r.get("scheduling"), r.get("scheduling_modelled")
    base = {
        "key": "batch_speedup",
        "target": "Batch create throughput vs one-by-one creates",
        "goal": f"≥ {BATCH_TARGET:g}×",
    }
    # Judged where the calls have a network round trip to overlap, as against the real endpoint.
    s = modelled if modelled and "speedup" in modelled else raw
    if not s or "speedup" not in s:
        reason = (s or {}).get("reason", "the scheduler API was not available when the benchmark ran")
        return {**base, "measured": "not measured yet", "value": None, "met": None, "note": reason}
    value = s["speedup"]
    met = value is not None and value >= BATCH_TARGET
    note = _throughput_note(s)
    if s is modelled and modelled is not None:
        note = f"with a {modelled['aws_latency_ms']:g} ms modelled round trip per AWS call: " + note
        if raw and "speedup" in raw:
            note += f". On bare loopback (no network wait): {_x(raw['speedup'])}, {_throughput_note(raw)}"
    if raw and "speedup" in raw and raw["speedup"] < BATCH_TARGET:
        note += (
            ". On bare loopback each create costs CPU on both sides (the client in the function, moto in one "
            "Python process), so the batch's concurrent calls have nothing to overlap and it saves only the "
            "per-request work (Mangum, FastAPI, validation)"
        )
    return {**base, "measured": _x(value), "value": value, "met": met, "note": note}


def _throughput_note(s: dict[str, Any]) -> str:
    per_item = s["batch"]["request_ms"]["mean"] / s["batch"]["batch_size"]
    return (
        f"{s['batch']['creates_per_second']:.0f} creates/s in batches of {s['batch']['batch_size']} against "
        f"{s['single']['creates_per_second']:.0f}/s one per request "
        f"({s['single']['request_ms']['mean']:.2f} ms per request, {per_item:.2f} ms per batch item)"
    )


def _lateness_target(r: dict[str, Any]) -> dict[str, Any]:
    d = r.get("dispatcher")
    base = {
        "key": "dispatcher_lateness",
        "target": "Local dispatcher lateness p99, 1,000 schedules due in the same second",
        "goal": f"≤ {LATENESS_TARGET_S:g} s",
    }
    if not d or "fire_lateness_s" not in d:
        reason = (d or {}).get("reason", "localcloud/dispatcher.py was not available when the benchmark ran")
        return {**base, "measured": "not measured yet", "value": None, "met": None, "note": reason}
    value = d["fire_lateness_s"]["p99"]
    met = value is not None and value <= LATENESS_TARGET_S
    note = (
        f"{d['schedules']:,} schedules due at the same second: handed to the callback's asynchronous queue within "
        f"p50 {d['fire_lateness_s']['p50']:.3f} s / p99 {value:.3f} s of their time"
    )
    start = d.get("start_lateness_s") or {}
    if start.get("p99") is not None:
        note += (
            f"; the callback started running them within p50 {start['p50']:.2f} s / p99 {start['p99']:.2f} s "
            f"in {d.get('concurrency', 1)} execution environments; bound by {_start_bound(d, r['machine']['cores'])}"
        )
    if not met:
        note += ". Missed: the dispatcher fires the due schedules slower than one second's worth."
    return {**base, "measured": f"{value:.3f} s", "value": value, "met": met, "note": note}


def _size_targets(r: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    sizes = r["sizes"]
    for name, fig in sizes["deployables"].items():
        zipped = fig["zipped_bytes"]
        met = zipped <= ZIPPED_TARGET_BYTES
        layer = sizes["artifacts"]["layer (arm64, with bytecode)"]
        layer_src = sizes["artifacts"]["layer (arm64, as sam build ships it)"]
        note = (
            f"{_mib(zipped)} zipped, {_mib(fig['unzipped_bytes'])} unzipped (Lambda's limits: 50 MiB zipped, 250 MiB "
            "unzipped)"
        )
        if not met:
            biggest = ", ".join(f"{pkg} {_mib(b)}" for pkg, b in list(layer["zipped_by_package"].items())[:4])
            note += (
                f". The layer is almost all of it: {biggest}; bytecode adds "
                f"{_mib(layer['zipped_bytes'] - layer_src['zipped_bytes'])} zipped. "
            )
            selective = sizes.get("layer_imported_bytecode_only")
            if selective:
                with_selective = selective["zipped_bytes"] + fig["zipped_bytes"] - layer["zipped_bytes"]
                note += (
                    f"Precompiling only the {selective['compiled_modules']} layer modules the two functions import "
                    f"(the rest keep their source) would make it {_mib(with_selective)}."
                )
            else:
                note += "Precompiling only what the functions import, or leaving unused packages out, would close it."
        out.append(
            {
                "key": f"zipped:{name}",
                "target": f"{name.capitalize()}, zipped",
                "goal": f"≤ {_mib(ZIPPED_TARGET_BYTES)}",
                "measured": _mib(zipped),
                "value": zipped,
                "met": met,
                "note": note,
            }
        )
    return out


# -- performance.md -----------------------------------------------------------------------------


def render_performance(r: dict[str, Any]) -> str:
    """The whole of docs/performance.md."""
    m = r["machine"]
    parts = [
        "# Performance",
        "",
        "<!-- Generated by `make bench` (bench/run.py, bench/report.py): edit those, not this file. -->",
        "",
        f"Measured on {r['generated_at'][:10]} by `make bench` in one run ({r['elapsed_seconds']:.0f} s): "
        f"{m['cpu']}, {m['cores']} cores, {m['machine']}, {m['os']}, Python {m['python']}. Lambda runs the "
        "functions on arm64 (Graviton); these are x86_64 timings, so read the ratios, not the milliseconds. "
        "The raw numbers are in [performance.json](performance.json).",
        "",
        "## Targets",
        "",
        _table(
            ("Target", "Goal", "Measured", "", "Note"),
            ((t["target"], t["goal"], t["measured"], _met(t["met"]), t["note"]) for t in r["targets"]),
        ),
        "",
        *_cold_section(r),
        *_import_section(r),
        *_warm_section(r),
        *_size_section(r),
        *_scheduling_section(r),
        *_dispatcher_section(r),
        *_method_section(r),
    ]
    return "\n".join(parts).rstrip() + "\n"


def _cold_section(r: dict[str, Any]) -> list[str]:
    cold = r["cold_start"]
    labels = r["variants"]
    rows = []
    for name, fig in cold.items():
        rows.append(
            (
                labels[name]["label"],
                _f(fig["init_ms"]["p50"], 0),
                _f(fig["first_invoke_ms"]["p50"], 1),
                _f(fig["total_ms"]["p50"], 0),
                _f(fig["total_ms"]["p90"], 0),
                _x(fig["vs_guide"]["total"]),
                _f(fig["peak_rss_mb"]["p50"], 1),
                str(fig["modules_loaded"]),
            )
        )
    return [
        "## Cold start",
        "",
        "A fresh interpreter imports the artifact (init) and handles one event (first invocation); "
        f"{r['config']['cold_runs']} runs of each, interleaved; medians. The idempotent handlers write their "
        "record to the local DynamoDB endpoint during the first invocation. Peak RSS is the process's high-water "
        "mark after the first invocation.",
        "",
        _table(
            (
                "Handler",
                "Init ms",
                "First invocation ms",
                "Total ms",
                "Total p90 ms",
                "× guide",
                "Peak RSS MiB",
                "Modules",
            ),
            rows,
        ),
        "",
    ]


def _import_section(r: dict[str, Any]) -> list[str]:
    it = r.get("import_time")
    if not it:
        return []
    rows = []
    for phase, label in (("init", "init"), ("first_invoke", "first invocation")):
        ours = it["callback"][phase]
        guide = it["guide"][phase]
        for pkg in list(ours)[:8]:
            rows.append((label, pkg, _f(ours[pkg], 0), _f(guide.get(pkg), 0) if pkg in guide else "—"))
    return [
        "## Where the cold start goes",
        "",
        f"`python -X importtime` self time per top-level package, median of {r['config']['importtime_runs']} runs "
        '(importtime\'s own overhead inflates these; compare shares, not totals). "(stdlib)" is the standard library. '
        "The guide's column is without bytecode, as the guide ships it.",
        "",
        _table(("Phase", "Package", "Callback ms", "Guide ms"), rows),
        "",
    ]


def _warm_section(r: dict[str, Any]) -> list[str]:
    warm = r["warm"]
    labels = r["variants"]
    rows = []
    for fig in warm.values():
        settings = ", ".join(f"{k}={v}" for k, v in fig.get("environment", {}).items())
        rows.append(
            (
                labels[fig["variant"]]["label"] + (f" ({settings})" if settings else ""),
                fig["idempotency"],
                _f(fig["ms"]["p50"], 3),
                _f(fig["ms"]["p99"], 3),
                _x(fig["p50_vs_guide"]),
                _f(fig["log_bytes_per_invocation"], 0),
                ", ".join(f"{k}: {v}" for k, v in fig["statuses"].items()),
            )
        )
        if "replay_ms" in fig:
            rows.append(
                (
                    f"{labels[fig['variant']]['label']}: duplicate deliveries (replays)",
                    fig["idempotency"],
                    _f(fig["replay_ms"]["p50"], 3),
                    _f(fig["replay_ms"]["p99"], 3),
                    "",
                    "",
                    ", ".join(f"{k}: {v}" for k, v in fig["replay_statuses"].items()),
                )
            )
    return [
        "## Warm invocations",
        "",
        f"{r['config']['warm_invocations']:,} timed invocations per row, each a new task occurrence (a first delivery, "
        f"not a replay), in {r['config'].get('warm_rounds', 1)} rounds that run every row in turn (so a slow phase of "
        f"the machine falls on every row alike), each round a fresh container warmed by {r['config']['warmup']} "
        "invocations first. "
        "Idempotency *disabled* is Powertools' own switch (`POWERTOOLS_IDEMPOTENCY_DISABLED`): the framework, "
        + ("logging, metrics and tracing" if r.get("analysis", {}).get("xray_sdk_in_layer") else "logging and metrics")
        + " without the storage; *enabled* writes each record to moto's DynamoDB on loopback, whose round trips "
        "dominate those rows. Replays re-deliver the first occurrences.",
        "",
        _table(
            ("Handler", "Idempotency", "p50 ms", "p99 ms", "p50 × guide", "Log bytes / invocation", "Statuses"), rows
        ),
        "",
    ]


def _size_section(r: dict[str, Any]) -> list[str]:
    s = r["sizes"]
    rows = [
        (name, _mib(fig["unzipped_bytes"]), _mib(fig["zipped_bytes"]), f"{fig['files']:,}")
        for name, fig in s["artifacts"].items()
    ]
    rows += [
        (f"**{name}**", _mib(fig["unzipped_bytes"]), _mib(fig["zipped_bytes"]), "")
        for name, fig in s["deployables"].items()
    ]
    selective = s.get("layer_imported_bytecode_only")
    if selective:
        rows.append(
            (
                f"layer (arm64), bytecode only for the {selective['compiled_modules']} modules the functions import",
                _mib(selective["unzipped_bytes"]),
                _mib(selective["zipped_bytes"]),
                f"{selective['files']:,}",
            )
        )
    sam = s.get("sam_build")
    if sam:
        rows += [
            (
                f"`.aws-sam/build/{name}` (scripts/build.sh, {sam['built_at']})",
                _mib(f["unzipped_bytes"]),
                _mib(f["zipped_bytes"]),
                f"{f['files']:,}",
            )
            for name, f in sam["artifacts"].items()
        ]
    biggest = list(s["artifacts"]["layer (arm64, with bytecode)"]["zipped_by_package"].items())[:8]
    return [
        "## Artifact sizes",
        "",
        "The layer is built with arm64 wheels (what Lambda receives); zipped with deflate as `sam deploy` zips. "
        f"Lambda's limits: {_mib(s['limits']['zipped_bytes'])} zipped (direct upload), "
        f"{_mib(s['limits']['unzipped_bytes'])} unzipped for a function and all its layers.",
        "",
        _table(("Artifact", "Unzipped", "Zipped", "Files"), rows),
        "",
        "Largest packages in the layer, zipped: " + ", ".join(f"{pkg} {_mib(b)}" for pkg, b in biggest) + ".",
        "",
    ]


def _scheduling_section(r: dict[str, Any]) -> list[str]:
    sections = [("scheduling", "moto on loopback, no network wait")]
    if r.get("scheduling_modelled"):
        rtt = r["scheduling_modelled"].get("aws_latency_ms", 0)
        sections.append(("scheduling_modelled", f"the same, each AWS call given a {rtt:g} ms round trip first"))
    lines: list[str] = []
    for key, label in sections:
        part = _scheduling_part(r.get(key), label)
        lines += part if not lines else part[2:]  # one heading for both
    return lines


def _scheduling_part(s: dict[str, Any] | None, label: str) -> list[str]:
    if not s or "speedup" not in s:
        return [
            "## Scheduling throughput",
            "",
            "Not measured yet: " + (s or {}).get("reason", "no scheduler API") + ".",
            "",
        ]
    rows = [
        (
            "one create per request",
            f"{s['single']['requests']:,}",
            f"{s['single']['creates']:,}",
            _f(s["single"]["request_ms"]["p50"], 2),
            _f(s["single"]["creates_per_second"], 0),
            ", ".join(f"{k}: {v}" for k, v in s["single"]["statuses"].items()),
        ),
        (
            f"batches of {s['batch']['batch_size']}",
            f"{s['batch']['requests']:,}",
            f"{s['batch']['creates']:,}",
            _f(s["batch"]["request_ms"]["p50"], 1),
            _f(s["batch"]["creates_per_second"], 0),
            ", ".join(f"{k}: {v}" for k, v in s["batch"]["item_statuses"].items()) + " (items)",
        ),
    ]
    found = s["schedules_in_group"]
    first = s.get("first_batch_of_a_fresh_container", {})
    lines = [
        "## Scheduling throughput",
        "",
        "The scheduler function's entry point (our build) in one warm container, with API Gateway proxy events, "
        f"against {label}; the first request warms the container and is not timed.",
        "",
        _table(("Requests", "Count", "Creates", "p50 ms / request", "Creates / s", "Statuses"), rows),
        "",
        f"Schedules in the group afterwards: {found['found']:,} (expected {found['expected']:,}, counting the untimed "
        "first requests).",
    ]
    statuses = first.get("item_statuses", {})
    if any(int(k) >= 400 for k in statuses):
        lines += [
            "",
            "**The first batch of a fresh container failed items** ("
            + ", ".join(f"{k}: {v}" for k, v in statuses.items())
            + "): "
            + "; ".join(f"`{e}`" for e in first.get("errors", []))
            + ". The batch validates its items on several threads while the action registry is still loading.",
        ]
    return [*lines, ""]


def _dispatcher_section(r: dict[str, Any]) -> list[str]:
    d = r.get("dispatcher")
    if not d or "fire_lateness_s" not in d:
        return ["## Local dispatcher", "", "Not measured yet: " + (d or {}).get("reason", "no dispatcher") + ".", ""]
    single = d.get("concurrency_1") or {}
    rows = [
        ("fired (handed to Lambda's async queue)", *_lateness(d["fire_lateness_s"])),
        (f"started (the callback began running it), concurrency {d.get('concurrency', 1)}", *_start(d)),
        *([("started, concurrency 1", *_start(single))] if single else []),
    ]
    measured = f" Re-measured on {d['measured_at'][:10]} by `make bench ONLY=dispatcher`." if "measured_at" in d else ""
    return [
        "## Local dispatcher",
        "",
        f"`make dev`'s dispatcher with {d['schedules']:,} one-time schedules created through the API, all due at "
        "the same "
        f"second; lateness is the time from the scheduled second to the event. Delivered: {d['delivered']:,}; "
        f"early deliveries: {d['early']}.{measured}",
        "",
        _table(("Lateness", "p50 s", "p99 s", "max s"), rows),
        "",
        *([f"What bounds the start: {_start_bound(d, r['machine']['cores'])}.", ""] if "cpu_seconds" in d else []),
    ]


def _start(d: dict[str, Any]) -> tuple[str, str, str]:
    return _lateness(d.get("start_lateness_s") or {})


def _start_bound(d: dict[str, Any], cores: int) -> str:
    """What the CPU figures of the run say bounds the start lateness."""
    cpu, single = d.get("cpu_seconds"), d.get("concurrency_1") or {}
    if not cpu or not single.get("start_lateness_s"):
        return "each writing its idempotency record to moto"
    own, envs = (1000 * cpu[k] / d["schedules"] for k in ("local_cloud_process", "environments"))
    p99, p99_1 = d["start_lateness_s"]["p99"], single["start_lateness_s"]["p99"]
    same = abs(p99 - p99_1) <= 0.25 * p99_1
    verdict = "the CPU, not the concurrency" if same else "the CPU, and the concurrency"
    return (
        f"{verdict}: each task cost {own:.0f} ms of CPU in the local cloud's own process (moto serving the "
        f"environments' DynamoDB calls, the dispatcher, the API: one Python process, at most one core) and "
        f"{envs:.0f} ms in the environments ({d['counts'].get('environments_started', 0)} cold starts included), "
        f"so {cores} cores start at most about {min(cores * 1000 / (own + envs), 1000 / own):.0f} tasks/s; at "
        f"concurrency 1 the p99 was {p99_1:.2f} s against {p99:.2f} s"
    )


def _lateness(fig: dict[str, Any]) -> tuple[str, str, str]:
    return _f(fig.get("p50"), 3), _f(fig.get("p99"), 3), _f(fig.get("max"), 3)


def _method_section(r: dict[str, Any]) -> list[str]:
    return [
        "## How it is measured",
        "",
        "- **Artifacts** are built by `bench/build.py` under `bench/.build/` the way each is deployed: the guide's "
        "callback with `pip install -r requirements.txt -t` and no bytecode (fastapi, mangum and pydantic at "
        "the layer's versions: the guide's pydantic 2.5.0 needs a pydantic-core with no python3.13 wheels); ours "
        "as `sam build` lays out the function and the "
        "layer (`--no-deps` on the exported, fully pinned requirements, so boto3 and botocore stay the runtime's), "
        "then `compileall --invalidation-mode unchecked-hash` as `scripts/build.sh` does.",
        "- **boto3** comes from its own directory, precompiled, standing in for the copy the python3.13 runtime "
        "provides (its image ships it with bytecode); `sys.path` is function, layer, runtime, in Lambda's order.",
        "- **Each run is a fresh `python3.13 -I -S -B -u`**: `-B` writes no bytecode (Lambda's code directories are "
        "read-only), `-S` keeps this machine's site-packages out, `-u` makes stdout unbuffered as the runtime "
        "does. The "
        "environment is Lambda's variables plus the local endpoint's, nothing from the shell (HOME is an empty "
        "directory). `bench/runner.py` installs the runtime's root log handler, then times the import and the "
        "invocations with `perf_counter_ns`; logs go to a file, as the runtime ships them.",
        (
            "- **Tracing is on** (`LAMBDA_TASK_ROOT` set, every invocation sampled), so Powertools' Tracer patches "
            "botocore and emits segments to a UDP port, as on Lambda with active tracing."
            if r.get("analysis", {}).get("xray_sdk_in_layer")
            else "- **Tracing** is Lambda's own (the layer has no X-Ray SDK, so Powertools' Tracer is off): nothing of "
            "it runs in the function's process, here or on Lambda."
        ),
        "- **The local DynamoDB endpoint** is moto's server on loopback with the table from `template.yaml` "
        "(`localcloud.endpoint.moto_endpoint`), the same for every figure.",
        "- File reads come from the page cache: interleaving gives every handler the same advantage; Lambda reads "
        "the first cold start from its own storage.",
        "",
        "## Reproduce",
        "",
        "```bash",
        "make bench                  # the full run: writes docs/performance.md, docs/performance.json, docs/cost.md",
        "make bench BENCH_QUICK=1    # a smoke run with tiny counts: writes bench/results/ only",
        "```",
        "",
        "It needs python3.13 (`scripts/find-python313.sh`) and PyPI for the first build; later runs reuse "
        "`bench/.build/` until a requirements file or source changes.",
    ]


# -- cost.md ------------------------------------------------------------------------------------


def cost_figures(r: dict[str, Any], memory_mb: int) -> dict[str, Any]:
    """The bill lines, from the run's measurements."""
    warm = r["warm"]
    ours = warm["callback:enabled"]
    guide = warm["guide"]
    cold = r["cold_start"]
    figures: dict[str, Any] = {
        "memory_mb": memory_mb,
        "callback": cost.delivery_lines(
            duration_ms=ours["billed_ms_mean"],
            init_ms=cold["callback"]["init_ms"]["p50"],
            log_bytes=ours["log_bytes_per_invocation"],
            memory_mb=memory_mb,
            idempotent=True,
            record_bytes=ours.get("idempotency_record_bytes"),
        ),
        "guide": cost.delivery_lines(
            duration_ms=guide["billed_ms_mean"],
            init_ms=cold["guide"]["init_ms"]["p50"],
            log_bytes=guide["log_bytes_per_invocation"],
            memory_mb=memory_mb,
            idempotent=False,
        ),
    }
    s = r.get("scheduling")
    if s and "speedup" in s:
        figures["create_single"] = cost.create_lines(
            duration_ms=s["single"]["billed_ms_mean"],
            log_bytes=s["single"]["log_bytes_per_request"],
            memory_mb=memory_mb,
        )
        figures["create_batch"] = cost.create_lines(
            duration_ms=s["batch"]["billed_ms_mean"],
            log_bytes=s["batch"]["log_bytes_per_request"],
            memory_mb=memory_mb,
            batch_size=s["batch"]["batch_size"],
        )
    return figures


def render_cost(r: dict[str, Any], figures: dict[str, Any]) -> str:
    """The whole of docs/cost.md."""
    memory = figures["memory_mb"]
    ours_total, guide_total = cost.total(figures["callback"]), cost.total(figures["guide"])
    share = memory / cost.FULL_VCPU_MB
    writes = _line(figures["callback"], "DynamoDB").usd
    parts = [
        "# Cost per million tasks",
        "",
        "<!-- Generated by `make bench` (bench/cost.py, bench/report.py): edit those, not this file. -->",
        "",
        f"What running one million scheduled tasks costs, from the durations, log volume and writes that `make bench` "
        f"measured on {r['generated_at'][:10]} (see [performance.md](performance.md)); the callback at {memory} "
        "MB on arm64 "
        f"as `template.yaml` configures it. us-east-1 list prices read on {cost.PRICES_READ}, **without free "
        "tiers** (the "
        "marginal cost once they are used up).",
        "",
        "## Running the tasks",
        "",
        "One delivery per task occurrence: EventBridge Scheduler invokes the callback, which writes its "
        "idempotency record. "
        f"Duration is the warm mean with idempotency enabled against the local endpoint, each invocation rounded up to "
        f"the millisecond as Lambda bills; INIT has been billed since August 2025 ([AWS]({cost.INIT_BILLING_SOURCE})).",
        "",
        *_bill("Callback (ours)", figures["callback"]),
        *_bill("The guide's callback (no idempotency)", figures["guide"]),
        f"**Per million tasks: ${ours_total:.2f} for the callback, ${guide_total:.2f} for the guide's.** "
        f"The idempotency record's two writes, ${writes:.2f}, are the price of running each task exactly once.",
        "",
        "Sensitivity: these durations were measured on a full x86_64 core. At "
        f"{memory} MB Lambda gives the function {share:.0%} of a vCPU ({memory} / {cost.FULL_VCPU_MB} MB), so "
        "CPU-bound time "
        f"could stretch by up to {1 / share:.1f}×: the callback's duration line would then be "
        f"${_line(figures['callback'], 'Lambda duration').usd / share:.2f} instead of "
        f"${_line(figures['callback'], 'Lambda duration').usd:.2f}"
        f" ({_line(figures['callback'], 'Lambda duration').usd / share / ours_total:.0%} of the total).",
        "",
    ]
    if "create_single" in figures:
        parts += [
            "## Creating the tasks",
            "",
            "Each task is created once through the API: API Gateway (REST) and the scheduler function. Duration is the "
            "warm mean per request from the scheduling benchmark.",
            "",
            *_bill("One task per request", figures["create_single"]),
            *_bill("Batches (`POST /api/v1/schedules/batch`)", figures["create_batch"]),
            f"**Per million tasks created: ${cost.total(figures['create_single']):.2f} one per request, "
            f"${cost.total(figures['create_batch']):.2f} in batches.**",
            "",
        ]
    parts += [
        "## Not included",
        "",
        "- Free tiers: Lambda's 1 million requests and 400,000 GB-s a month, Scheduler's 14 million invocations "
        "a month.",
        "- Lambda's own START/END/REPORT log lines, X-Ray traces (sampled), CloudWatch metrics (billed per metric, not "
        "per task), DynamoDB storage (records expire after their TTL), and retries: a failed delivery is invoked up to "
        "twice more, and a replayed duplicate costs a request, its duration and one conditional write.",
        "",
        "## Prices",
        "",
        _table(("Price", "Unit", "Source"), ((_price(p.usd), p.unit, p.source) for p in cost.PRICES.values())),
        "",
        "Reproduce: `make bench` (the same run writes this file).",
    ]
    return "\n".join(parts).rstrip() + "\n"


def _price(usd: float) -> str:
    """A unit price as AWS writes it: per million when below a hundredth of a cent, at least two decimals."""

    def dollars(value: float) -> str:
        whole, _, cents = f"{value:.10f}".rstrip("0").partition(".")
        return f"${whole}.{cents.ljust(2, '0')}"

    return f"{dollars(usd * 1e6)} per million" if usd < 1e-5 and usd * 1e6 >= 0.01 else dollars(usd)


def _line(lines: list[cost.Line], prefix: str) -> cost.Line:
    return next(line for line in lines if line.item.startswith(prefix))


def _bill(title: str, lines: list[cost.Line]) -> list[str]:
    rows = [(x.item, x.quantity, x.arithmetic, f"${x.usd:.4f}") for x in lines]
    rows.append(("**Total**", "", "", f"**${cost.total(lines):.2f}**"))
    return [f"### {title}", "", _table(("Item", "Quantity", "Arithmetic", "Per million tasks"), rows), ""]
