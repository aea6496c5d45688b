"""The local cloud's own log lines, the timing it keeps for the benchmark, and the filter that keeps the
functions' metric lines out of the terminal."""

from __future__ import annotations

import io
import json
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

#: Where the local cloud's lines go: a callable taking one JSON-able record.
LogSink = Callable[[dict[str, Any]], None]

_print_lock = threading.Lock()


def stdout_sink(record: dict[str, Any]) -> None:
    """One JSON line on stdout, as the functions' Powertools loggers write theirs."""
    line = json.dumps(record, default=str, ensure_ascii=False, separators=(",", ":"))
    with _print_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def log_record(component: str, message: str, *, level: str = "INFO", **fields: Any) -> dict[str, Any]:
    """A line in the shape of the functions' logs: level, message, timestamp, service, then the details."""
    return {
        "level": level,
        "message": message,
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "service": f"localcloud.{component}",
        **{k: v for k, v in fields.items() if v is not None},
    }


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The nearest-rank percentile (`fraction` in 0..1) of `values`; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


@dataclass
class DispatchStats:
    """Counts and latencies since start; read by `GET /_localcloud/stats` and the benchmark."""

    #: Seconds from an occurrence's scheduled time to its delivery to Lambda (what Scheduler's precision covers).
    fire_lateness: list[float] = field(default_factory=list)
    #: Seconds from an occurrence's scheduled time to the start of its first invocation (adds Lambda's queue).
    start_lateness: list[float] = field(default_factory=list)
    #: Deliveries that happened before their scheduled time (must stay 0).
    early: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, name: str, by: int = 1) -> None:
        """Add to a counter (from any thread: the local Lambda's workers count too)."""
        with self._lock:
            self.counts[name] = self.counts.get(name, 0) + by

    def summary(self) -> dict[str, Any]:
        """JSON-able totals and percentiles (seconds)."""

        def describe(values: list[float]) -> dict[str, Any]:
            snapshot = list(values)
            return {
                "count": len(snapshot),
                "p50": percentile(snapshot, 0.50),
                "p99": percentile(snapshot, 0.99),
                "max": max(snapshot) if snapshot else None,
            }

        return {
            "fire_lateness_seconds": describe(self.fire_lateness),
            "start_lateness_seconds": describe(self.start_lateness),
            "early": self.early,
            "counts": dict(sorted(dict(self.counts).items())),
        }


class MetricLineFilter(io.TextIOBase):
    """stdout without the functions' CloudWatch EMF metric lines (`{"_aws": ...}`), which would drown the logs.

    (Setting POWERTOOLS_METRICS_DISABLED instead would stop Powertools from clearing its metric set.)
    """

    def __init__(self, target: TextIO) -> None:
        self._target = target
        self._pending = ""
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        """Pass complete lines on, except metric lines."""
        with self._lock:
            self._pending += text
            while "\n" in self._pending:
                line, self._pending = self._pending.split("\n", 1)
                if not line.startswith('{"_aws":'):
                    self._target.write(line + "\n")
        return len(text)

    def flush(self) -> None:
        """Flush the real stdout."""
        self._target.flush()

    def writable(self) -> bool:
        """A text stream one writes to."""
        return True
