"""The HTTP action's signature: HMAC-SHA256, with the stack's signing secret, over the signed headers' values
(`SIGNED_HEADERS`, in that order, each followed by a newline) and then the raw body. So neither the body nor the
task's headers (its id, scheduled time, attempt, idempotency key) nor the timestamp can be changed or replayed
with another key without breaking it.

The secret (template.yaml's HttpSigningSecret) is read with Powertools' parameters utility, once per container
and again after `HTTP_ACTION_SECRET_MAX_AGE_SECONDS`, so a new value reaches every container without a deploy.
Its value is one key (what CloudFormation generates), or during a rotation a JSON object
`{"current": "<new key>", "previous": "<old key>"}`: each request then carries a signature by each key, so a
receiver that knows either accepts it (taskclient.webhooks verifies them).
"""

from __future__ import annotations

import hashlib
import hmac
import json

from taskcore.outbound.settings import get_outbound_settings
from taskcore.secrets import SecretUnavailable, read_secret

SIGNATURE_VERSION = "v1"
#: The headers whose values the signature covers, in this order (taskclient.webhooks reads the same names).
SIGNED_HEADERS = ("X-Task-Timestamp", "X-Task-Id", "X-Task-Scheduled-Time", "X-Task-Attempt", "Idempotency-Key")


class SigningKeyUnavailable(RuntimeError):
    """Raise when the signing secret is not configured or cannot be read (transient: Lambda retries)."""


def signed_content(headers: dict[str, str], body: bytes) -> bytes:
    """What the signature covers: each of SIGNED_HEADERS' values and a newline, then the body."""
    return "".join(f"{headers.get(name, '')}\n" for name in SIGNED_HEADERS).encode() + body


def signature(key: bytes, headers: dict[str, str], body: bytes) -> str:
    """The hex HMAC-SHA256 of `signed_content(headers, body)` under `key`."""
    return hmac.new(key, signed_content(headers, body), hashlib.sha256).hexdigest()


def signature_header(keys: tuple[bytes, ...], headers: dict[str, str], body: bytes) -> str:
    """`v1=<hex>` for each key, comma-separated (the current key first)."""
    return ",".join(f"{SIGNATURE_VERSION}={signature(key, headers, body)}" for key in keys)


def parse_keys(value: str | bytes) -> tuple[bytes, ...]:
    """The keys a secret's value holds: itself, or the `current` and `previous` of a JSON object."""
    text = value.decode() if isinstance(value, bytes) else value
    if text.lstrip().startswith("{"):
        document = json.loads(text)
        keys = [document.get("current"), document.get("previous")]
        found = tuple(str(key).encode() for key in keys if key)
        if not document.get("current"):
            raise SigningKeyUnavailable('the signing secret is a JSON object without a "current" key')
        return found
    if not text:
        raise SigningKeyUnavailable("the signing secret is empty")
    return (text.encode(),)


def signing_keys() -> tuple[bytes, ...]:
    """The current signing key (and the previous one during a rotation), read at most once per max age."""
    settings = get_outbound_settings()
    if not settings.signing_secret_id:
        raise SigningKeyUnavailable("HTTP_ACTION_SIGNING_SECRET_ID is not set (template.yaml sets it)")
    try:
        value = read_secret(settings.signing_secret_id, max_age=settings.secret_max_age_seconds)
    except SecretUnavailable as exc:
        raise SigningKeyUnavailable(f"the signing key: {exc}") from None
    return parse_keys(value)


__all__ = [
    "SIGNATURE_VERSION",
    "SIGNED_HEADERS",
    "SigningKeyUnavailable",
    "parse_keys",
    "signature",
    "signature_header",
    "signed_content",
    "signing_keys",
]
