"""The one clock the system reads: the scheduler plans with it, the callback stamps runs with it, an action's
`TaskContext.now()` is it. The wall clock, unless a test hands in another (`use_clock`).

Every place on the request paths that needs "now" calls `utcnow()` (never `datetime.now` itself), so a test
kit that moves time (`localcloud.taskkit`, the `task_cloud` fixture) moves it for all of them at once. In
Lambda nothing ever replaces it: the cost is one extra function call per reading.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

#: A source of the current time: aware, UTC.
ClockSource = Callable[[], datetime]


def system_now() -> datetime:
    """The wall clock, aware, in UTC."""
    return datetime.now(UTC)


_source: ClockSource = system_now


def utcnow() -> datetime:
    """The current time, aware, in UTC, as this process's clock says (the wall clock unless a test moved it)."""
    return _source()


def set_clock(source: ClockSource | None) -> ClockSource:
    """Make `source` the process's clock (None: the wall clock again); returns the one it replaces."""
    global _source
    previous = _source
    _source = source if source is not None else system_now
    return previous


@contextmanager
def use_clock(source: ClockSource) -> Iterator[None]:
    """`source` is the process's clock inside the block; the previous one comes back after it."""
    previous = set_clock(source)
    try:
        yield
    finally:
        set_clock(previous)


__all__ = ["ClockSource", "set_clock", "system_now", "use_clock", "utcnow"]
