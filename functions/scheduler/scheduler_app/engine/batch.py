"""The batch: many creates at once, a bounded number at a time, each answered as its own POST would be.

Throttled creates back off (exponential, full jitter) and retry. Each attempt is a create of its own,
with its own reading of the clock (a retry after a backoff is a later request).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from scheduler_app.engine.create import Created
from scheduler_app.errors import ScheduleConflict, SchedulerError, Throttled
from scheduler_app.models import ScheduleRequest, parse_schedule_request
from scheduler_app.responses import ScheduleView

T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter for throttled batch creates."""

    max_attempts: int = 5
    base_seconds: float = 0.1
    max_seconds: float = 2.0

    def delay(self, retry: int, jitter: float) -> float:
        """Seconds to wait before retry number `retry` (1-based); `jitter` is uniform in [0, 1)."""
        return jitter * min(self.max_seconds, self.base_seconds * 2.0 ** (retry - 1))


@dataclass(frozen=True)
class BatchOutcome:
    """One batch item: the schedule (and whether it is new), or the error it met."""

    index: int
    view: ScheduleView | None = None
    created: bool = False
    error: SchedulerError | None = None


@dataclass(frozen=True)
class Batch:
    """How a batch runs: its creates, how many at once, and how throttled ones wait."""

    create: Callable[[ScheduleRequest], Created]
    concurrency: int
    backoff: Backoff
    sleep: Callable[[float], None]
    jitter: Callable[[], float]

    def run(self, items: Sequence[Any]) -> list[BatchOutcome]:
        """Create every item; a task id given by two items goes to the first (the later ones are conflicts)."""
        parsed = first_claims(items)
        workers = max(1, min(self.concurrency, len(items)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="batch") as pool:
            return list(pool.map(self._item, range(len(items)), parsed))

    def _item(self, index: int, item: ScheduleRequest | SchedulerError) -> BatchOutcome:
        if isinstance(item, SchedulerError):
            return BatchOutcome(index=index, error=item)
        try:
            done = self.with_backoff(lambda: self.create(item))
        except SchedulerError as exc:
            return BatchOutcome(index=index, error=exc)
        return BatchOutcome(index=index, view=done.view, created=done.created)

    def with_backoff(self, call: Callable[[], T]) -> T:
        """`call()`, retried with exponential backoff and full jitter while it is throttled."""
        retry = 0
        while True:
            try:
                return call()
            except Throttled:
                retry += 1
                if retry >= self.backoff.max_attempts:
                    raise
                self.sleep(self.backoff.delay(retry, self.jitter()))


def first_claims(items: Sequence[Any]) -> list[ScheduleRequest | SchedulerError]:
    """Each item validated; a task id already given by an earlier item is a conflict naming that item.

    So the outcome never depends on which thread is faster.
    """
    parsed: list[ScheduleRequest | SchedulerError] = []
    first: dict[str, int] = {}
    for index, raw in enumerate(items):
        try:
            request = parse_schedule_request(raw)
        except SchedulerError as exc:
            parsed.append(exc)
            continue
        claimed = first.setdefault(request.task_id, index)
        parsed.append(
            request
            if claimed == index
            else ScheduleConflict(f"task_id {request.task_id!r} is already used by item {claimed} of this batch")
        )
    return parsed
