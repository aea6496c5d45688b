"""Lambda's asynchronous invocation, as EventBridge Scheduler uses it: accept now, run, retry, dead-letter.

Scheduler's delivery ends when Lambda *accepts* the event (`submit`, the invoke interface: the only way
the Scheduler emulator talks to this service). Lambda then runs the function; when the invocation fails
(the entry point raises) it retries the same event up to `MaximumRetryAttempts` more times (about 1 and
2 minutes later in AWS; seconds here, configurable), and sends what still fails to the on-failure
destination as an invocation record (`requestContext`, `requestPayload`, `responseContext`,
`responsePayload`). Retries carry the same event and request id: Scheduler's context attributes are
substituted once per *delivery*, not per Lambda retry.

`LambdaService` is that service, whichever way its invocations run (`localcloud.lambda_async`: in
process, or in execution environments). It runs its own loop (`serve`: the retries queued when due,
and an in-process invocation run on the loop's thread); a test on a FakeClock steps it instead
(`step`, from `localcloud.stepping`).
"""

from __future__ import annotations

import heapq
import itertools
import json
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from localcloud.adverse import Adversity
from localcloud.clock import Clock
from localcloud.invocations import (
    DEFAULT_RETRY_DELAYS,
    EVENT_AGE_ERROR,
    INVOCATION_ENDING,
    Handler,
    Invocation,
    InvokeConfig,
    function_arn,
    invocation_record,
    pending_entry,
    unqualified,
)
from localcloud.queues import SqsSender
from localcloud.stats import DispatchStats, LogSink, log_record, stdout_sink

__all__ = [
    "DEFAULT_RETRY_DELAYS",
    "EVENT_AGE_ERROR",
    "INVOCATION_ENDING",
    "Handler",
    "Invocation",
    "Invoke",
    "InvokeConfig",
    "LambdaService",
    "function_arn",
    "invocation_record",
    "pending_entry",
    "unqualified",
]


class Invoke(Protocol):
    """The Lambda service as Scheduler sees it: whether a function exists, and Invoke with InvocationType=Event."""

    def has_function(self, arn: str) -> bool:
        """Whether `arn` (qualified or not) names a function this Lambda runs."""
        ...

    def submit(self, invocation: Invocation) -> None:
        """Accept an event: queued at once, run when a container is free."""
        ...


#: How long the loop sleeps when nothing is pending (a submit, a retry or a stop wakes it at once).
IDLE_WAIT_SECONDS = 60.0


class LambdaService:
    """The Lambda service for asynchronous invokes of the local functions: queue, retries, dead letters.

    How an invocation runs is the subclass's (`AsyncLambda`: in process; `ConcurrentLambda`: in
    execution environments). Safe to use from several threads.
    """

    #: Which way invocations run: "in-process" or "environments".
    mode = "none"

    def __init__(
        self,
        function_arns: Iterable[str],
        *,
        clock: Clock,
        configs: Mapping[str, InvokeConfig] | None = None,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        sender: SqsSender | None = None,
        stats: DispatchStats | None = None,
        log: LogSink = stdout_sink,
        adversity: Adversity | None = None,
    ) -> None:
        self.adversity = adversity or Adversity()
        self._arns = {unqualified(arn) for arn in function_arns}
        self._configs = {unqualified(arn): config for arn, config in (configs or {}).items()}
        self._clock = clock
        self._retry_delays = self.adversity.retry_delays(tuple(retry_delays) or DEFAULT_RETRY_DELAYS)
        self._sender = sender or SqsSender()
        self.stats = stats or DispatchStats()
        self._log = log
        #: Guards the queue and the retries; waited on by the workers of `ConcurrentLambda`.
        self._changed = threading.Condition()
        self._ready: deque[Invocation] = deque()
        self._retries: list[tuple[datetime, int, Invocation]] = []
        self._running: dict[str, Invocation] = {}
        self._interrupted: list[Invocation] = []
        self._sequence = itertools.count()
        self._closed = False
        #: Set when the loop should look again (an event submitted, a retry scheduled, a stop).
        self._wake = threading.Event()
        self._stopping = threading.Event()
        #: Whether `--persist` saves what is pending at the stop (only what the stop message says).
        self.persisted = False
        #: `--persist`: makes an entry durable (`localcloud.journal.Journal.record`) before it is acted on.
        self.journal: Callable[..., None] | None = None

    def has_function(self, arn: str) -> bool:
        """Whether `arn` (qualified or not) names a function this Lambda runs."""
        return unqualified(arn) in self._arns

    def submit(self, invocation: Invocation) -> None:
        """Accept an event (Invoke with InvocationType=Event): queued at once, run when a container is free."""
        accepted = [invocation]
        if self.adversity.chance(self.adversity.lambda_duplicate_rate):
            # Lambda may invoke an accepted event more than once, without any error (adverse mode).
            accepted.append(replace(invocation, request_id=str(uuid.uuid4())))
            self.stats.count("lambda_duplicates")
        if self.journal is not None:
            self.journal(*({"t": "accepted", "invocation": pending_entry(i, None)} for i in accepted))
        with self._changed:
            self._ready.extend(accepted)
            self._changed.notify_all()
        self._wake.set()

    @property
    def pending(self) -> int:
        """Events accepted and not finished (queued, running, or waiting for a retry)."""
        with self._changed:
            return len(self._ready) + len(self._retries) + len(self._running)

    def next_retry_at(self) -> datetime | None:
        """When the next retry becomes due."""
        with self._changed:
            return self._retries[0][0] if self._retries else None

    def promote_due(self, now: datetime) -> None:
        """Queue the retries whose time has come."""
        with self._changed:
            while self._retries and self._retries[0][0] <= now:
                self._ready.append(heapq.heappop(self._retries)[2])
                self._changed.notify()

    def run_next(self) -> bool:
        """Run one queued invocation on this thread (in-process mode only); False when none ran."""
        return False

    def invoke_sync(self, function_arn: str, event: Any) -> tuple[Any, dict[str, Any] | None]:
        """Invoke with InvocationType=RequestResponse (an event source mapping's poller): (response, error)."""
        raise NotImplementedError

    # -- its own loop ----------------------------------------------------------------------------------------

    def next_due(self) -> datetime | None:
        """When this service next has something to do on its own: its earliest retry."""
        return self.next_retry_at()

    def step(self, now: datetime) -> bool:
        """Do what is due at `now`: queue the retries whose time has come, then (in process) run one queued
        invocation on this thread. Whether an invocation ran (more may be due at the same moment)."""
        self.promote_due(now)
        return self.run_next()

    def serve(self) -> None:
        """Run in real time until `stop()`, then `close()`: retries queued when due, and (in process) the
        invocations run on this thread, one at a time."""
        try:
            with self._serving():
                while not self._stopping.is_set():
                    self._wake.clear()
                    if self._serve_once():
                        continue  # between invocations, look at the clock again
                    upcoming = self.next_due()
                    timeout = (upcoming - self._clock.now()).total_seconds() if upcoming else IDLE_WAIT_SECONDS
                    if timeout > 0:
                        self._clock.wait(self._wake, timeout)
        finally:
            self.close()

    def stop(self) -> None:
        """Make `serve()` return (with an in-process function, after the invocation in progress)."""
        self._stopping.set()
        self._wake.set()

    def _serve_once(self) -> bool:
        try:
            return self.step(self._clock.now())
        except Exception as exc:  # a bug here must not stop the local cloud; say so and go on
            self._log(log_record("lambda", "lambda loop error", level="ERROR", error=f"{type(exc).__name__}: {exc}"))
            return False

    @contextmanager
    def _serving(self) -> Iterator[None]:
        """What the loop's thread needs while it runs (the in-process mode: an event loop for Mangum)."""
        yield

    def restore_pending(self, saved: Iterable[Mapping[str, Any]]) -> None:
        """Accept again the events `--persist` kept (`pending_entry`): queued, or waiting for their retry."""
        with self._changed:
            for entry in saved:
                invocation = Invocation(
                    event=entry["event"],
                    function_arn=entry["function_arn"],
                    received_at=datetime.fromisoformat(entry["received_at"]),
                    scheduled_time=datetime.fromisoformat(entry["scheduled_time"]) if entry["scheduled_time"] else None,
                    label=entry.get("label"),
                    request_id=entry["request_id"],
                    attempts=int(entry["attempts"]),
                )
                if entry.get("retry_at"):
                    at = datetime.fromisoformat(entry["retry_at"])
                    heapq.heappush(self._retries, (at, next(self._sequence), invocation))
                else:
                    self._ready.append(invocation)
            self._changed.notify_all()
        self._wake.set()

    def close(self) -> None:
        """Stop; say what was still queued, running or waiting for a retry (lost unless `persisted`)."""
        with self._changed:
            if self._closed:
                return
            self._closed = True
            running = list(self._running.values())
            self._interrupted = running  # stopped with their environments: still to run, for --persist
            queued = list(self._ready)
            retrying = [entry[2] for entry in self._retries]
            self._changed.notify_all()
        self.stop()
        if running or queued or retrying:
            labels = sorted({i.label or i.request_id for i in (*running, *queued, *retrying)})
            fate = "saved with the state (--persist)" if self.persisted else "lost with the in-memory state"
            self._log(
                log_record(
                    "lambda",
                    f"stopped with invocations still queued; they are {fate}",
                    level="INFO" if self.persisted else "WARNING",
                    pending=len(running) + len(queued) + len(retrying),
                    running=len(running),
                    queued=len(queued),
                    retrying=len(retrying),
                    schedules=labels[:50],
                )
            )

    # -- for the subclasses ----------------------------------------------------------------------------------

    def _take(self) -> Invocation | None:
        """The next queued invocation, marked running; one that waited past its event age (adverse mode) goes to
        the on-failure destination unrun instead."""
        while True:
            with self._changed:
                if not self._ready or self._closed:
                    return None
                invocation = self._ready.popleft()
                if not self._expired_in_queue(invocation):
                    self._running[invocation.request_id] = invocation
                    return invocation
            self._end(invocation, EVENT_AGE_ERROR, "EventAgeExceeded", self._clock.now())
            if self.journal is not None:
                self.journal({"t": "done", "request_id": invocation.request_id})

    def _expired_in_queue(self, invocation: Invocation) -> bool:
        if not self.adversity.event_age_in_queue:
            return False
        config = self._configs.get(unqualified(invocation.function_arn), InvokeConfig())
        age = (self._clock.now() - invocation.received_at).total_seconds()
        return age > self.adversity.event_age(config.max_event_age_seconds)

    def _done(self, invocation: Invocation) -> None:
        with self._changed:
            self._running.pop(invocation.request_id, None)
            finished = not self._closed and all(i.request_id != invocation.request_id for _, _, i in self._retries)
        if finished and self.journal is not None:
            self.journal({"t": "done", "request_id": invocation.request_id})

    def _started(self, invocation: Invocation) -> None:
        """An attempt begins: count it (and, for the first, how late after its scheduled time)."""
        invocation.attempts += 1
        if invocation.attempts == 1 and invocation.scheduled_time is not None:
            self.stats.start_lateness.append((self._clock.now() - invocation.scheduled_time).total_seconds())
        self.stats.count("invocations")

    def _failed(self, invocation: Invocation, error: dict[str, Any]) -> None:
        """An attempt failed: Lambda retries it while its EventInvokeConfig allows, else it ends for good."""
        self.stats.count("invocation_errors")
        config = self._configs.get(unqualified(invocation.function_arn), InvokeConfig())
        now = self._clock.now()
        condition = self._retry(invocation, error, config, now)
        if condition is not None:
            self._end(invocation, error, condition, now)

    def _end(self, invocation: Invocation, error: dict[str, Any], condition: str, now: datetime) -> None:
        """The invocation ends for good: its record goes to the on-failure destination."""
        config = self._configs.get(unqualified(invocation.function_arn), InvokeConfig())
        record = invocation_record(invocation, error, condition=condition, now=now)
        destination = config.on_failure_arn
        if destination is not None and destination.startswith("arn:aws:lambda:") and self.has_function(destination):
            # A function as the destination: Lambda invokes it asynchronously with the record as its event.
            self.submit(Invocation(event=record, function_arn=destination, received_at=now, label=invocation.label))
            return
        body = json.dumps(record, ensure_ascii=False, default=str)
        limit = self.adversity.failure_record_limit_bytes
        if limit is not None and len(body.encode("utf-8")) > limit:
            # Lambda drops the payload when the record is too large for the destination (adverse mode).
            del record["requestPayload"]
            body = json.dumps(record, ensure_ascii=False, default=str)
        fields: dict[str, Any] = {
            "schedule": invocation.label,
            "request_id": invocation.request_id,
            "attempts": invocation.attempts,
            "condition": condition,
            "error": f"{error['errorType']}: {error['errorMessage']}",
        }
        INVOCATION_ENDING.send(
            self._sender,
            config.on_failure_arn,
            body,
            stats=self.stats,
            log=self._log,
            fields=fields,
        )

    def _retry(self, invocation: Invocation, error: dict[str, Any], config: InvokeConfig, now: datetime) -> str | None:
        """Queue a retry (None), else name the limit that ends the invocation (RetriesExhausted, EventAgeExceeded)."""
        retries_done = invocation.attempts - 1
        if retries_done >= config.max_retry_attempts:
            return "RetriesExhausted"
        delay = self._retry_delays[min(retries_done, len(self._retry_delays) - 1)]
        age_at_retry = (now - invocation.received_at).total_seconds() + delay
        if age_at_retry > self.adversity.event_age(config.max_event_age_seconds):
            return "EventAgeExceeded"
        at = now + timedelta(seconds=delay)
        if self.journal is not None:
            self.journal(
                {"t": "retry", "request_id": invocation.request_id, "attempts": invocation.attempts, "retry_at": at}
            )
        with self._changed:
            heapq.heappush(self._retries, (at, next(self._sequence), invocation))
        self._wake.set()  # the loop's next wake-up may be later than this retry
        self.stats.count("invocation_retries")
        self._log(
            log_record(
                "lambda",
                "invocation failed; Lambda will retry",
                level="WARNING",
                schedule=invocation.label,
                request_id=invocation.request_id,
                attempt=invocation.attempts,
                retry_in_seconds=delay,
                error=f"{error['errorType']}: {error['errorMessage']}",
            )
        )
        return None
