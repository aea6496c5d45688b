"""An attempt's deadline: the action's own `timeout`, or the function's Timeout less a margin, whichever is first.

Lambda kills an invocation at its Timeout without a word: nothing after that can be written. So each attempt
has a deadline a margin before it (the Lambda context's remaining time, read when the action starts), or
sooner when the action declares its own `timeout` (taskcore.registry). At the deadline:

- on the main thread (where Lambda's runtime runs the handler) SIGALRM interrupts the action: it raises
  `ActionTimedOut` inside it, and the attempt ends as `timed_out` by the ordinary path (its idempotency
  record deleted, the run recorded, the invocation failed so that Lambda retries);
- on any other thread (a signal cannot reach it) the watchdog records the attempt as `timed_out` in the
  ledger (final on the occurrence's last attempt) while there is still time, and whatever the action
  returns later is treated as a timeout.

The watchdog is one daemon thread per container, started on first use; arming and disarming it is a lock
and a notify, so an attempt pays nothing for it beyond that.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from callback_app.errors import ActionTimedOut

T = TypeVar("T")


class Watchdog:
    """Calls each armed function at its time, from its own thread, unless it is disarmed first."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._due: dict[int, tuple[float, Callable[[], None]]] = {}
        self._ids = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, seconds: float, fire: Callable[[], None]) -> int:
        with self._cond:
            token = next(self._ids)
            self._due[token] = (time.monotonic() + seconds, fire)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="callback-watchdog", daemon=True)
                self._thread.start()
            self._cond.notify()
            return token

    def disarm(self, token: int) -> None:
        with self._cond:
            self._due.pop(token, None)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._due:
                    self._cond.wait()
                token, (due, fire) = min(self._due.items(), key=lambda entry: entry[1][0])
                wait = due - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                del self._due[token]
            with contextlib.suppress(Exception):  # the watchdog outlives a failed write (which logs itself)
                fire()


_WATCHDOG = Watchdog()


class _Alarm:
    """SIGALRM in `seconds` (the process has one interval timer), and, when it is restored, the timer and handler
    that were there before: an enclosing deadline (the local cloud's in-process Timeout, localcloud.deadline) keeps
    what it had left, and fires first when it is the sooner (this handler sees it; the outer one right after)."""

    def __init__(self, seconds: float, handler: Callable[[int, Any], None]) -> None:
        import signal

        self.previous: Any = signal.signal(signal.SIGALRM, handler)
        self.outer = signal.getitimer(signal.ITIMER_REAL)[0]
        self.armed_at = time.monotonic()
        wanted = max(seconds, 0.001)
        signal.setitimer(signal.ITIMER_REAL, min(wanted, self.outer) if self.outer > 0 else wanted)

    def restore(self) -> None:
        import signal

        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self.previous)
        if self.outer > 0:
            signal.setitimer(signal.ITIMER_REAL, max(self.outer - (time.monotonic() - self.armed_at), 1e-6))


class Deadline:
    """One attempt's deadline: `run` calls the action under it."""

    def __init__(self, seconds: float | None, on_deadline: Callable[[], None] | None = None, *, grace: float = 0.0):
        self.seconds = seconds
        self.on_deadline = on_deadline
        self.grace = grace
        self._lock = threading.Lock()
        self._settled = False
        self.passed = False

    def _claim(self) -> bool:
        """Whether this caller is the first to settle the attempt (the action's end, or the watchdog)."""
        with self._lock:
            if self._settled:
                return False
            self._settled = True
            return True

    def _fire(self) -> None:
        if self._claim():
            self.passed = True
            if self.on_deadline is not None:
                self.on_deadline()

    def run(self, action: Callable[[], T]) -> T:
        """`action()`, interrupted (main thread) or disowned (other threads) at the deadline: ActionTimedOut."""
        if self.seconds is None:
            return action()
        import signal

        main = threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")
        alarm = _Alarm(self.seconds, self._interrupt) if main else None
        # On the main thread the signal ends the action first; the watchdog stays as the backstop.
        token = _WATCHDOG.arm(max(self.seconds, 0.0) + (self.grace if main else 0.0), self._fire)
        try:
            result = action()
        finally:
            _WATCHDOG.disarm(token)
            if alarm is not None:
                alarm.restore()
            settled_here = self._claim()
        if not settled_here:
            raise ActionTimedOut(f"no result within {self.seconds:g} s")
        return result

    def _interrupt(self, signum: int, frame: Any) -> None:
        if self._claim():
            self.passed = True
            raise ActionTimedOut(f"no result within {self.seconds:g} s")


def deadline_seconds(action_timeout: float | None, remaining_ms: int | None, margin: float) -> float | None:
    """Seconds until the attempt's deadline: the action's timeout, or the function's remaining time less
    `margin` (when there is more than the margin left), whichever is sooner; None for neither."""
    candidates = [action_timeout] if action_timeout is not None else []
    if remaining_ms is not None and remaining_ms / 1000 > margin:
        candidates.append(remaining_ms / 1000 - margin)
    return min(candidates) if candidates else None


__all__ = ["ActionTimedOut", "Deadline", "Watchdog", "deadline_seconds"]
