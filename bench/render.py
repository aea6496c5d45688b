"""The generated parts of docs/performance.md and docs/cost.md: tables from the results (performance.json).

Both docs are written by hand except the blocks between ``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->``:
`write_docs` replaces each block with the table of that name and leaves every other line as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from bench import cost, ledger_calls
from bench.heat_report import heat_tables

MIB = 1024 * 1024
DOCS = Path(__file__).resolve().parent.parent / "docs"
COLD_TARGET, WARM_TARGET, BATCH_TARGET, LATENESS_TARGET_S, ZIPPED_TARGET_BYTES = 0.75, 1.2, 5.0, 1.0, 8 * MIB
#: The issue's targets, on this machine: what, the goal, and whether a value meets it.
TARGETS: dict[str, tuple[str, str, Callable[[float], bool]]] = {
    "cold_start": (
        "Callback cold start (init + first invocation, p50) vs the guide's callback as the guide packages it",
        f"≤ {COLD_TARGET}×",
        lambda v: v <= COLD_TARGET,
    ),
    "warm_p50": (
        "Callback warm p50, idempotency storage disabled, vs the guide's callback",
        f"≤ {WARM_TARGET}×",
        lambda v: v <= WARM_TARGET,
    ),
    "batch_speedup": (
        "Batch create throughput vs one-by-one creates",
        f"≥ {BATCH_TARGET:g}×",
        lambda v: v >= BATCH_TARGET,
    ),
    "dispatcher_lateness": (
        "Local dispatcher lateness p99, {} schedules due in the same second",
        f"≤ {LATENESS_TARGET_S:g} s",
        lambda v: v <= LATENESS_TARGET_S,
    ),
    "zipped": ("{}, zipped", f"≤ {ZIPPED_TARGET_BYTES / MIB:.2f} MiB", lambda v: v <= ZIPPED_TARGET_BYTES),
}
_BLOCK = re.compile(r"<!-- bench:(\w+) -->\n.*?<!-- /bench:\1 -->", re.DOTALL)


def _f(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _x(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}×"


def _mib(value: float) -> str:
    return f"{value / MIB:.2f} MiB"


def _statuses(counts: dict[str, int]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in counts.items())


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def _missing(part: dict[str, Any] | None) -> str:
    return f"Not measured yet: {(part or {}).get('reason', 'not in these results')}."


def targets(r: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target: what was measured and whether it met the goal (`met` None: not measured)."""
    out = []
    for key, subject, value, shown in _measured(r):
        text, goal, meets = TARGETS[key.split(":")[0]]
        met = None if value is None else meets(value)
        out.append(
            {"key": key, "target": text.format(subject), "goal": goal, "measured": shown, "value": value, "met": met}
        )
    return out


def _measured(r: dict[str, Any]) -> list[tuple[str, str, float | None, str]]:
    """(target key, its subject, the value judged, the value as shown) for each target."""
    cold, warm = r["cold_start"]["callback"]["vs_guide"], r["warm"]["callback:disabled"]["p50_vs_guide"]
    d = r.get("dispatcher") or {}
    fired = d["fire_lateness_s"]["p99"] if d.get("fire_lateness_s") else None
    measured: list[tuple[str, str, float | None, str]] = [
        ("cold_start", "", cold["total"], "{:.2f}× (95% CI {:.2f}–{:.2f})".format(cold["total"], *cold["total_ci95"])),
        ("warm_p50", "", warm, _x(warm)),
        _batch_speedup(r),
        (
            "dispatcher_lateness",
            f"{d.get('schedules', 1000):,}",
            fired,
            "not measured yet" if fired is None else f"{fired:.3f} s",
        ),
    ]
    for name, fig in r["sizes"]["deployables"].items():
        measured.append((f"zipped:{name}", name.capitalize(), fig["zipped_bytes"], _mib(fig["zipped_bytes"])))
    return measured


def _batch_speedup(r: dict[str, Any]) -> tuple[str, str, float | None, str]:
    """Judged where the calls have a network round trip to overlap, as against the real endpoint."""
    s = next((s for s in (r.get("scheduling_modelled"), r.get("scheduling")) if s and "speedup" in s), None)
    if s is None:
        return "batch_speedup", "", None, "not measured yet"
    rtt = f" with a {s['aws_latency_ms']:g} ms round trip per AWS call" if s["aws_latency_ms"] else " on loopback"
    return "batch_speedup", "", s["speedup"], f"{_x(s['speedup'])}{rtt}"


# -- performance.md -----------------------------------------------------------------------------


def performance_blocks(r: dict[str, Any]) -> dict[str, str]:
    """Each generated block of docs/performance.md, by name."""
    m, cfg = r["machine"], r["config"]
    run = f"Measured on {r['generated_at'][:10]} by `make bench` in one run ({r['elapsed_seconds']:.0f} s): "
    run += f"{m['cpu']}, {m['cores']} cores, {m['machine']}, {m['os']}, Python {m['python']}."
    if cfg.get("quick"):
        run += " **A smoke run (`BENCH_QUICK=1`): tiny counts, the numbers mean nothing.**"
    rows = [
        (t["target"], t["goal"], t["measured"], {True: "✅ met", False: "❌ missed", None: "⏳ not measured"}[t["met"]])
        for t in targets(r)
    ]
    return {
        "run": run + " The raw numbers: [performance.json](performance.json).",
        "targets": _table(("Target", "Goal", "Measured", "Result"), rows),
        "cold_start": _cold_block(r),
        "import_time": _import_block(r),
        "warm": _warm_block(r),
        "sizes": _sizes_block(r["sizes"]),
        "scheduling": _scheduling_block(r),
        "dispatcher": _dispatcher_block(r.get("dispatcher"), m["cores"]),
        "checks": _checks_block(r.get("analysis", {})),
        "ledger": _ledger_block(r.get("ledger_calls")),
        "heat": heat_tables(r.get("heat")),
    }


def _ledger_block(calls: dict[str, dict[str, int]] | None) -> str:
    if not calls:
        return _missing(calls)
    rows = [
        (path, budget, ", ".join(f"{op} ×{n}" for op, n in calls.get(path, {}).items()) or "none")
        for path, budget in ledger_calls.BUDGETS.items()
    ]
    return _table(("Path", "Budget", "DynamoDB requests sent"), rows)


def _cold_block(r: dict[str, Any]) -> str:
    rows = []
    for name, fig in r["cold_start"].items():
        init, first, total = fig["init_ms"]["p50"], fig["first_invoke_ms"]["p50"], fig["total_ms"]
        rows.append([r["variants"][name]["label"], _f(init, 0), _f(first), _f(total["p50"], 0), _f(total["p90"], 0)])
        rows[-1] += [_x(fig["vs_guide"]["total"]), _f(fig["peak_rss_mb"]["p50"]), str(fig["modules_loaded"])]
    header = (
        "Handler",
        "Init ms",
        "First invocation ms",
        "Total ms",
        "Total p90 ms",
        "× guide",
        "Peak RSS MiB",
        "Modules",
    )
    return f"{r['config']['cold_runs']} runs of each, interleaved; medians.\n\n" + _table(header, rows)


def _import_block(r: dict[str, Any]) -> str:
    if not (it := r.get("import_time")):
        return _missing(None)
    rows = []
    for phase, label in (("init", "init"), ("first_invoke", "first invocation")):
        ours, guide = it["callback"][phase], it["guide"][phase]
        rows += [(label, pkg, _f(ours[pkg], 0), _f(guide[pkg], 0) if pkg in guide else "—") for pkg in list(ours)[:8]]
    caption = f"Median of {r['config']['importtime_runs']} runs, self time per top-level package."
    return caption + "\n\n" + _table(("Phase", "Package", "Callback ms", "Guide ms"), rows)


def _warm_block(r: dict[str, Any]) -> str:
    cfg, rows = r["config"], []
    for fig in r["warm"].values():
        label = r["variants"][fig["variant"]]["label"]
        settings = ", ".join(f"{k}={v}" for k, v in fig.get("environment", {}).items())
        ms, log_bytes = fig["ms"], _f(fig["log_bytes_per_invocation"], 0)
        rows.append(
            [label + (f" ({settings})" if settings else ""), fig["idempotency"], _f(ms["p50"], 3), _f(ms["p99"], 3)]
        )
        rows[-1] += [_x(fig["p50_vs_guide"]), log_bytes, _statuses(fig["statuses"])]
        if replay := fig.get("replay_ms"):
            rows.append([f"{label}: duplicate deliveries (replays)", fig["idempotency"], _f(replay["p50"], 3)])
            rows[-1] += [_f(replay["p99"], 3), "", "", _statuses(fig["replay_statuses"])]
    caption = f"{cfg['warm_invocations']:,} timed invocations per row in {cfg.get('warm_rounds', 1)} rounds, "
    caption += f"each round a fresh container warmed by {cfg['warmup']} invocations."
    header = ("Handler", "Idempotency", "p50 ms", "p99 ms", "p50 × guide", "Log bytes / invocation", "Statuses")
    return caption + "\n\n" + _table(header, rows)


def _sizes_block(s: dict[str, Any]) -> str:
    def row(name: str, fig: dict[str, Any]) -> tuple[str, ...]:
        files = f"{fig['files']:,}" if "files" in fig else ""
        return name, _mib(fig["unzipped_bytes"]), _mib(fig["zipped_bytes"]), files

    rows = [row(name, fig) for name, fig in s["artifacts"].items()]
    rows += [row(f"**{name}**", fig) for name, fig in s["deployables"].items()]
    if selective := s.get("layer_imported_bytecode_only"):
        n = selective["compiled_modules"]
        rows.append(row(f"layer (arm64), bytecode only for the {n} modules the functions import", selective))
    if sam := s.get("sam_build"):
        rows += [
            row(f"`.aws-sam/build/{n}` (scripts/build.sh, {sam['built_at']})", f) for n, f in sam["artifacts"].items()
        ]
    biggest = list(s["artifacts"]["layer (arm64, with bytecode)"]["zipped_by_package"].items())[:8]
    limits = f"Lambda's limits: {_mib(s['limits']['zipped_bytes'])} zipped (direct upload), "
    limits += f"{_mib(s['limits']['unzipped_bytes'])} unzipped for a function and all its layers."
    largest = "Largest packages in the layer, zipped: " + ", ".join(f"{pkg} {_mib(b)}" for pkg, b in biggest) + "."
    return f"{limits}\n\n{_table(('Artifact', 'Unzipped', 'Zipped', 'Files'), rows)}\n\n{largest}"


def _scheduling_block(r: dict[str, Any]) -> str:
    rows, counted, notes = [], [], []
    for s in (r.get("scheduling"), r.get("scheduling_modelled")):
        if not s or "speedup" not in s:
            notes.append(_missing(s))
            continue
        against = f"{s['aws_latency_ms']:g} ms round trip per AWS call" if s["aws_latency_ms"] else "loopback"
        rows += [
            [against, *_scheduling_row(s["single"], "")],
            [against, *_scheduling_row(s["batch"], _x(s["speedup"]))],
        ]
        counted.append(f"{s['schedules_in_group']['found']:,} of {s['schedules_in_group']['expected']:,} ({against})")
    if counted:
        notes.insert(
            0, f"Schedules in the group afterwards, the untimed first requests included: {', '.join(counted)}."
        )
    header = ("Against", "Requests", "Count", "Creates", "p50 ms / request", "Mean ms / create", "Creates / s")
    table = _table((*header, "× one per request", "Statuses"), rows) if rows else ""
    return "\n\n".join(part for part in (table, " ".join(notes)) if part)


def _scheduling_row(fig: dict[str, Any], speedup: str) -> list[str]:
    """One row of *Scheduling throughput* after its *Against* column: one create per request, or batches."""
    size = fig.get("batch_size", 1)
    what, statuses = "one create per request", _statuses(fig["statuses"])
    if "batch_size" in fig:
        what, statuses = f"batches of {size}", _statuses(fig["item_statuses"]) + " (items)"
    per_create, per_second = _f(fig["request_ms"]["mean"] / size, 2), _f(fig["creates_per_second"], 0)
    counts = [f"{fig['requests']:,}", f"{fig['creates']:,}"]
    return [what, *counts, _f(fig["request_ms"]["p50"], 2), per_create, per_second, speedup, statuses]


def _dispatcher_block(d: dict[str, Any] | None, cores: int) -> str:
    if not d or "fire_lateness_s" not in d:
        return _missing(d)

    def lateness(label: str, fig: dict[str, Any] | None) -> list[str]:
        return [label, *(_f((fig or {}).get(q), 3) for q in ("p50", "p99", "max"))]

    single, concurrency = d.get("concurrency_1") or {}, f"concurrency {d.get('concurrency', 1)}"
    rows = [
        lateness("fired (handed to Lambda's async queue)", d["fire_lateness_s"]),
        lateness(f"started (the callback began running it), {concurrency}", d.get("start_lateness_s")),
        *([lateness("started, concurrency 1", single.get("start_lateness_s"))] if single else []),
    ]
    caption = (
        f"{d['schedules']:,} schedules due in the same second; delivered: {d['delivered']:,}; early: {d['early']}."
    )
    if "measured_at" in d:
        caption += f" Re-measured on {d['measured_at'][:10]} by `make bench ONLY=dispatcher`."
    cpu_rows = [
        _cpu_row(label, run, d["schedules"], cores) for label, run in ((concurrency, d), ("concurrency 1", single))
    ]
    header = ["Run", "Wall s", "CPU s, local cloud", "CPU s, environments", "CPU ms / task, local cloud"]
    header += ["CPU ms / task, environments", "Environments started", f"At most tasks / s on {cores} cores"]
    cpu = "\n\n" + _table(header, [row for row in cpu_rows if row]) if any(cpu_rows) else ""
    return f"{caption}\n\n{_table(('Lateness', 'p50 s', 'p99 s', 'max s'), rows)}{cpu}"


def _cpu_row(label: str, run: dict[str, Any], schedules: int, cores: int) -> list[str]:
    """A row of the dispatcher's CPU table: the seconds each side used, per task, and the bound they set (none
    if the run has no CPU figures)."""
    if not (cpu := run.get("cpu_seconds")):
        return []
    own, envs = (1000 * cpu[k] / schedules for k in ("local_cloud_process", "environments"))
    started = str((run.get("counts") or {}).get("environments_started", "—"))
    seconds = [_f(cpu[k], 2) for k in ("wall", "local_cloud_process", "environments")]
    return [label, *seconds, _f(own, 0), _f(envs, 0), started, _f(min(cores * 1000 / (own + envs), 1000 / own), 0)]


def _checks_block(analysis: dict[str, Any]) -> str:
    def names(key: str) -> str:
        return ", ".join(f"`{n}`" for n in analysis.get(key) or []) or "none"

    rows = [
        ("The layer ships the X-Ray SDK (Powertools' Tracer on)", "yes" if analysis.get("xray_sdk_in_layer") else "no"),
        ("The callback's FastAPI dependencies run in the thread pool", names("callback_sync_dependencies")),
        ("The scheduler's FastAPI dependencies run in the thread pool", names("scheduler_sync_dependencies")),
    ]
    return _table(("Check", "Result"), rows)


# -- cost.md ------------------------------------------------------------------------------------


def cost_blocks(r: dict[str, Any]) -> dict[str, str]:
    """Each generated block of docs/cost.md, by name."""
    memory = r["callback_memory_mb"]
    bills = cost.figures(r, memory)
    ours, guide = cost.total(bills["callback"]), cost.total(bills["guide"])
    summary = [
        ("Running them: the callback (ours)", f"${ours:.2f}"),
        ("Running them: the guide's callback", f"${guide:.2f}"),
    ]
    creating = _missing(r.get("scheduling"))
    if "create_single" in bills:
        size = r["scheduling"]["batch"]["batch_size"]
        summary.append(("Creating them: one per request", f"${cost.total(bills['create_single']):.2f}"))
        summary.append((f"Creating them: in batches of {size}", f"${cost.total(bills['create_batch']):.2f}"))
        creating = _bill("One task per request", bills["create_single"]) + "\n\n"
        creating += _bill("Batches (`POST /api/v1/schedules/batch`)", bills["create_batch"])
    share = memory / cost.FULL_VCPU_MB
    duration = next(line.usd for line in bills["callback"] if line.item.startswith("Lambda duration"))
    sensitivity = [
        (f"Share of a vCPU ({memory} / {cost.FULL_VCPU_MB} MB)", f"{share:.0%}"),
        ("CPU-bound time stretched by up to", f"{1 / share:.1f}×"),
        ("The callback's duration line, as measured → stretched", f"${duration:.2f} → ${duration / share:.2f}"),
        ("The stretched duration line, of the total", f"{duration / share / ours:.0%}"),
    ]
    run = (
        f"Measured on {r['generated_at'][:10]} (see [performance.md](performance.md)); the callback at {memory} MB on "
    )
    run += f"arm64, as `template.yaml` configures it; us-east-1 list prices read on {cost.PRICES_READ}."
    running = (
        _bill("Callback (ours)", bills["callback"])
        + "\n\n"
        + _bill("The guide's callback (no idempotency)", bills["guide"])
    )
    prices = ((cost.dollars_per_unit(p.usd), p.unit, p.source) for p in cost.PRICES.values())
    return {
        "run": run,
        "summary": _table(("Per million tasks", "Cost"), summary),
        "running": running,
        "sensitivity": _table((f"At {memory} MB", ""), sensitivity),
        "creating": creating,
        "prices": _table(("Price", "Unit", "Source"), prices),
    }


def _bill(title: str, lines: list[cost.Line]) -> str:
    rows = [(x.item, x.quantity, x.arithmetic, f"${x.usd:.4f}") for x in lines]
    rows.append(("**Total**", "", "", f"**${cost.total(lines):.2f}**"))
    return f"### {title}\n\n" + _table(("Item", "Quantity", "Arithmetic", "Per million tasks"), rows)


# -- the docs -----------------------------------------------------------------------------------


def fill(text: str, blocks: dict[str, str], *, name: str = "the doc") -> str:
    """`text` with each generated block replaced; every block must have its markers, and every marker a block."""
    if sorted(found := _BLOCK.findall(text)) != sorted(blocks):
        raise ValueError(f"{name}: generated blocks {sorted(found)} in the text, {sorted(blocks)} to write")
    return _BLOCK.sub(lambda m: f"<!-- bench:{m[1]} -->\n{blocks[m[1]].strip()}\n<!-- /bench:{m[1]} -->", text)


def write_docs(r: dict[str, Any], docs_dir: Path) -> None:
    """performance.md and cost.md in `docs_dir`: the copy there, else docs/'s, with its tables from `r`."""
    for name, blocks in (("performance.md", performance_blocks(r)), ("cost.md", cost_blocks(r))):
        base = docs_dir / name if (docs_dir / name).is_file() else DOCS / name
        (docs_dir / name).write_text(fill(base.read_text(encoding="utf-8"), blocks, name=name), encoding="utf-8")
