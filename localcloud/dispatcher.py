"""The local EventBridge Scheduler: fire due schedules into the local Lambda the way AWS does.

- Occurrences: `at()`, `cron()` and `rate()` read in the schedule's time zone, within StartDate/EndDate
  (`taskcore.expressions`); DISABLED schedules are skipped; nothing fires before its time, and no
  occurrence fires twice (the last fired occurrence is kept per schedule incarnation).
- Delivery: the context attributes are substituted into `Target.Input` for each delivery attempt (a new
  execution id and attempt number each time, the occurrence's scheduled time), and the event goes to
  Lambda as an asynchronous invoke (`lambda_async`). A delivery that fails (target is not a local
  function, wrong role, payload not JSON or too large, or an injected fault) is retried with
  exponential backoff under the schedule's RetryPolicy when the error is retryable, and then goes to
  its dead-letter queue with Scheduler's message attributes; permanent errors go there at once.
- ActionAfterCompletion DELETE: once the last occurrence is delivered (or dead-lettered), the schedule
  is deleted through the Scheduler API. A recurring schedule past its EndDate stops.
- FlexibleTimeWindow is not randomised: every occurrence fires at the start of its window.
- The adverse mode (`localcloud.adverse`) delivers anywhere within the minute after the scheduled time, delivers
  some occurrences twice (each delivery with its own execution id), and holds deliveries beyond Scheduler's
  invocation rate until the next free slot.

`serve()` is its own loop: it only fires and hands events to Lambda through the invoke interface
(`submit` queues them), so a running or waiting invocation never holds back a delivery; Lambda runs
them in its own loop meanwhile (`localcloud.lambda_service`). A test on a `FakeClock` steps both
services in time order instead (`localcloud.stepping`).
"""

from __future__ import annotations

import heapq
import itertools
import math
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from localcloud.adverse import Adversity, TokenBuckets
from localcloud.clock import Clock, SystemClock
from localcloud.delivery import (
    DELIVERY_ENDING,
    Delivery,
    DeliveryError,
    DeliveryFault,
    dead_letter,
    prepare,
    retry_delay,
)
from localcloud.lambda_service import Invocation, Invoke
from localcloud.occurrences import one_time_occurrence, recurring_occurrence
from localcloud.queues import SqsSender
from localcloud.schedules import MotoScheduleStore, Schedule, ScheduleDeleter
from localcloud.stats import DispatchStats, LogSink, log_record, stdout_sink
from taskcore.expressions import AtExpression, Expression, parse_expression, parse_timezone
from taskcore.proxy import format_scheduled_time, substitute_context_attributes

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TICK = timedelta(microseconds=1)


@dataclass
class _Tracked:
    schedule: Schedule
    expression: Expression | None
    revision: tuple[float, float]


class Dispatcher:
    """Fires the schedules of one group into the local Lambda, through its invoke interface only."""

    def __init__(
        self,
        store: MotoScheduleStore,
        lambda_: Invoke,
        *,
        clock: Clock | None = None,
        stats: DispatchStats | None = None,
        role_arn: str | None = None,
        also_roles: frozenset[str] = frozenset(),
        sender: SqsSender | None = None,
        deleter: ScheduleDeleter | None = None,
        poll_interval: float = 0.25,
        delivery_retry_base: float = 1.0,
        delivery_retry_max: float = 60.0,
        catch_up_seconds: float = 60.0,
        fault: DeliveryFault | None = None,
        log: LogSink = stdout_sink,
        adversity: Adversity | None = None,
    ) -> None:
        self.adversity = adversity or Adversity()
        rate = self.adversity.scheduler_invocations_per_second
        self._rate = TokenBuckets(rate, clock=lambda: self.clock.now().timestamp()) if rate else None
        self.store = store
        self.lambda_ = lambda_
        self.clock: Clock = clock or SystemClock()
        self.stats = stats or DispatchStats()
        self._role_arn = role_arn
        #: Roles template.yaml's own schedules use (their targets' grants are the template's, not the API's).
        self._also_roles = also_roles
        self._sender = sender or SqsSender()
        self._deleter = deleter or ScheduleDeleter(store, log=log)
        self._poll_interval = poll_interval
        self._retry_base = delivery_retry_base
        self._retry_max = delivery_retry_max
        self._catch_up = timedelta(seconds=catch_up_seconds)
        self.fault = fault
        self._log = log
        #: `--persist`: makes an entry durable (`localcloud.journal.Journal.record`) before it is acted on.
        self.journal: Callable[..., None] | None = None
        self._tracked: dict[str, _Tracked] = {}
        #: (when to deliver, sequence, schedule name, its version, the occurrence's scheduled time)
        self._due: list[tuple[datetime, int, str, tuple[str, datetime, datetime], datetime]] = []
        self._retries: list[tuple[datetime, int, Delivery]] = []
        self._last_fired: dict[tuple[str, datetime], datetime] = {}
        self._sequence = itertools.count()
        self._wake = threading.Event()
        self._refresh_wanted = threading.Event()
        self._stop = threading.Event()

    # -- what is scheduled --------------------------------------------------------------------------------------

    def refresh(self, now: datetime | None = None) -> None:
        """Pick up created, changed, disabled and deleted schedules."""
        now = now or self.clock.now()
        revisions = self.store.revisions()
        for name in [n for n in self._tracked if n not in revisions]:
            del self._tracked[name]
        for name, revision in revisions.items():
            tracked = self._tracked.get(name)
            if tracked is not None and tracked.revision == revision:
                continue
            schedule = self.store.get(name)
            if schedule is not None:
                self._track(schedule, now)

    def _track(self, schedule: Schedule, now: datetime) -> None:
        try:
            expression: Expression | None = parse_expression(schedule.expression)
            parse_timezone(schedule.timezone)
        except ValueError as exc:
            expression = None
            self._log(
                log_record(
                    "dispatcher", "schedule never fires: invalid", level="ERROR", schedule=schedule.name, error=str(exc)
                )
            )
        self._tracked[schedule.name] = _Tracked(schedule, expression, schedule.revision)
        if expression is not None:
            self._push(schedule, self._next_occurrence(schedule, expression, now))

    def _push(self, schedule: Schedule, due: datetime | None) -> None:
        if due is not None:
            deliver_at = due + timedelta(seconds=self.adversity.spread())
            heapq.heappush(self._due, (deliver_at, next(self._sequence), schedule.name, schedule.version, due))

    def _next_occurrence(
        self, schedule: Schedule, expression: Expression, now: datetime, after: datetime | None = None
    ) -> datetime | None:
        """The next occurrence to fire: after the last one fired, and not a backlog from before it was seen."""
        if not schedule.enabled:
            return None
        last = self._last_fired.get((schedule.arn, schedule.created))
        if isinstance(expression, AtExpression):
            return one_time_occurrence(schedule, expression, now, last, log=self._log)
        return recurring_occurrence(schedule, expression, now, after, last, catch_up=self._catch_up)

    def next_due(self) -> datetime | None:
        """The earliest time anything (an occurrence or a delivery retry) needs attention."""
        heads = (self._due[0][0] if self._due else None, self._retries[0][0] if self._retries else None)
        times = [t for t in heads if t is not None]
        return min(times) if times else None

    # -- firing ------------------------------------------------------------------------------------------------

    def fire_due(self, now: datetime | None = None) -> int:
        """Deliver every occurrence and delivery retry that is due; returns how many occurrences fired."""
        now = now or self.clock.now()
        fired = 0
        while self._due and self._due[0][0] <= now:
            _, _, name, version, due = heapq.heappop(self._due)
            if self._fire(due, name, version, now):
                fired += 1
        while self._retries and self._retries[0][0] <= now:
            self._attempt(heapq.heappop(self._retries)[2], now)
        return fired

    def _fire(self, due: datetime, name: str, version: tuple[str, datetime, datetime], now: datetime) -> bool:
        """Deliver one occurrence taken from the heap, and queue the schedule's next; False when it is stale."""
        current = self._still_current(name, version, now)
        if current is None:
            return False
        live, expression = current
        key = (live.arn, live.created)
        if self._last_fired.get(key, _EPOCH) >= due:
            return False  # this occurrence was fired already
        self._last_fired[key] = due
        following = self._next_occurrence(live, expression, now, after=due)
        self._push(live, following)
        last = following is None and live.action_after_completion == "DELETE"
        self._attempt(Delivery(live, due, delete_after=last), now)
        return True

    def _still_current(
        self, name: str, version: tuple[str, datetime, datetime], now: datetime
    ) -> tuple[Schedule, Expression] | None:
        """The schedule of an occurrence taken from the heap, if that occurrence still stands.

        None when the schedule changed since it was queued (its new revision has its own entry, and one
        found changed here is tracked again), was deleted, or has an invalid expression.
        """
        tracked = self._tracked.get(name)
        if tracked is None or tracked.expression is None or tracked.schedule.version != version:
            return None  # superseded by a later revision (which has its own entry) or gone
        live = self.store.get(name)  # the last word: cancelled or changed since the last refresh?
        if live is None:
            del self._tracked[name]
            return None
        if live.version != version:
            self._track(live, now)
            return None
        return live, tracked.expression

    def _attempt(self, delivery: Delivery, now: datetime) -> None:
        if self._rate is not None and (wait := self._rate.wait_for("invocations")) > 0:
            # Over Scheduler's invocation rate: the delivery waits for the next free slot (adverse mode).
            self.stats.count("deliveries_throttled")
            # At least a microsecond (the clock's resolution): a shorter wait, left over from float rounding, would
            # queue it again at this very instant, and the burst would never drain.
            later = now + timedelta(microseconds=max(1, math.ceil(wait * 1_000_000)))
            heapq.heappush(self._retries, (later, next(self._sequence), delivery))
            return
        self._deliver(delivery, now)
        if self.adversity.chance(self.adversity.scheduler_duplicate_rate):
            # At-least-once: the same occurrence delivered again, with an execution id of its own (adverse mode).
            self.stats.count("delivery_duplicates")
            self._deliver(replace(delivery, delete_after=False), now, duplicate=True)

    def _deliver(self, delivery: Delivery, now: datetime, *, duplicate: bool = False) -> None:
        schedule, due = delivery.schedule, delivery.scheduled_time
        execution_id = str(uuid.uuid4())
        payload = substitute_context_attributes(
            schedule.input if schedule.input is not None else "{}",
            schedule_arn=schedule.arn,
            scheduled_time=due,
            execution_id=execution_id,
            attempt=delivery.attempt,
        )
        late = (self.clock.now() - due).total_seconds()  # now, not the tick's start: a burst takes time
        try:
            role = None if schedule.role_arn in self._also_roles else self._role_arn
            event = prepare(schedule, payload, lambda_=self.lambda_, role_arn=role)
            if self.fault is not None and (injected := self.fault(schedule, delivery.attempt)) is not None:
                raise injected
        except DeliveryError as error:
            if not duplicate:  # a duplicate that fails leaves it to the first delivery's ending
                self._delivery_failed(delivery, payload, execution_id, error, now)
            return
        self.lambda_.submit(
            Invocation(
                event=event,
                function_arn=schedule.target_arn,
                received_at=now,
                scheduled_time=due if delivery.attempt == 1 and not duplicate else None,
                label=schedule.name,
            )
        )
        if duplicate:
            return
        if delivery.attempt == 1:
            self.stats.fire_lateness.append(late)
            if late < 0:
                self.stats.early += 1
        self.stats.count("deliveries")
        self._log(
            log_record(
                "dispatcher",
                "delivered",
                schedule=schedule.name,
                scheduled_time=format_scheduled_time(due),
                attempt=delivery.attempt,
                execution_id=execution_id,
                late_ms=round(late * 1000, 1),
            )
        )
        self._complete(delivery)

    def _delivery_failed(
        self, delivery: Delivery, payload: str, execution_id: str, error: DeliveryError, now: datetime
    ) -> None:
        """Retry under the schedule's RetryPolicy (`_retries`), or dead-letter the event (`_dead_letter`)."""
        self.stats.count("delivery_errors")
        delay, condition = retry_delay(delivery, error, now, base=self._retry_base, cap=self._retry_max)
        if delay is None:
            self._dead_letter(delivery, payload, execution_id, error, condition)
            self._complete(delivery)
            return
        self._log(
            log_record(
                "dispatcher",
                "delivery failed; Scheduler will retry",
                level="WARNING",
                schedule=delivery.schedule.name,
                scheduled_time=format_scheduled_time(delivery.scheduled_time),
                attempt=delivery.attempt,
                retry_in_seconds=delay,
                error=str(error),
            )
        )
        delivery.attempt += 1
        heapq.heappush(self._retries, (now + timedelta(seconds=delay), next(self._sequence), delivery))

    def _dead_letter(
        self, delivery: Delivery, payload: str, execution_id: str, error: DeliveryError, condition: str | None
    ) -> None:
        body, attributes, fields = dead_letter(delivery, payload, execution_id, error, condition)
        DELIVERY_ENDING.send(
            self._sender,
            delivery.schedule.dead_letter_arn,
            body,
            attributes,
            stats=self.stats,
            log=self._log,
            fields=fields,
        )

    def _complete(self, delivery: Delivery) -> None:
        """The occurrence's delivery ended (Lambda accepted it, or it was dead-lettered): `--persist` journals it
        fired only now, so a crash before (a delivery still being retried) fires it again after the restart."""
        if self.journal is not None:
            schedule, due = delivery.schedule, delivery.scheduled_time
            self.journal(
                {"t": "fired", "arn": schedule.arn, "created": schedule.created.isoformat(), "due": due.isoformat()}
            )
        if delivery.delete_after:
            self._deleter.delete(delivery.schedule)

    # -- loops ---------------------------------------------------------------------------------------------------

    def flush(self) -> None:
        """Wait until the deletions of completed schedules requested so far are done."""
        self._deleter.flush()

    def restore(self, saved: dict[str, Any]) -> None:
        """Take back the last occurrences fired that `--persist` kept (before `serve`): a restart runs only what is
        due, once."""
        for arn, created, due in saved.get("last_fired", []):
            key = (arn, datetime.fromisoformat(created))
            self._last_fired[key] = max(datetime.fromisoformat(due), self._last_fired.get(key, _EPOCH))

    def wake(self) -> None:
        """Look at the schedules again now (called after the API changed something)."""
        self._refresh_wanted.set()
        self._wake.set()

    def stop(self) -> None:
        """Make `serve()` return."""
        self._stop.set()
        self._wake.set()

    def serve(self) -> None:
        """Fire schedules in real time until `stop()`: never before they are due, never waiting for an invocation."""
        next_refresh = self.clock.now()
        while not self._stop.is_set():
            self._wake.clear()
            next_refresh = self._serve_once(next_refresh)
            upcoming = [t for t in (self.next_due(), next_refresh) if t is not None]
            timeout = (min(upcoming) - self.clock.now()).total_seconds()
            if timeout > 0:
                self.clock.wait(self._wake, timeout)
        self._deleter.close()

    def _serve_once(self, next_refresh: datetime) -> datetime:
        """Refresh when it is time (or the API asked), then fire what is due; when to refresh next."""
        try:
            now = self.clock.now()
            if now >= next_refresh or self._refresh_wanted.is_set():
                self._refresh_wanted.clear()
                self.refresh(now)
                next_refresh = now + timedelta(seconds=self._poll_interval)
            self.fire_due(now)
        except Exception as exc:  # a bug here must not stop the local cloud; say so and go on
            self._log(log_record("dispatcher", "dispatcher error", level="ERROR", error=f"{type(exc).__name__}: {exc}"))
        return next_refresh
