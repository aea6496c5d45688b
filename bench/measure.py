"""The callbacks' figures of `make bench`: cold starts, warm invocations, where the cold start goes.

Each function measures one figure, with every variant interleaved, and returns it as JSON-able data.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import cost
from bench.config import log
from bench.events import callback_events, create_events
from bench.lambda_runs import Harness, Variant, cold_starts, import_self_times, top_level_names
from bench.stats import median, median_ratio_interval, ratio, summarize

MS = 1e6  # nanoseconds per millisecond


def _ms(values_ns: list[int]) -> list[float]:
    return [v / MS for v in values_ns]


def measure_cold(h: Harness, vs: dict[str, Variant]) -> dict[str, Any]:
    """Cold starts, interleaved; each run delivers a new occurrence (a first delivery, not a replay)."""

    def events_for(v: Variant, r: int) -> Path:
        tag = f"cold-{v.name}-{r}"
        return h.events(tag, callback_events(tag, 1))

    out = {name: _cold_figures(runs) for name, runs in cold_starts(h, list(vs.values()), events_for).items()}
    guide = out["guide"]
    for fig in out.values():
        fig["vs_guide"] = {
            "total": ratio(fig["total_ms"]["p50"], guide["total_ms"]["p50"]),
            "total_ci95": median_ratio_interval(fig["samples_ms"]["total"], guide["samples_ms"]["total"]),
        }
    return out


def _cold_figures(runs: list[dict[str, Any]]) -> dict[str, Any]:
    init, first = _ms([r["init_ns"] for r in runs]), _ms([r["first_ns"] for r in runs])
    total = [a + b for a, b in zip(init, first, strict=True)]
    return {
        "runs": len(runs),
        "init_ms": summarize(init),
        "first_invoke_ms": summarize(first),
        "total_ms": summarize(total),
        "peak_rss_mb": summarize([r["peak_rss_kb"] / 1024 for r in runs]),
        "modules_loaded": runs[0]["modules"],
        "first_status": sorted({r["first_status"] for r in runs}),
        "samples_ms": {"init": init, "first_invoke": first, "total": total},
    }


@dataclass(frozen=True)
class WarmRow:
    """One row of *Warm invocations*: a variant, its idempotency storage (None: it has none), extra environment."""

    key: str
    variant: str
    idempotency: bool | None
    environment: Mapping[str, str] = field(default_factory=dict)

    @property
    def idempotency_label(self) -> str:
        return "n/a" if self.idempotency is None else ("enabled" if self.idempotency else "disabled")


#: What the INFO lines cost, by leaving them out.
_QUIET = {"POWERTOOLS_LOG_LEVEL": "WARNING"}
WARM_ROWS = (
    WarmRow("guide", "guide", None),
    WarmRow("bare", "bare", None),
    WarmRow("callback:disabled", "callback", False),
    WarmRow("callback:disabled:warning", "callback", False, _QUIET),
    WarmRow("resolver:disabled", "resolver", False),
    WarmRow("callback:enabled", "callback", True),
    WarmRow("resolver:enabled", "resolver", True),
)


def measure_warm(h: Harness, vs: dict[str, Variant]) -> dict[str, Any]:
    """Per-invocation latency in one warm container per round, idempotency storage disabled and enabled.

    Every row runs once per round (interleaved); the rows with idempotency storage then replay the last
    round's first occurrences (duplicate deliveries)."""
    rounds = max(1, h.cfg.warm_rounds)
    raws: dict[str, list[dict[str, Any]]] = {row.key: [] for row in WARM_ROWS}
    for r in range(rounds):
        for row in WARM_ROWS:
            raws[row.key].append(_warm_round(h, vs[row.variant], row, r, replay=r == rounds - 1))
    out = {row.key: _warm_figures(row, raws[row.key], rounds) for row in WARM_ROWS}
    for key, fig in out.items():
        fig["p50_vs_guide"] = ratio(fig["ms"]["p50"], out["guide"]["ms"]["p50"])
        log(f"warm {key}: p50 {fig['ms']['p50']:.3f} ms, p99 {fig['ms']['p99']:.3f} ms")
    return out


def _warm_round(h: Harness, v: Variant, row: WarmRow, r: int, *, replay: bool) -> dict[str, Any]:
    cfg, per_round = h.cfg, h.cfg.warm_invocations // max(1, h.cfg.warm_rounds)
    tag = f"warm-{row.key.replace(':', '-')}-r{r}"
    events = h.events(tag, callback_events(tag, 1 + cfg.warmup + per_round))
    env = h.env(v, idempotency=row.idempotency is not False) | dict(row.environment)
    replays = cfg.replays if row.idempotency and replay else 0
    return h.run(v, events, env, mode="warm", warmup=cfg.warmup, count=per_round, replay=replays)


def _warm_figures(row: WarmRow, runs: list[dict[str, Any]], rounds: int) -> dict[str, Any]:
    statuses: Counter[str] = sum((Counter(run["statuses"]) for run in runs), Counter())
    durations = [d for run in runs for d in _ms(run["durations_ns"])]
    fig: dict[str, Any] = {
        "variant": row.variant,
        "idempotency": row.idempotency_label,
        "environment": dict(row.environment),
        "rounds": rounds,
        "ms": summarize(durations),
        "billed_ms_mean": cost.billed_ms(durations),
        "statuses": dict(statuses),
        "log_bytes_per_invocation": sum(r["log_bytes"] for r in runs) / sum(r["invocations"] for r in runs),
    }
    if "replay_ns" in (last := runs[-1]):
        fig |= {"replay_ms": summarize(_ms(last["replay_ns"])), "replay_statuses": last["replay_statuses"]}
    return fig


def measure_importtime(h: Harness, vs: dict[str, Variant]) -> dict[str, Any]:
    """Where init and the first invocation spend their time: ``-X importtime`` self time per package
    (importtime adds its own overhead, so these sum to more than the cold-start figures: shares, not totals)."""
    samples: dict[str, list[dict[str, dict[str, float]]]] = {"guide": [], "callback": []}
    for r in range(h.cfg.importtime_runs):
        for name, runs in samples.items():
            v, tag = vs[name], f"importtime-{name}-{r}"
            raw = h.run(v, h.events(tag, callback_events(tag, 1)), importtime=True)
            runs.append(import_self_times(raw["importtime_stderr"], top_level_names(v.paths)))
    return {
        name: {phase: _medians([run[phase] for run in runs]) for phase in ("init", "first_invoke")}
        for name, runs in samples.items()
    }


def _medians(runs: list[dict[str, float]]) -> dict[str, float]:
    """The median of each package over the runs (0 where a run did not import it), largest first."""
    medians = {pkg: median([run.get(pkg, 0.0) for run in runs]) for pkg in {p for run in runs for p in run}}
    return dict(sorted(medians.items(), key=lambda kv: -kv[1]))


def imported_layer_sources(h: Harness, callback: Variant, scheduler: Variant) -> set[str]:
    """The layer's source files (`fastapi/routing.py`) the two functions import to handle one event each:
    a delivery (the callback) and a create (the scheduler)."""
    imported: set[str] = set()
    for v, events in ((callback, callback_events), (scheduler, create_events)):
        raw = h.run(v, h.events(f"imported-{v.name}", events(f"imported-{v.name}", 1)), report_modules=True)
        imported |= layer_sources(raw["module_files"], v.paths[1])
    return imported


def layer_sources(module_files: Iterable[str], layer: Path) -> set[str]:
    """The layer's source files among `module_files`, relative to the layer (`fastapi/routing.py`)."""
    paths = (Path(name) for name in module_files)
    return {p.relative_to(layer).as_posix() for p in paths if p.suffix == ".py" and p.is_relative_to(layer)}
