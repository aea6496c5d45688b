"""The API Gateway REST (v1) proxy event a schedule delivers, and the scheduler context it carries.

A schedule's `Target.Input` is this event as a JSON string. EventBridge Scheduler replaces the
`<aws.scheduler.*>` placeholders in it at each invocation, so the callback learns which
occurrence (scheduled time) and which attempt it is running.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from taskcore.envelope import TaskEnvelope

CALLBACK_PATH = "/api/v1/tasks/callback"

SCHEDULE_ARN_HEADER = "X-Scheduler-Schedule-Arn"
SCHEDULED_TIME_HEADER = "X-Scheduler-Scheduled-Time"
EXECUTION_ID_HEADER = "X-Scheduler-Execution-Id"
ATTEMPT_HEADER = "X-Scheduler-Attempt"
#: Set by the scheduler API on the schedules it creates: `one-time` or `recurring`, so the callback
#: knows whether a run's end is the task's end (a schedule without it, the guide's, is one-time).
TASK_KIND_HEADER = "X-Task-Kind"
TASK_KINDS = ("one-time", "recurring")
#: Set by the scheduler API under `Isolation=owner` on an owner's task: the owner's scope, which names the
#: task's partition of the ledger (taskcore.ledger.task_pk). Absent in the shared namespace.
TASK_SCOPE_HEADER = "X-Task-Scope"
#: Set by the scheduler API on an owned task: the quota slot its create tried first (taskcore.quota), so the
#: callback's end write gives it back without a read. A guess the STATE item's condition checks, never trusted.
TASK_QUOTA_HEADER = "X-Task-Quota"

SCHEDULE_ARN_ATTR = "<aws.scheduler.schedule-arn>"
SCHEDULED_TIME_ATTR = "<aws.scheduler.scheduled-time>"
EXECUTION_ID_ATTR = "<aws.scheduler.execution-id>"
ATTEMPT_ATTR = "<aws.scheduler.attempt-number>"

#: Header -> the context attribute EventBridge Scheduler substitutes into it.
CONTEXT_HEADERS: dict[str, str] = {
    SCHEDULE_ARN_HEADER: SCHEDULE_ARN_ATTR,
    SCHEDULED_TIME_HEADER: SCHEDULED_TIME_ATTR,
    EXECUTION_ID_HEADER: EXECUTION_ID_ATTR,
    ATTEMPT_HEADER: ATTEMPT_ATTR,
}


def build_proxy_event(
    envelope: TaskEnvelope,
    *,
    path: str = CALLBACK_PATH,
    stage: str = "scheduler",
    source_ip: str = "127.0.0.1",
    kind: str | None = None,
    scope: str | None = None,
    quota_slot: str | None = None,
) -> dict[str, Any]:
    """The REST v1 proxy event that makes Mangum call `POST path` with the envelope as JSON.

    The body is a JSON *string* (Mangum encodes it; a dict raises). The request id is the
    scheduler's execution id, so each attempt has its own.
    """
    body = json.dumps(envelope.model_dump(mode="json"), separators=(",", ":"), ensure_ascii=False)
    headers = {"content-type": "application/json", **CONTEXT_HEADERS}
    if kind is not None:
        headers[TASK_KIND_HEADER] = kind
    if scope is not None:
        headers[TASK_SCOPE_HEADER] = scope
    if quota_slot is not None:
        headers[TASK_QUOTA_HEADER] = quota_slot
    return {
        "resource": path,
        "path": path,
        "httpMethod": "POST",
        "headers": headers,
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": "POST",
            "path": f"/{stage}{path}",
            "stage": stage,
            "requestId": EXECUTION_ID_ATTR,
            "identity": {"sourceIp": source_ip, "userAgent": "Amazon EventBridge Scheduler"},
        },
        "body": body,
        "isBase64Encoded": False,
    }


def oversized_body_response(event: Mapping[str, Any], limit: int, *, code: str | None = None) -> dict[str, Any] | None:
    """A 413 proxy response when the event's body is over `limit` bytes, else None.

    Checked by the entry points before Mangum, so the answer is the API's JSON `{"detail": ...}` (with
    the API's error `code` when one is given) and the body is never parsed.
    """
    body = event.get("body")
    if not isinstance(body, str):
        return None
    # Base64 encodes 3 bytes in 4 characters; a UTF-8 character takes up to 4 bytes: measure only near the limit.
    size = len(body) * 3 // 4 if event.get("isBase64Encoded") else len(body)
    if size <= limit // 4:
        return None
    if not event.get("isBase64Encoded"):
        size = len(body.encode("utf-8", "surrogatepass"))
    if size <= limit:
        return None
    detail = f"the request body is {size} bytes; this endpoint takes at most {limit}"
    return {
        "statusCode": 413,
        "headers": {"content-type": "application/json"},
        "multiValueHeaders": {},
        "body": json.dumps({"detail": detail} | ({"code": code} if code is not None else {})),
        "isBase64Encoded": False,
    }


def build_target_input(envelope: TaskEnvelope, **kwargs: Any) -> str:
    """`build_proxy_event` serialised for a schedule's `Target.Input`."""
    return json.dumps(build_proxy_event(envelope, **kwargs), separators=(",", ":"), ensure_ascii=False)


def substitute_context_attributes(
    target_input: str,
    *,
    schedule_arn: str,
    scheduled_time: datetime,
    execution_id: str,
    attempt: int,
) -> str:
    """Do what EventBridge Scheduler does to `Target.Input` before it invokes the target."""
    values = {
        SCHEDULE_ARN_ATTR: schedule_arn,
        SCHEDULED_TIME_ATTR: format_scheduled_time(scheduled_time),
        EXECUTION_ID_ATTR: execution_id,
        ATTEMPT_ATTR: str(attempt),
    }
    for placeholder, value in values.items():
        # Values are JSON-safe strings (ARN, timestamp, uuid, digits), so plain replacement keeps it valid JSON.
        target_input = target_input.replace(placeholder, value)
    return target_input


def delivered_event(
    target: TaskEnvelope | str,
    *,
    schedule_arn: str,
    scheduled_time: datetime,
    execution_id: str | None = None,
    attempt: int = 1,
) -> dict[str, Any]:
    """The event the callback receives for one delivery: a schedule's `Target.Input` (or the envelope it is
    built from) with the context attributes substituted, as EventBridge Scheduler hands it to Lambda."""
    target_input = target if isinstance(target, str) else build_target_input(target)
    delivered = substitute_context_attributes(
        target_input,
        schedule_arn=schedule_arn,
        scheduled_time=scheduled_time,
        execution_id=execution_id or str(uuid.uuid4()),
        attempt=attempt,
    )
    event: dict[str, Any] = json.loads(delivered)
    return event


@dataclass(frozen=True)
class TaskFields:
    """What an event says about its task, read without validating it (for logs, listings and lookups)."""

    task_id: str | None = None
    user_id: Any = None
    action: str | None = None
    data: Any = None
    scheduled_time: str | None = None
    #: The envelope's fields as the body holds them (the four above, raw), empty when it holds none.
    raw: Mapping[str, Any] = field(default_factory=dict)


def task_fields(event: Any) -> TaskFields:
    """Read the task back out of a proxy event: its body as a JSON string (or, from the guide's code, an
    object), and the `X-Scheduler-Scheduled-Time` header. Anything unreadable reads as absent."""
    if not isinstance(event, Mapping):
        return TaskFields()
    envelope = _body_object(event.get("body"))
    raw = {k: envelope[k] for k in ("task_id", "user_id", "action", "data") if k in envelope}
    task_id, action = raw.get("task_id"), raw.get("action")
    return TaskFields(
        task_id=task_id if isinstance(task_id, str) and task_id else None,
        user_id=raw.get("user_id"),
        action=action if isinstance(action, str) and action else None,
        data=raw.get("data"),
        scheduled_time=_scheduled_time_header(event.get("headers")),
        raw=raw,
    )


def _body_object(body: Any) -> Mapping[str, Any]:
    """The body as a JSON object: parsed from a string, kept when already one, empty otherwise."""
    if isinstance(body, str) and body.lstrip().startswith("{"):
        try:
            body = json.loads(body)
        except (ValueError, RecursionError):  # RecursionError: nested too deep for json
            return {}
    return body if isinstance(body, Mapping) else {}


def _scheduled_time_header(headers: Any) -> str | None:
    """`X-Scheduler-Scheduled-Time` in any case, None when absent or never substituted."""
    if not isinstance(headers, Mapping):
        return None
    wanted = SCHEDULED_TIME_HEADER.lower()
    scheduled = next((str(v) for k, v in headers.items() if str(k).lower() == wanted), None)
    if scheduled is not None and scheduled.startswith("<aws.scheduler."):
        return None  # never substituted: a direct invocation of the raw Input
    return scheduled


def format_scheduled_time(moment: datetime) -> str:
    """The scheduler's format for `<aws.scheduler.scheduled-time>`: `2022-03-22T18:59:43Z`."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class SchedulerContext:
    """The context attributes of one delivery; all None for a direct invocation."""

    schedule_arn: str | None = None
    scheduled_time: datetime | None = None
    scheduled_time_raw: str | None = None
    execution_id: str | None = None
    attempt: int | None = None
    #: `X-Task-Kind`: `one-time`, `recurring`, or None when the schedule did not say.
    task_kind: str | None = None
    #: `X-Task-Scope` as sent (an owner's task under `Isolation=owner`), None when absent; check it before use.
    task_scope: str | None = None
    #: `X-Task-Quota` as sent (the owner's quota slot the create tried first), None when absent or malformed.
    task_quota: str | None = None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> SchedulerContext:
        """Read the `X-Scheduler-*` headers (any case); placeholders never substituted count as absent."""
        lowered = {k.lower(): v for k, v in headers.items()}

        def value(name: str) -> str | None:
            raw = lowered.get(name.lower())
            if raw is None or not raw.strip() or (raw.startswith("<aws.scheduler.") and raw.endswith(">")):
                return None
            return raw.strip()

        raw_time = value(SCHEDULED_TIME_HEADER)
        scheduled = _parse_time(raw_time)
        attempt_raw = value(ATTEMPT_HEADER)
        return cls(
            schedule_arn=value(SCHEDULE_ARN_HEADER),
            scheduled_time=scheduled,
            scheduled_time_raw=raw_time if scheduled is not None else None,
            execution_id=value(EXECUTION_ID_HEADER),
            attempt=int(attempt_raw) if attempt_raw is not None and attempt_raw.isdigit() else None,
            task_kind=kind if (kind := value(TASK_KIND_HEADER)) in TASK_KINDS else None,
            task_scope=value(TASK_SCOPE_HEADER),
            task_quota=quota if (quota := value(TASK_QUOTA_HEADER)) and _SLOT.match(quota) else None,
        )


_SLOT = re.compile(r"^[0-9a-f]{16}#[0-9]{1,2}$")  # taskcore.quota.SLOT_PATTERN


def _parse_time(raw: str | None) -> datetime | None:
    if raw is None:
        return None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
