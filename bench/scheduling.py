"""Scheduling throughput: creates per second through the scheduler's entry point, one per request vs batches."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from bench import cost
from bench.events import batch_events, create_events
from bench.lambda_runs import Harness, Variant
from bench.stats import ratio, summarize
from bench.stored import count_schedules
from localcloud.endpoint import LocalEndpoint


def measure_scheduling(
    h: Harness, v: Variant, endpoint: LocalEndpoint, *, aws_latency_ms: float = 0.0
) -> dict[str, Any]:
    """Creates per second through the scheduler's entry point `v`, one per request vs `batch_size` per request.

    Both run in one warm container against the local endpoint; the first request of each run warms it
    and is not counted. Every schedule is then counted in the group, so a throughput is only reported
    for creates that happened. With `aws_latency_ms`, each AWS call first waits that long (a modelled
    network round trip; see runner.model_network_latency).
    """
    cfg, tag = h.cfg, f"rtt{aws_latency_ms:g}" if aws_latency_ms else "loopback"
    before = count_schedules(endpoint)
    singles = h.events(f"single-{tag}", create_events(f"single-{tag}", cfg.single_creates + 1))
    batches = h.events(f"batch-{tag}", batch_events(f"batch-{tag}", cfg.batches + 1, cfg.batch_size))
    single = h.run(v, singles, mode="warm", count=cfg.single_creates, aws_latency_ms=aws_latency_ms)
    batch = h.run(v, batches, mode="warm", count=cfg.batches, keep_responses=True, aws_latency_ms=aws_latency_ms)
    out: dict[str, Any] = {
        "aws_latency_ms": aws_latency_ms,
        "single": _figures(single, requests=cfg.single_creates, size=1),
        "batch": {
            "batch_size": cfg.batch_size,
            **_figures(batch, requests=cfg.batches, size=cfg.batch_size),
            "item_statuses": batch_item_statuses(batch["responses"]),
        },
    }
    expected = (cfg.single_creates + 1) + (cfg.batches + 1) * cfg.batch_size
    out["schedules_in_group"] = {"expected": expected, "found": count_schedules(endpoint) - before}
    out["speedup"] = ratio(out["batch"]["creates_per_second"], out["single"]["creates_per_second"])
    return out


def _figures(raw: dict[str, Any], *, requests: int, size: int) -> dict[str, Any]:
    durations_ms = [d / 1e6 for d in raw["durations_ns"]]
    seconds = sum(raw["durations_ns"]) / 1e9
    return {
        "requests": requests,
        "creates": requests * size,
        "seconds": seconds,
        "creates_per_second": requests * size / seconds,
        "request_ms": summarize(durations_ms),
        "billed_ms_mean": cost.billed_ms(durations_ms),
        "log_bytes_per_request": raw["log_bytes"] / raw["invocations"],
        "statuses": raw["statuses"],
    }


def batch_item_statuses(responses: list[dict[str, Any]]) -> dict[str, int]:
    """How many batch items were answered with each status."""
    items = (i for response in responses for i in json.loads(response.get("body") or "{}").get("items", []))
    return dict(Counter(str(item["status"]) for item in items))
