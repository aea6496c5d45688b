"""How much `make bench` measures, and where it says how far it is."""

from __future__ import annotations

import sys
from dataclasses import dataclass

#: An assumed round trip for one AWS API call from Lambda to a regional endpoint. moto on loopback has
#: none, so without it concurrency has nothing to overlap; the loopback figure is reported as well.
MODELLED_RTT_MS = 20.0


@dataclass(frozen=True)
class Config:
    """How much of each figure to measure: the defaults are the full run's (about ten minutes on two cores)."""

    quick: bool = False
    cold_runs: int = 15
    warm_invocations: int = 2000
    #: The warm invocations are split into this many rounds, each running every handler in turn, so a
    #: slow phase of a shared machine falls on all handlers alike instead of on one.
    warm_rounds: int = 4
    warmup: int = 100
    replays: int = 500
    importtime_runs: int = 5
    single_creates: int = 300
    batch_size: int = 100
    batches: int = 3
    simultaneous_schedules: int = 1000
    #: The heat model's creates (bench/heat.py), each then delivered once. Today's quota Query reads every live
    #: task of the owner on each create, which moto answers in time proportional to the table: O(n²) here.
    heat_creates: int = 500

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
            heat_creates=20,
        )


def log(message: str) -> None:
    """Progress on stderr."""
    print(f"bench: {message}", file=sys.stderr, flush=True)
