"""Lambda's asynchronous invocation, as EventBridge Scheduler uses it: accept now, run, retry, dead-letter.

Scheduler's delivery ends when Lambda *accepts* the event. Lambda then runs the function; when the
invocation fails (the entry point raises) it retries the same event up to `MaximumRetryAttempts`
more times (about 1 and 2 minutes later in AWS; seconds here, configurable), and sends what still
fails to the on-failure destination as an invocation record (`requestContext`, `requestPayload`,
`responseContext`, `responsePayload`). Retries carry the same event and request id: Scheduler's
context attributes are substituted once per *delivery*, not per Lambda retry.

One function container, on the calling (main) thread: Mangum runs the app on that thread's event loop.
"""

from __future__ import annotations

import copy
import heapq
import itertools
import json
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from localcloud.clock import Clock
from localcloud.environments import error_payload, handler_event_loop
from localcloud.lambda_context import LocalLambdaContext
from localcloud.queues import QueueNotFound, SqsSender, queue_name
from localcloud.stats import DispatchStats, LogSink, log_record, stdout_sink
from localcloud.template import LOCAL_ACCOUNT, LOCAL_REGION, event_invoke_config

#: A Lambda entry point: `lambda_handler(event, context)`.
Handler = Callable[[Any, Any], Any]

#: Local stand-ins for Lambda's ~1 min and ~2 min between async retries.
DEFAULT_RETRY_DELAYS: tuple[float, ...] = (1.0, 2.0)


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


class AsyncLambda:
    """The Lambda service for asynchronous invokes of the local functions."""

    def __init__(
        self,
        functions: Mapping[str, Handler],
        *,
        clock: Clock,
        configs: Mapping[str, InvokeConfig] | None = None,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        sender: SqsSender | None = None,
        stats: DispatchStats | None = None,
        log: LogSink = stdout_sink,
    ) -> None:
        self._functions = {unqualified(arn): handler for arn, handler in functions.items()}
        self._configs = {unqualified(arn): config for arn, config in (configs or {}).items()}
        self._clock = clock
        self._retry_delays = tuple(retry_delays) or DEFAULT_RETRY_DELAYS
        self._sender = sender or SqsSender()
        self.stats = stats or DispatchStats()
        self._log = log
        self._ready: deque[Invocation] = deque()
        self._retries: list[tuple[datetime, int, Invocation]] = []
        self._sequence = itertools.count()

    def has_function(self, arn: str) -> bool:
        """Whether `arn` (qualified or not) names a function this Lambda runs."""
        return unqualified(arn) in self._functions

    def submit(self, invocation: Invocation) -> None:
        """Accept an event (Invoke with InvocationType=Event): it runs when the container is free."""
        self._ready.append(invocation)

    @property
    def pending(self) -> int:
        """Events accepted and not finished (ready or waiting for a retry)."""
        return len(self._ready) + len(self._retries)

    def has_ready(self) -> bool:
        """Whether an invocation can run now (after `promote_due`)."""
        return bool(self._ready)

    def next_retry_at(self) -> datetime | None:
        """When the next retry becomes due."""
        return self._retries[0][0] if self._retries else None

    def promote_due(self, now: datetime) -> None:
        """Queue the retries whose time has come."""
        while self._retries and self._retries[0][0] <= now:
            self._ready.append(heapq.heappop(self._retries)[2])

    def run_next(self) -> bool:
        """Run one ready invocation on this thread; False when none was ready."""
        if not self._ready:
            return False
        invocation = self._ready.popleft()
        invocation.attempts += 1
        started = self._clock.now()
        if invocation.attempts == 1 and invocation.scheduled_time is not None:
            self.stats.start_lateness.append((started - invocation.scheduled_time).total_seconds())
        arn = unqualified(invocation.function_arn)
        handler = self._functions[arn]
        context = LocalLambdaContext(function_name=arn.rsplit(":", 1)[-1], aws_request_id=invocation.request_id)
        self.stats.count("invocations")
        try:
            # A copy: the same event is retried and dead-lettered as it was accepted.
            handler(copy.deepcopy(invocation.event), context)
        except Exception as exc:
            self.stats.count("invocation_errors")
            self._failed(invocation, error_payload(exc, invocation.request_id))
        return True

    def _failed(self, invocation: Invocation, error: dict[str, Any]) -> None:
        config = self._configs.get(unqualified(invocation.function_arn), InvokeConfig())
        now = self._clock.now()
        retries_done = invocation.attempts - 1
        age = (now - invocation.received_at).total_seconds()
        condition = "RetriesExhausted"
        if retries_done < config.max_retry_attempts:
            delay = self._retry_delays[min(retries_done, len(self._retry_delays) - 1)]
            if age + delay <= config.max_event_age_seconds:
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
                return
            condition = "EventAgeExceeded"
        record = invocation_record(invocation, error, condition=condition, now=now)
        destination = config.on_failure_arn
        fields: dict[str, Any] = {
            "schedule": invocation.label,
            "request_id": invocation.request_id,
            "attempts": invocation.attempts,
            "condition": condition,
            "error": f"{error['errorType']}: {error['errorMessage']}",
        }
        if destination is None:
            self.stats.count("invocations_dropped")
            self._log(
                log_record("lambda", "invocation failed for good; no on-failure destination", level="ERROR", **fields)
            )
            return
        try:
            self._sender.send(destination, json.dumps(record, ensure_ascii=False, default=str))
        except QueueNotFound as exc:
            self.stats.count("invocations_dropped")
            self._log(log_record("lambda", f"invocation failed for good; {exc}", level="ERROR", **fields))
            return
        self.stats.count("invocations_dead_lettered")
        self._log(
            log_record(
                "lambda",
                f"invocation failed for good; sent to {queue_name(destination)} (make dlq / make redrive)",
                level="ERROR",
                **fields,
            )
        )


__all__ = [
    "AsyncLambda",
    "Handler",
    "Invocation",
    "InvokeConfig",
    "error_payload",
    "function_arn",
    "handler_event_loop",
]
