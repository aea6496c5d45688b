"""Lambda's asynchronous invocation, as EventBridge Scheduler uses it: accept now, run, retry, dead-letter.

Scheduler's delivery ends when Lambda *accepts* the event. Lambda then runs the function; when the
invocation fails (the entry point raises) it retries the same event up to `MaximumRetryAttempts`
more times (about 1 and 2 minutes later in AWS; seconds here, configurable), and sends what still
fails to the on-failure destination as an invocation record (`requestContext`, `requestPayload`,
`responseContext`, `responsePayload`). Retries carry the same event and request id: Scheduler's
context attributes are substituted once per *delivery*, not per Lambda retry.

Two ways to run the invocations, one class each (the queue, retries and dead letters are shared):

- `ConcurrentLambda`, the **environments** mode (`make dev`): up to `concurrency` execution
  environments, child processes that import the function's handler by its import path
  (`localcloud.environments`), each running one invocation at a time, with the function's Timeout.
  Worker threads hand the events to them, so accepting an event never waits for a running one, and
  events beyond the concurrency wait in Lambda's queue.
- `AsyncLambda`, the **in-process** mode (tests): the handler is a callable of this process, run on
  the calling thread one invocation at a time by `run_next()` (the FakeClock harness drives it step
  by step; an action a test registers in this process is visible to it). No Timeout is enforced.
"""

from __future__ import annotations

import copy
import heapq
import itertools
import json
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from localcloud.clock import Clock
from localcloud.environments import Environment, FunctionSpec, error_payload, handler_event_loop
from localcloud.lambda_context import LocalLambdaContext
from localcloud.queues import DeadLetterEnding, SqsSender
from localcloud.stats import DispatchStats, LogSink, log_record, stdout_sink
from localcloud.template import LOCAL_ACCOUNT, LOCAL_REGION, event_invoke_config

#: A Lambda entry point: `lambda_handler(event, context)`.
Handler = Callable[[Any, Any], Any]

#: Local stand-ins for Lambda's ~1 min and ~2 min between async retries.
DEFAULT_RETRY_DELAYS: tuple[float, ...] = (1.0, 2.0)

#: An invocation that failed for good goes to the function's on-failure destination (CallbackFailureQueue).
INVOCATION_ENDING = DeadLetterEnding(
    component="lambda",
    failure="invocation failed for good",
    no_queue="no on-failure destination",
    commands="make dlq / make redrive",
    sent_counter="invocations_dead_lettered",
    dropped_counter="invocations_dropped",
)


@dataclass(frozen=True)
class InvokeConfig:
    """A function's EventInvokeConfig (template.yaml): retries, event age, on-failure destination."""

    max_retry_attempts: int = 2
    max_event_age_seconds: int = 21_600
    on_failure_arn: str | None = None

    @classmethod
    def from_template(cls, logical_id: str) -> InvokeConfig:
        """The function's EventInvokeConfig as template.yaml declares it (Lambda's defaults where it is silent)."""
        raw = event_invoke_config(logical_id)
        on_failure = (raw.get("DestinationConfig") or {}).get("OnFailure") or {}
        return cls(
            max_retry_attempts=int(raw.get("MaximumRetryAttempts", 2)),
            max_event_age_seconds=int(raw.get("MaximumEventAgeInSeconds", 21_600)),
            on_failure_arn=on_failure.get("Destination"),
        )


def unqualified(function_arn: str) -> str:
    """`arn:aws:lambda:r:a:function:name[:alias|version]` -> the ARN without the qualifier."""
    return ":".join(function_arn.split(":")[:7])


def function_arn(name: str, *, region: str = LOCAL_REGION, account: str = LOCAL_ACCOUNT) -> str:
    """The local ARN of a function."""
    return f"arn:aws:lambda:{region}:{account}:function:{name}"


@dataclass
class Invocation:
    """One event that Lambda accepted, across its attempts."""

    event: Any
    function_arn: str
    received_at: datetime
    scheduled_time: datetime | None = None
    label: str | None = None
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    attempts: int = 0


def invocation_record(
    invocation: Invocation, error: dict[str, Any], *, condition: str, now: datetime
) -> dict[str, Any]:
    """The record Lambda sends to an on-failure destination (SQS: as the message body)."""
    qualifier = invocation.function_arn.split(":")[7] if invocation.function_arn.count(":") >= 7 else "$LATEST"
    return {
        "version": "1.0",
        "timestamp": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "requestContext": {
            "requestId": invocation.request_id,
            "functionArn": f"{unqualified(invocation.function_arn)}:{qualifier}",
            "condition": condition,
            "approximateInvokeCount": invocation.attempts,
        },
        "requestPayload": invocation.event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": error,
    }


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
    ) -> None:
        self._arns = {unqualified(arn) for arn in function_arns}
        self._configs = {unqualified(arn): config for arn, config in (configs or {}).items()}
        self._clock = clock
        self._retry_delays = tuple(retry_delays) or DEFAULT_RETRY_DELAYS
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
        #: Called when a failed invocation is scheduled for a retry (the dispatcher looks at its clock again).
        self.on_retry: Callable[[], None] | None = None
        #: Whether `--persist` saves what is pending at the stop (only what the stop message says).
        self.persisted = False

    def has_function(self, arn: str) -> bool:
        """Whether `arn` (qualified or not) names a function this Lambda runs."""
        return unqualified(arn) in self._arns

    def submit(self, invocation: Invocation) -> None:
        """Accept an event (Invoke with InvocationType=Event): queued at once, run when a container is free."""
        with self._changed:
            self._ready.append(invocation)
            self._changed.notify()

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

    def snapshot_pending(self) -> list[dict[str, Any]]:
        """The events accepted and not finished, for `--persist` (a running one counts as not run)."""
        with self._changed:
            running = {i.request_id: i for i in (*self._interrupted, *self._running.values())}
            entries: list[tuple[datetime | None, Invocation]] = [(None, i) for i in (*running.values(), *self._ready)]
            entries += [(at, i) for at, _, i in self._retries]
        return [
            {
                "event": invocation.event,
                "function_arn": invocation.function_arn,
                "received_at": invocation.received_at.isoformat(),
                "scheduled_time": invocation.scheduled_time.isoformat() if invocation.scheduled_time else None,
                "label": invocation.label,
                "request_id": invocation.request_id,
                "attempts": invocation.attempts,
                "retry_at": at.isoformat() if at is not None else None,
            }
            for at, invocation in entries
        ]

    def restore_pending(self, saved: Iterable[Mapping[str, Any]]) -> None:
        """Accept again the events `snapshot_pending` saved: queued, or waiting for their retry."""
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
        """The next queued invocation, marked running."""
        with self._changed:
            if not self._ready or self._closed:
                return None
            invocation = self._ready.popleft()
            self._running[invocation.request_id] = invocation
            return invocation

    def _done(self, invocation: Invocation) -> None:
        with self._changed:
            self._running.pop(invocation.request_id, None)

    def _started(self, invocation: Invocation) -> None:
        """An attempt begins: count it (and, for the first, how late after its scheduled time)."""
        invocation.attempts += 1
        if invocation.attempts == 1 and invocation.scheduled_time is not None:
            self.stats.start_lateness.append((self._clock.now() - invocation.scheduled_time).total_seconds())
        self.stats.count("invocations")

    def _failed(self, invocation: Invocation, error: dict[str, Any]) -> None:
        self.stats.count("invocation_errors")
        config = self._configs.get(unqualified(invocation.function_arn), InvokeConfig())
        now = self._clock.now()
        retries_done = invocation.attempts - 1
        age = (now - invocation.received_at).total_seconds()
        condition = "RetriesExhausted"
        if retries_done < config.max_retry_attempts:
            delay = self._retry_delays[min(retries_done, len(self._retry_delays) - 1)]
            if age + delay <= config.max_event_age_seconds:
                with self._changed:
                    heapq.heappush(self._retries, (now + timedelta(seconds=delay), next(self._sequence), invocation))
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
                if self.on_retry is not None:
                    self.on_retry()
                return
            condition = "EventAgeExceeded"
        record = invocation_record(invocation, error, condition=condition, now=now)
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
            json.dumps(record, ensure_ascii=False, default=str),
            stats=self.stats,
            log=self._log,
            fields=fields,
        )


class AsyncLambda(LambdaService):
    """The in-process mode: each function is a callable of this process, run by `run_next()` on the calling
    thread, one invocation at a time (Mangum runs the app on that thread's event loop). For tests."""

    mode = "in-process"

    def __init__(self, functions: Mapping[str, Handler], **options: Any) -> None:
        super().__init__(functions, **options)
        self._functions = {unqualified(arn): handler for arn, handler in functions.items()}

    def run_next(self) -> bool:
        """Run one queued invocation on this thread; False when none was queued."""
        invocation = self._take()
        if invocation is None:
            return False
        try:
            self._started(invocation)
            arn = unqualified(invocation.function_arn)
            context = LocalLambdaContext(function_name=arn.rsplit(":", 1)[-1], aws_request_id=invocation.request_id)
            try:
                # A copy: the same event is retried and dead-lettered as it was accepted.
                self._functions[arn](copy.deepcopy(invocation.event), context)
            except Exception as exc:
                self._failed(invocation, error_payload(exc, invocation.request_id))
        finally:
            self._done(invocation)
        return True


class ConcurrentLambda(LambdaService):
    """The environments mode (`make dev`): up to `concurrency` execution environments (child processes),
    each running one invocation at a time with the function's Timeout, fed by one worker thread each.

    `submit` only queues: the dispatcher never waits for an invocation. An environment is started when
    an event finds none idle (a cold start), kept warm for the next, and replaced after a timeout or a
    crash. Events beyond the concurrency wait in the queue, as Lambda throttles them. Cold starts run
    one at a time, and the environments run at a lower CPU priority than this process.
    """

    mode = "environments"

    def __init__(self, functions: Mapping[str, FunctionSpec], *, concurrency: int = 10, **options: Any) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        super().__init__(functions, **options)
        self.concurrency = concurrency
        self._specs = {unqualified(arn): spec for arn, spec in functions.items()}
        self._idle: list[tuple[str, Environment]] = []
        self._environments: set[Environment] = set()
        self._numbers = itertools.count(1)
        #: Raised by `recycle`: an environment of an older generation runs old code and is not reused.
        self._generation = 0
        # A cold start is CPU work (imports): two at once only make each one slower, the first invocations
        # wait longer, and the deliveries share the cores with them (measured with bench.dispatch).
        self._cold_start = threading.Lock()
        self._workers = [
            threading.Thread(target=self._work, name=f"lambda-worker-{n}", daemon=True) for n in range(concurrency)
        ]
        for worker in self._workers:
            worker.start()

    @property
    def environments(self) -> int:
        """Execution environments alive now (busy or idle)."""
        with self._changed:
            return len(self._environments)

    def close(self) -> None:
        """Stop every environment (a running invocation is lost with it) and the workers."""
        super().close()
        with self._changed:
            environments = list(self._environments)
            idle = [env for _, env in self._idle]
            self._idle.clear()
        for env in environments:
            env.kill()  # a busy one's worker sees it end, and cleans up
        for env in idle:
            env.stop()
        for worker in self._workers:
            worker.join(timeout=15)
        with self._changed:
            leftover = list(self._environments)
        for env in leftover:
            env.stop()

    def recycle(self) -> int:
        """Retire every environment (the function's code changed): idle ones stop now, busy ones after their
        invocation; later invocations start new ones. Answers how many were alive."""
        with self._changed:
            self._generation += 1
            idle = [env for _, env in self._idle]
            self._idle.clear()
            alive = len(self._environments)
            self._environments.difference_update(idle)
        for env in idle:
            env.stop()
        return alive

    def _work(self) -> None:
        while True:
            with self._changed:
                while not self._closed and not self._ready:
                    self._changed.wait()
                if self._closed:
                    return
            invocation = self._take()
            if invocation is None:
                continue  # another worker took it
            try:
                self._run(invocation)
            except Exception as exc:  # a bug here must not kill the worker; say so and go on
                self._log(log_record("lambda", "worker error", level="ERROR", error=f"{type(exc).__name__}: {exc}"))
            finally:
                self._done(invocation)

    def _environment(self, arn: str) -> Environment | None:
        """An idle environment of the function (warm), else a new one (cold); None once closed."""
        with self._changed:
            if self._closed:
                return None
            for i in range(len(self._idle) - 1, -1, -1):  # the most recently used first
                if self._idle[i][0] == arn:
                    return self._idle.pop(i)[1]
            if len(self._environments) >= self.concurrency and self._idle:
                _, evicted = self._idle.pop(0)  # at the limit: make room by stopping another function's
                self._environments.discard(evicted)
            else:
                evicted = None
            env = Environment(self._specs[arn], next(self._numbers), generation=self._generation)
            self._environments.add(env)
        if evicted is not None:
            evicted.stop()
        return env

    def _release(self, arn: str, env: Environment, *, lost: bool) -> None:
        with self._changed:
            if lost or self._closed or env.generation != self._generation:
                self._environments.discard(env)
            else:
                self._idle.append((arn, env))
                return
        env.stop()

    def _run(self, invocation: Invocation) -> None:
        arn = unqualified(invocation.function_arn)
        env = self._environment(arn)
        if env is None:
            return
        if env.init_ms is None:
            with self._cold_start:
                init_error = env.start(invocation.request_id)
            if self._closed:
                self._release(arn, env, lost=True)
                return
            if init_error is not None:
                self._started(invocation)
                self._release(arn, env, lost=True)
                self._failed(invocation, init_error)
                return
            self.stats.count("environments_started")
            self._log(
                log_record(
                    "lambda",
                    "execution environment started (cold start)",
                    function=env.spec.name,
                    environment=env.number,
                    pid=env.pid,
                    init_ms=env.init_ms,
                )
            )
        self._started(invocation)
        outcome = env.invoke(invocation.request_id, invocation.event)
        self._release(arn, env, lost=outcome.environment_lost)
        if self._closed:
            return  # stopped with the local cloud: neither a result nor a failure
        if outcome.error is not None:
            if outcome.error.get("errorType") == "Sandbox.Timedout":
                self.stats.count("invocation_timeouts")
            self._failed(invocation, outcome.error)


__all__ = [
    "DEFAULT_RETRY_DELAYS",
    "AsyncLambda",
    "ConcurrentLambda",
    "FunctionSpec",
    "Handler",
    "Invocation",
    "InvokeConfig",
    "LambdaService",
    "error_payload",
    "function_arn",
    "handler_event_loop",
    "invocation_record",
    "unqualified",
]
