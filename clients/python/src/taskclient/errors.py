"""What can go wrong, as types: one per answer a caller handles differently. The message is the API's own.

The status decides first; the body's machine-readable `code` (when the API sends one) refines it, so
the client reads the API the same before and after the API's error bodies gained `code`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from pydantic import ValidationError

from taskclient.models import ErrorBody, FieldError

#: The `code`s that mean the owner's (or the account's) quota is full: retrying does not help.
QUOTA_CODES = frozenset({"owner_quota_exceeded", "schedule_quota_full"})
#: Statuses retried as "the service is unavailable for now" (API Gateway's and the API's upstream failures).
UNAVAILABLE_STATUSES = frozenset({502, 503, 504})


class TaskError(Exception):
    """Base of every error the client raises for an answer (or no answer) from the API.

    `status` is the HTTP status (None when there was no answer), `code` the API's machine-readable code
    when it sent one, `retry_after` its Retry-After in seconds, `request_id` API Gateway's request id
    when it sent one (quote it to AWS support).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        retry_after: float | None = None,
        request_id: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.retry_after = retry_after
        self.request_id = request_id
        self.body = body


class TaskNotFound(TaskError):
    """404: no such task (never created, or its records expired), or it has ended and cannot be changed."""


class TaskConflict(TaskError):
    """409: the task id is taken by a different request (its id stays reserved until its records expire)."""


class InvalidTask(TaskError):
    """422 (or 400): the request is invalid and nothing was created or changed; `errors` lists the field errors.

    What the client can tell itself (a naive datetime, a task id of dots) is a ValueError before any request.
    """

    def __init__(self, message: str, *, errors: list[FieldError] | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.errors: list[FieldError] = list(errors or [])


class PayloadTooLarge(InvalidTask):
    """413: the task's event would exceed Lambda's asynchronous payload limit; keep large data elsewhere."""


class QuotaExceeded(TaskError):
    """429 without Retry-After (the owner's MaxActiveSchedulesPerOwner) or 507 (the account's schedule quota).

    Not retried: it lasts until tasks end or are cancelled.
    """


class Throttled(TaskError):
    """429 with Retry-After (or API Gateway's own throttling), still so after the client's retries (`retry_after`)."""


class ServiceUnavailable(TaskError):
    """502/503/504, a timeout or no connection, still so after the client's retries (`status` None: no answer)."""


class AccessDenied(TaskError):
    """403: API Gateway refused the request's signature or its IAM policy refused the caller."""


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """`Retry-After` in seconds: delta-seconds or an HTTP date (RFC 9110 10.2.3); None when absent or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _body_of(raw: bytes) -> tuple[Any, ErrorBody | None]:
    """The decoded body and, when it is the API's error shape, that shape."""
    try:
        decoded = json.loads(raw) if raw else None
    except ValueError:
        return raw.decode("utf-8", "replace"), None
    if isinstance(decoded, Mapping) and isinstance(decoded.get("detail"), str):
        try:
            return decoded, ErrorBody.model_validate(decoded)
        except ValidationError:
            return decoded, ErrorBody(detail=str(decoded["detail"]))
    return decoded, None


def _message(status: int, decoded: Any, error: ErrorBody | None) -> str:
    if error is not None:
        return error.detail
    if isinstance(decoded, Mapping) and isinstance(decoded.get("message"), str):  # API Gateway's own answers
        return str(decoded["message"])
    text = decoded if isinstance(decoded, str) else ""
    return f"HTTP {status}" + (f": {text[:200]}" if text else "")


def _too_many(error: ErrorBody | None, retry_after: float | None) -> type[TaskError]:
    """A 429: the owner's quota, or throttling (worth retrying after Retry-After)."""
    if error is not None and error.code is not None:
        return QuotaExceeded if error.code in QUOTA_CODES else Throttled
    # Without a code: the API's throttling sends Retry-After, its quota refusal does not. API Gateway's own
    # throttling ({"message": "Too Many Requests"}, no `detail`) is throttling whatever its headers.
    return QuotaExceeded if error is not None and retry_after is None else Throttled


_BY_STATUS: dict[int, type[TaskError]] = {
    400: InvalidTask,
    403: AccessDenied,
    404: TaskNotFound,
    409: TaskConflict,
    413: PayloadTooLarge,
    422: InvalidTask,
    507: QuotaExceeded,
}


def error_for(status: int, headers: Mapping[str, str], raw: bytes) -> TaskError:
    """The error an answer with this status, headers and body means."""
    decoded, error = _body_of(raw)
    message = _message(status, decoded, error)
    retry_after = retry_after_seconds(headers.get("retry-after"))
    common: dict[str, Any] = {
        "status": status,
        "code": error.code if error is not None else None,
        "retry_after": retry_after,
        "request_id": headers.get("x-amzn-requestid") or headers.get("x-amz-apigw-id"),
        "body": decoded,
    }
    if status == 429:
        kind = _too_many(error, retry_after)
    elif error is not None and error.code in QUOTA_CODES:
        kind = QuotaExceeded
    elif status in UNAVAILABLE_STATUSES:
        kind = ServiceUnavailable
    else:
        kind = _BY_STATUS.get(status, TaskError)
    if issubclass(kind, InvalidTask):
        return kind(message, errors=list(error.errors or []) if error is not None else [], **common)
    return kind(message, **common)


__all__ = [
    "AccessDenied",
    "InvalidTask",
    "PayloadTooLarge",
    "QuotaExceeded",
    "ServiceUnavailable",
    "TaskConflict",
    "TaskError",
    "TaskNotFound",
    "Throttled",
    "error_for",
    "retry_after_seconds",
]
