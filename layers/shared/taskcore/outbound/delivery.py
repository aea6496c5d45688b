"""What the `http_request` action does when it runs: check, sign, send, and say what the answer means.

- 2xx: succeeded; status, time taken and the start of the body are the run's result.
- 408, 429, 5xx, a timeout, no connection, a name that does not resolve: failed, transient. It raises, so
  Lambda retries the invocation and then dead-letters it.
- Any other 3xx or 4xx, a URL or an address the rules refuse: rejected, permanent (`TaskRejected`), kept
  with the reason and never retried.

A `Retry-After` on a transient answer is honoured here when the wait and another request fit in the
function's remaining time (at most `MAX_TRIES` requests per invocation); otherwise the invocation fails and
Lambda's own retry (about a minute later, then two) is the wait.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import SplitResult

from taskcore.outbound.allowlist import Allowlist, DestinationRefused, check_url, resolve
from taskcore.outbound.request import HttpRequestData
from taskcore.outbound.settings import OutboundSettings, get_outbound_settings
from taskcore.outbound.signing import signature_header, signing_keys
from taskcore.outbound.transport import Answer, send
from taskcore.registry import TaskContext, TaskRejected

#: The headers every request carries (taskclient.webhooks reads the same names).
TASK_ID = "X-Task-Id"
SCHEDULED_TIME = "X-Task-Scheduled-Time"
ATTEMPT = "X-Task-Attempt"
IDEMPOTENCY_KEY = "Idempotency-Key"
TIMESTAMP = "X-Task-Timestamp"
SIGNATURE = "X-Task-Signature"
USER_AGENT = "scheduled-tasks-http-action/1"

#: Requests per invocation at most (the first and those a Retry-After asked for).
MAX_TRIES = 3
#: Seconds kept back from the function's remaining time: the run must still be recorded after the request.
SAFETY_MARGIN_SECONDS = 2.0
#: The shortest request worth making (seconds); with less time left the invocation fails and Lambda retries.
MIN_REQUEST_SECONDS = 0.5
#: Characters of the receiver's answer kept on the run.
PREVIEW_CHARACTERS = 500
TRANSIENT_STATUSES = frozenset({408, 429})

#: How the action waits for a Retry-After (tests replace it).
sleep: Callable[[float], None] = time.sleep


class ReceiverUnavailable(Exception):
    """Raise when the receiver did not answer, or answered with a transient failure (Lambda retries)."""


def is_transient(status: int) -> bool:
    """408, 429 and 5xx: worth another try."""
    return status >= 500 or status in TRANSIENT_STATUSES


def send_http_request(data: HttpRequestData, task: TaskContext) -> dict[str, Any]:
    """Make the request `data` describes for `task`: the run's result, or TaskRejected / ReceiverUnavailable."""
    return deliver(data.url, data.method, data.body, data.headers, task)


def deliver(url: str, method: str, body: Any, extra_headers: dict[str, str], task: TaskContext) -> dict[str, Any]:
    """Call `url` for `task` and return the run's result; raise TaskRejected or ReceiverUnavailable."""
    settings = get_outbound_settings()
    allowlist = settings.allowlist()
    try:
        parts = check_url(url, allowlist, allow_http_loopback=settings.allow_http_loopback)
    except DestinationRefused as exc:
        raise TaskRejected(f"url: {exc}") from None
    payload = b"" if body is None else json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    host = parts.hostname or ""
    for tries in range(1, MAX_TRIES + 1):
        answer = _request(parts, method, payload, extra_headers, task, settings, allowlist)
        if 200 <= answer.status < 300:
            return {
                "status": answer.status,
                "host": host,
                "duration_ms": answer.duration_ms,
                "tries": tries,
                "body_preview": answer.preview[:PREVIEW_CHARACTERS],
            }
        said = f"HTTP {answer.status} from {host} after {answer.duration_ms} ms"
        if not is_transient(answer.status):
            raise TaskRejected(_permanent_reason(said, answer))
        wait = retry_after_seconds(answer.retry_after, datetime.now(UTC))  # the receiver's date is wall-clock time
        if wait is None or tries == MAX_TRIES or not _fits(wait, task, settings):
            later = f"; it asked for a retry after {wait:.0f} s" if wait is not None else ""
            raise ReceiverUnavailable(f"{said}{later}: {answer.preview[:200]}")
        sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover  # the loop returns or raises on its last try


def _permanent_reason(said: str, answer: Answer) -> str:
    if 300 <= answer.status < 400:
        target = answer.location or "(no Location)"
        return f"{said}: redirects are not followed (to {target.split('?')[0]}); schedule the URL it names"
    return f"{said}: {answer.preview[:200]}"


def _request(
    parts: SplitResult,
    method: str,
    payload: bytes,
    extra_headers: dict[str, str],
    task: TaskContext,
    settings: OutboundSettings,
    allowlist: Allowlist,
) -> Answer:
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    timeout = _request_timeout(task, settings)
    try:
        address = resolve(host, port, allowlist)[0]
    except DestinationRefused as exc:
        raise TaskRejected(f"url: {exc}") from None
    except OSError as exc:
        raise ReceiverUnavailable(f"{host} could not be resolved ({type(exc).__name__})") from None
    if parts.scheme == "http" and not address.is_loopback:
        raise TaskRejected(f"url: plain http is allowed only to a loopback address, and {host} is not one")
    headers = signed_headers(payload, extra_headers, task)
    try:
        return send(parts, address, method=method, body=payload, headers=headers, timeout=timeout)
    except TimeoutError:
        raise ReceiverUnavailable(f"no answer from {host} within {timeout:.1f} s") from None
    except OSError as exc:
        raise ReceiverUnavailable(f"no connection to {host} ({type(exc).__name__})") from None


def _request_timeout(task: TaskContext, settings: OutboundSettings) -> float:
    left = task.time_left()
    if left is None:
        return settings.timeout_seconds
    if left - SAFETY_MARGIN_SECONDS < MIN_REQUEST_SECONDS:
        raise ReceiverUnavailable(f"{left:.1f} s left in this invocation: too little for a request")
    return min(settings.timeout_seconds, left - SAFETY_MARGIN_SECONDS)


def _fits(wait: float, task: TaskContext, settings: OutboundSettings) -> bool:
    """Whether waiting `wait` seconds still leaves time for a request (never without a known remaining time)."""
    left = task.time_left()
    return left is not None and wait + MIN_REQUEST_SECONDS + SAFETY_MARGIN_SECONDS <= left


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """A Retry-After header (seconds, or an HTTP date) as seconds from `now`; None when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - now).total_seconds())


def signed_headers(payload: bytes, extra_headers: dict[str, str], task: TaskContext) -> dict[str, str]:
    """The request's headers: the task's own, the caller's allowed ones, and the signature."""
    # Wall-clock time, not task.now(): the receiver compares it with its own clock (a test kit may move task.now()).
    timestamp = str(int(time.time()))
    scheduled = task.scheduled_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if task.scheduled_time else ""
    headers = {
        **extra_headers,
        "User-Agent": USER_AGENT,
        TASK_ID: task.task_id,
        SCHEDULED_TIME: scheduled,
        ATTEMPT: str(task.attempt or 1),
        IDEMPOTENCY_KEY: task.idempotency_key or "",
        TIMESTAMP: timestamp,
    }
    headers[SIGNATURE] = signature_header(signing_keys(), headers, payload)
    if payload:
        headers["Content-Type"] = "application/json"
    return headers


__all__ = [
    "ATTEMPT",
    "IDEMPOTENCY_KEY",
    "SCHEDULED_TIME",
    "SIGNATURE",
    "TASK_ID",
    "TIMESTAMP",
    "ReceiverUnavailable",
    "deliver",
    "is_transient",
    "retry_after_seconds",
    "send_http_request",
    "signed_headers",
]
