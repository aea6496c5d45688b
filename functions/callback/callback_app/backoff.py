"""A throttled ledger write waits and tries again, as DynamoDB advises, while the function has time left.

DynamoDB refuses a write over a partition key's throughput with `ProvisionedThroughputExceededException` (a single
request; botocore retries it a few times itself) or cancels a transaction with a `ThrottlingError` cancellation
reason (botocore does not retry that). Its advice for both: retry with exponential backoff (the DynamoDB Developer
Guide, "Error retries and exponential backoff";
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html#Programming.Errors.RetryAndBackoff).
The wait before the n-th retry is "full jitter" (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/):
a random time between 0 and min(CAP_SECONDS, BASE_SECONDS * 2**n), so the writers of one hot key spread out.

A write is tried again only while the function's remaining time (the Lambda context's, given by the entry point with
`within`) less a margin can hold the wait: the last refusal is raised in time for the caller's own path (the
invocation fails and Lambda retries it, or the recorder's message is received again). Without a known deadline
(a write outside an entry point: the watchdog's thread, a script) nothing waits.

A wait is spent, and counted against the budget, on the process's clock: the wall clock, or (`waiting_on`) the
local cloud's FakeClock while its stepper runs the functions, so that a wait refills a throttled key's units in
virtual time as real time does on AWS, and costs a test no real time.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")

#: The first wait's ceiling, and the ceiling of every wait (seconds).
BASE_SECONDS = 0.05
CAP_SECONDS = 2.0
#: A backstop: never more waits than this for one write, whatever the clock says.
MAX_WAITS = 30
#: What a single request's throttling says (botocore's error codes), and a transaction's cancellation reason.
THROTTLED_CODES = frozenset({"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"})
THROTTLING_REASON = "ThrottlingError"


#: How a wait is spent, and the clock that counts it (seconds): the process's own unless `waiting_on` says otherwise.
_sleep: Callable[[float], None] = time.sleep
_clock: Callable[[], float] = time.monotonic


@dataclass(frozen=True)
class Budget:
    """How long writes of this invocation may wait: its remaining time (seconds, or None) less `margin`, counted on
    the Lambda context and on the clock waits are spent on (`deadline`), whichever says less."""

    remaining: Callable[[], float | None]
    margin: float
    deadline: float | None = None

    def available(self) -> float:
        left = self.remaining()
        if left is None:
            return 0.0
        available = left - self.margin
        return available if self.deadline is None else min(available, self.deadline - _clock())


_BUDGET: ContextVar[Budget | None] = ContextVar("callback_app.backoff", default=None)


@contextmanager
def within(lambda_context: Any, margin: float) -> Iterator[Budget]:
    """Let the writes of this context wait for a throttled key while `lambda_context` has more than `margin` left."""
    millis = getattr(lambda_context, "get_remaining_time_in_millis", None)
    remaining: Callable[[], float | None] = (lambda: millis() / 1000) if callable(millis) else (lambda: None)
    left = remaining()
    budget = Budget(remaining, margin, None if left is None else _clock() + left - margin)
    token = _BUDGET.set(budget)
    try:
        yield budget
    finally:
        _BUDGET.reset(token)


@contextmanager
def waiting_on(sleep: Callable[[float], None], clock: Callable[[], float]) -> Iterator[None]:
    """Spend and count the waits on another clock inside the block (the local cloud's FakeClock)."""
    global _sleep, _clock
    previous = _sleep, _clock
    _sleep, _clock = sleep, clock
    try:
        yield
    finally:
        _sleep, _clock = previous


def throttled(exc: BaseException) -> bool:
    """Whether DynamoDB refused the request for throughput: a throttled request, or a transaction cancelled with a
    ThrottlingError and no failed condition (a failed condition is the caller's to read, throttled or not)."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return False
    code = response.get("Error", {}).get("Code")
    if code in THROTTLED_CODES:
        return True
    if code != "TransactionCanceledException":
        return False
    codes = {str((reason or {}).get("Code")) for reason in response.get("CancellationReasons") or []}
    return THROTTLING_REASON in codes and "ConditionalCheckFailed" not in codes


def delay(waits: int) -> float:
    """Full jitter: a random time in [0, min(CAP_SECONDS, BASE_SECONDS * 2**waits)]."""
    ceiling = min(CAP_SECONDS, BASE_SECONDS * 2 ** min(waits, 16))
    return secrets.randbelow(int(ceiling * 1000) + 1) / 1000


def retrying(operation: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """`operation(*args, **kwargs)`, made again after a backoff while DynamoDB throttles it and time is left."""
    budget = _BUDGET.get()
    waits = 0
    while True:
        try:
            return operation(*args, **kwargs)
        except Exception as exc:
            if not throttled(exc) or budget is None or waits >= MAX_WAITS:
                raise
            available = budget.available()
            if available <= 0:
                raise
            _sleep(min(delay(waits), available))
            waits += 1


__all__ = [
    "BASE_SECONDS",
    "CAP_SECONDS",
    "MAX_WAITS",
    "Budget",
    "delay",
    "retrying",
    "throttled",
    "waiting_on",
    "within",
]
