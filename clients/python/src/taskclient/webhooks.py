"""Receiving the `http_request` action's calls: check the signature and the timestamp, read the task's headers.

    from taskclient.webhooks import verify_signature, InvalidSignature

    delivery = verify_signature(request.headers, raw_body, secrets=[current_key, previous_key])
    if already_done(delivery.idempotency_key): ...

Each request carries `X-Task-Timestamp` (Unix seconds) and `X-Task-Signature`: `v1=<hex HMAC-SHA256 of
"<timestamp>.<raw body>">`, one per key the stack signs with (two during a rotation). A request is accepted
when one of its signatures matches one of `secrets` and its timestamp is within `tolerance` seconds of now
(a captured request cannot be replayed later). Verify the raw bytes as received, before parsing JSON.
`signed_delivery(secrets)` is the same as a FastAPI dependency (FastAPI is imported only when it is used).
"""

from __future__ import annotations

import hashlib
import hmac
import inspect
import json
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

#: The headers the action sends (taskcore.outbound.delivery sends the same names).
TASK_ID = "X-Task-Id"
SCHEDULED_TIME = "X-Task-Scheduled-Time"
ATTEMPT = "X-Task-Attempt"
IDEMPOTENCY_KEY = "Idempotency-Key"
TIMESTAMP = "X-Task-Timestamp"
SIGNATURE = "X-Task-Signature"
SIGNATURE_VERSION = "v1"
#: The headers whose values the signature covers, in this order, each followed by a newline, then the raw body
#: (taskcore.outbound.signing signs the same): none of them can be changed, or replayed with another key.
SIGNED_HEADERS = (TIMESTAMP, TASK_ID, SCHEDULED_TIME, ATTEMPT, IDEMPOTENCY_KEY)
#: Seconds a request's timestamp may differ from the receiver's clock.
DEFAULT_TOLERANCE = 300

Secrets = str | bytes | Sequence[str | bytes]


class InvalidSignature(ValueError):
    """Raise when a request is not signed by a known key, or is too old (or too new) to accept."""


@dataclass(frozen=True)
class Delivery:
    """What a verified request says of its task: deduplicate on `idempotency_key`."""

    task_id: str
    idempotency_key: str
    scheduled_time: str | None
    attempt: int | None
    timestamp: int


def signing_keys(secrets: Secrets) -> list[bytes]:
    """The keys to accept: each secret, or the `current` and `previous` of the JSON value a rotation puts."""
    items = [secrets] if isinstance(secrets, str | bytes) else list(secrets)
    keys: list[bytes] = []
    for item in items:
        text = item.decode() if isinstance(item, bytes) else item
        if text.lstrip().startswith("{"):
            document = json.loads(text)
            keys.extend(str(document[name]).encode() for name in ("current", "previous") if document.get(name))
        elif text:
            keys.append(text.encode())
    if not keys:
        raise ValueError("no signing secret given")
    return keys


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value


def _number(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _epoch(now: datetime | float | None) -> float:
    if now is None:
        return time.time()
    return now.timestamp() if isinstance(now, datetime) else float(now)


def _checked_timestamp(headers: Mapping[str, str], now: datetime | float | None, tolerance: float) -> str:
    """The request's timestamp, when it is signed and within `tolerance` of now; else InvalidSignature."""
    stamp = _header(headers, TIMESTAMP)
    if not stamp or not _header(headers, SIGNATURE):
        raise InvalidSignature(f"the request has no {TIMESTAMP} or {SIGNATURE} header")
    if not stamp.isdigit():
        raise InvalidSignature(f"{TIMESTAMP} is not a Unix time in seconds")
    age = _epoch(now) - int(stamp)
    if abs(age) > tolerance:
        raise InvalidSignature(f"the timestamp is {abs(age):.0f} s from now, more than {tolerance:g} s: refused")
    return stamp


def _signed_by_one_of(keys: list[bytes], headers: Mapping[str, str], raw_body: bytes) -> bool:
    """Whether one of the request's `v1=` signatures is the HMAC of its signed headers and body by one of `keys`."""
    signed = "".join(f"{_header(headers, name) or ''}\n" for name in SIGNED_HEADERS).encode() + raw_body
    expected = [hmac.new(key, signed, hashlib.sha256).hexdigest() for key in keys]
    prefix = f"{SIGNATURE_VERSION}="
    given = _header(headers, SIGNATURE) or ""
    offered = [part.strip()[len(prefix) :] for part in given.split(",") if part.strip().startswith(prefix)]
    return any(hmac.compare_digest(mine, theirs) for mine in expected for theirs in offered)


def verify_signature(
    headers: Mapping[str, str],
    raw_body: bytes,
    secrets: Secrets,
    *,
    now: datetime | float | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
) -> Delivery:
    """The verified request's task headers; InvalidSignature saying why when it is not to be trusted."""
    keys = signing_keys(secrets)
    stamp = _checked_timestamp(headers, now, tolerance)
    if not _signed_by_one_of(keys, headers, raw_body):
        raise InvalidSignature("no signature matches a known key (wrong secret, or the body was changed)")
    return Delivery(
        task_id=_header(headers, TASK_ID) or "",
        idempotency_key=_header(headers, IDEMPOTENCY_KEY) or "",
        scheduled_time=_header(headers, SCHEDULED_TIME) or None,
        attempt=_number(_header(headers, ATTEMPT)),
        timestamp=int(stamp),
    )


def signed_delivery(
    secrets: Secrets | Callable[[], Secrets], *, tolerance: float = DEFAULT_TOLERANCE
) -> Callable[..., Awaitable[Delivery]]:
    """A FastAPI dependency: the route runs only for a verified request (else 401), and gets its `Delivery`.

        SignedDelivery = Annotated[Delivery, Depends(signed_delivery(lambda: settings.signing_secrets))]

        @app.post("/hooks/reminder")
        async def reminder(delivery: SignedDelivery, body: Reminder) -> dict[str, str]: ...

    `secrets` may be a callable, asked on each request, so a rotated secret takes effect without a restart.
    """
    from fastapi import HTTPException, Request

    async def dependency(request: Any) -> Delivery:
        raw = await request.body()
        known = secrets() if callable(secrets) else secrets
        try:
            return verify_signature(request.headers, raw, known, tolerance=tolerance)
        except InvalidSignature as exc:
            raise HTTPException(status_code=401, detail=str(exc)) from None

    # FastAPI injects by annotation; FastAPI is imported here only, so the annotation is set here too.
    parameter = inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request)
    dependency.__signature__ = inspect.Signature([parameter], return_annotation=Delivery)  # type: ignore[attr-defined]
    return dependency


__all__ = [
    "ATTEMPT",
    "DEFAULT_TOLERANCE",
    "IDEMPOTENCY_KEY",
    "SCHEDULED_TIME",
    "SIGNATURE",
    "TASK_ID",
    "TIMESTAMP",
    "Delivery",
    "InvalidSignature",
    "signed_delivery",
    "signing_keys",
    "verify_signature",
]
