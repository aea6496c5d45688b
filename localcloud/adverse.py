"""The adverse mode: AWS as it really behaves, where a kind emulator would hide it.

Each behaviour is one knob of `Adversity`, settable on its own (a test, `LocalCloud(options)`, or
`python -m localcloud.dev --adverse-set KNOB=VALUE`); `Adversity.preset()` (`--adverse`) turns all of them on
with AWS's documented figures. The default (`Adversity()`) changes nothing: `make dev` stays punctual and quick.
docs/local-cloud.md ("AWS as it really behaves") tables each knob with its AWS source.

Durations are AWS's (a minute is 60) multiplied by `time_scale`, so that a test lives through Lambda's
two-minute retries in a second; rates (per second of the local cloud's clock: virtual under a FakeClock) are set
directly (a test lowers them to provoke throttling with a handful of requests).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from typing import Any

__all__ = ["AWS_RETRY_DELAYS", "Adversity", "TokenBuckets", "parse_knob"]

#: Lambda's asynchronous retries: about 1 and 2 minutes after the failed attempt.
AWS_RETRY_DELAYS: tuple[float, ...] = (60.0, 120.0)


@dataclass(frozen=True)
class Adversity:
    """The adverse mode's knobs. Each defaults to the kind behaviour; `preset()` is AWS's."""

    #: Multiplies every AWS duration below (retry delays, event age, delivery spread): 0.01 makes a minute 0.6 s.
    time_scale: float = 1.0
    #: Scheduler: the share of deliveries made twice (the second with its own execution id).
    scheduler_duplicate_rate: float = 0.0
    #: Lambda: the share of accepted events invoked twice (the same event, a second invocation).
    lambda_duplicate_rate: float = 0.0
    #: Scheduler: an occurrence is delivered at a random moment up to this many (AWS) seconds after its time.
    delivery_spread_seconds: float = 0.0
    #: Lambda: retries wait AWS's ~60 s and ~120 s (scaled) instead of `--lambda-retry-delays`.
    aws_retry_delays: bool = False
    #: Lambda: an event still waiting in Lambda's queue past MaximumEventAgeInSeconds (scaled) goes to the
    #: on-failure destination unrun (condition EventAgeExceeded, approximateInvokeCount 0).
    event_age_in_queue: bool = False
    #: Lambda: MaximumEventAgeInSeconds in AWS seconds (scaled); None: the function's EventInvokeConfig.
    max_event_age_seconds: float | None = None
    #: DynamoDB: write capacity units per second per partition key value (table and each GSI); None: unlimited.
    dynamodb_wcu_per_key: float | None = None
    #: DynamoDB: read capacity units per second per partition key value (table and each GSI); None: unlimited.
    dynamodb_rcu_per_key: float | None = None
    #: Scheduler: target invocations per second; more wait for the next free slot. None: unlimited.
    scheduler_invocations_per_second: float | None = None
    #: Lambda: an on-failure record larger than this (bytes) is sent without its request payload. None: never.
    failure_record_limit_bytes: int | None = None
    #: Lambda: enforce the function's Timeout in the in-process mode too (the environments mode always does).
    in_process_timeout: bool = True
    #: Seed of the random choices (duplicates, spread); None: a new one per run.
    seed: int | None = None
    _rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.seed is not None:
            self._rng.seed(self.seed)
        for name in ("scheduler_duplicate_rate", "lambda_duplicate_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.time_scale <= 0:
            raise ValueError("time_scale must be positive")

    @classmethod
    def preset(cls, *, time_scale: float = 1.0, **knobs: Any) -> Adversity:
        """`--adverse`: every knob at AWS's documented figure (docs/local-cloud.md cites each)."""
        values: dict[str, Any] = {
            "time_scale": time_scale,
            "scheduler_duplicate_rate": 0.01,
            "lambda_duplicate_rate": 0.01,
            "delivery_spread_seconds": 60.0,
            "aws_retry_delays": True,
            "event_age_in_queue": True,
            "dynamodb_wcu_per_key": 1000.0,
            "dynamodb_rcu_per_key": 3000.0,
            "scheduler_invocations_per_second": 1000.0,
            "failure_record_limit_bytes": 262_144,
            "in_process_timeout": True,
        }
        values.update(knobs)
        return cls(**values)

    @property
    def active(self) -> bool:
        """Whether any knob differs from the kind default."""
        return self != Adversity(seed=self.seed)

    def scaled(self, aws_seconds: float) -> float:
        """An AWS duration in this run's seconds."""
        return aws_seconds * self.time_scale

    def chance(self, rate: float) -> bool:
        """True with probability `rate` (the run's seeded random source)."""
        return rate > 0 and self._rng.random() < rate

    def spread(self) -> float:
        """Seconds (scaled) after its time at which an occurrence is delivered."""
        if self.delivery_spread_seconds <= 0:
            return 0.0
        return self._rng.uniform(0.0, self.scaled(self.delivery_spread_seconds))

    def retry_delays(self, configured: tuple[float, ...]) -> tuple[float, ...]:
        """Lambda's retry delays in this run's seconds."""
        if self.aws_retry_delays:
            return tuple(self.scaled(d) for d in AWS_RETRY_DELAYS)
        return configured

    def event_age(self, configured: float) -> float:
        """MaximumEventAgeInSeconds in this run's seconds."""
        return self.scaled(self.max_event_age_seconds if self.max_event_age_seconds is not None else configured)

    def settings(self) -> dict[str, Any]:
        """The knobs as a dict (for the banner and the stats)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")}


def parse_knob(adversity: Adversity, text: str) -> Adversity:
    """`KNOB=VALUE` (the command line's `--adverse-set`) applied to `adversity`; ValueError names what is wrong."""
    name, sep, raw = text.partition("=")
    name = name.strip().replace("-", "_")
    known = {f.name: f for f in fields(Adversity) if not f.name.startswith("_")}
    if not sep or name not in known:
        raise ValueError(f"expected KNOB=VALUE with KNOB one of {', '.join(sorted(known))}; got {text!r}")
    current = getattr(Adversity(), name)
    value: Any
    raw = raw.strip()
    if raw.lower() in {"none", "off", ""} and name not in {"aws_retry_delays", "event_age_in_queue"}:
        value = None
    elif isinstance(current, bool):
        value = raw.lower() in {"1", "true", "on", "yes"}
    elif name in {"failure_record_limit_bytes", "seed"}:
        value = int(raw)
    else:
        value = float(raw)
    return replace(adversity, **{name: value})


class TokenBuckets:
    """Rate limits per key: `rate` units per second, up to one second of them at once. Thread-safe."""

    def __init__(self, rate: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[Any, tuple[float, float]] = {}

    def take(self, key: Any, units: float) -> bool:
        """Spend `units` from `key`'s bucket; False (nothing spent) when it has too few."""
        now = self._clock()
        with self._lock:
            level, at = self._buckets.get(key, (self.rate, now))
            level = min(self.rate, level + (now - at) * self.rate)
            if level < units and level < self.rate:
                self._buckets[key] = (level, now)
                return False
            self._buckets[key] = (level - units, now)
            return True

    def wait_for(self, key: Any, units: float = 1.0) -> float:
        """Seconds until `units` are free in `key`'s bucket (0: spend them now)."""
        now = self._clock()
        with self._lock:
            level, at = self._buckets.get(key, (self.rate, now))
            level = min(self.rate, level + (now - at) * self.rate)
            if level >= units:
                self._buckets[key] = (level - units, now)
                return 0.0
            self._buckets[key] = (level, now)
            return (units - level) / self.rate
