"""Time for the local cloud: the wall clock, or a fake one that tests move forward instantly."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """What the dispatcher needs from time: the current instant, and a wait that a wake-up can cut short."""

    def now(self) -> datetime:
        """The current time, aware, in UTC."""
        ...

    def wait(self, wake: threading.Event, seconds: float) -> bool:
        """Block for up to `seconds` or until `wake` is set; True when woken."""
        ...


class SystemClock:
    """The real wall clock (schedules are wall-clock times)."""

    def now(self) -> datetime:
        """The current time, aware, in UTC."""
        return datetime.now(UTC)

    def wait(self, wake: threading.Event, seconds: float) -> bool:
        """Sleep on `wake` for up to `seconds`."""
        return wake.wait(max(0.0, seconds))


class FakeClock:
    """A clock that only moves when told to: `advance()`, `set()`, or a `wait()` (which jumps ahead)."""

    def __init__(self, start: datetime | None = None) -> None:
        moment = start or datetime.now(UTC)
        if moment.tzinfo is None:
            raise ValueError("FakeClock needs an aware start time")
        self._now = moment.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The fake current time."""
        with self._lock:
            return self._now

    def set(self, moment: datetime) -> None:
        """Jump to `moment`; time never goes backwards."""
        with self._lock:
            if moment.astimezone(UTC) < self._now:
                raise ValueError(f"the clock cannot go back from {self._now.isoformat()} to {moment.isoformat()}")
            self._now = moment.astimezone(UTC)

    def advance(self, seconds: float) -> datetime:
        """Move forward by `seconds`; returns the new time."""
        with self._lock:
            self._now += timedelta(seconds=seconds)
            return self._now

    def wait(self, wake: threading.Event, seconds: float) -> bool:
        """No real waiting: a pending wake-up returns at once, otherwise the time jumps by `seconds`."""
        if wake.is_set():
            return True
        self.advance(max(0.0, seconds))
        return False
