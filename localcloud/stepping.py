"""One driver for the local cloud's two services on a FakeClock: days of schedules in milliseconds.

In real time each service runs its own loop (`Dispatcher.serve`, `LambdaService.serve`), and they talk
only through the invoke interface (`submit`). A test on a `FakeClock` steps both from its own thread
instead, in time order: at each moment that matters the Scheduler fires what is due and Lambda runs what
it was handed (an in-process function on this thread, whose event loop its Mangum adapter uses), until
neither has more to do at that moment; then the clock jumps to the next moment either service names.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from localcloud.clock import Clock, FakeClock
from localcloud.dispatcher import Dispatcher
from localcloud.lambda_service import LambdaService

__all__ = ["Poller", "Stepper"]


class Poller(Protocol):
    """An event source mapping's poller (`localcloud.event_sources.SqsEventSource`)."""

    def poll_once(self, *, wait: int = 0) -> int:
        """Handle one batch; how many messages it held (0: the queue was empty)."""
        ...


class Stepper:
    """Steps the Scheduler emulator and the Lambda emulator together on one FakeClock, in time order."""

    def __init__(
        self, clock: Clock, scheduler: Dispatcher, lambda_: LambdaService, event_sources: Sequence[Poller] = ()
    ) -> None:
        if not isinstance(clock, FakeClock):
            raise TypeError("run_until needs a FakeClock; serve() runs in real time")
        self.clock: FakeClock = clock
        self.scheduler = scheduler
        self.lambda_ = lambda_
        #: The event source mappings' pollers: each polled until its queue is empty, after Lambda ran.
        self.event_sources = tuple(event_sources)

    def run_pending(self) -> None:
        """Refresh, then fire and run everything due at the clock's current time (one thread: this one)."""
        from callback_app.backoff import waiting_on

        self.scheduler.refresh()
        # A throttled write's backoff waits on this clock: its key's units refill in virtual time, as on AWS.
        with waiting_on(self._advance, lambda: self.clock.now().timestamp()):
            while True:
                now = self.clock.now()
                self.scheduler.fire_due(now)
                if self.lambda_.step(now):
                    continue
                if not any(source.poll_once() for source in self.event_sources):
                    break
        self.scheduler.flush()

    def _advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def next_due(self) -> datetime | None:
        """The earliest moment either service needs attention (an occurrence, a delivery retry, a Lambda retry)."""
        times = [t for t in (self.scheduler.next_due(), self.lambda_.next_due()) if t is not None]
        return min(times) if times else None

    def run_until(self, until: datetime) -> None:
        """Live through every moment that matters up to `until`, without waiting."""
        while True:
            self.run_pending()
            upcoming = self.next_due()
            if upcoming is None or upcoming > until:
                break
            self.clock.set(max(upcoming, self.clock.now()))
        if until > self.clock.now():
            self.clock.set(until)
            self.run_pending()
