"""Listing cursors, sealed: authenticated and encrypted, so that only this API can make or read one. Pure: the
key is given (scheduler_app.keys reads it).

A cursor carries where the next page starts (DynamoDB's LastEvaluatedKey, which names the ledger's key
attributes and values), the filters it was issued for, and a digest of the caller it was issued to. A
caller must not be able to forge one (a wrongly typed key reaching ExclusiveStartKey is a 5xx; a key
moved to another partition reads pages it was not given), nor read the table's key layout in it.

The seal is encrypt-then-MAC with two keys derived from the stack's secret (HMAC-SHA256 with a label for
each use):

    cursor = base64url( version (1 byte) | nonce (16 random bytes) | ciphertext | tag (32 bytes) )
    ciphertext = payload XOR keystream,   block i of the keystream = HMAC-SHA256(encryption key, nonce | i)
    tag = HMAC-SHA256(authentication key, version | nonce | ciphertext)

The keystream is HMAC-SHA256 as a pseudorandom function in counter mode (the construction of NIST SP
800-108's KDF in counter mode), so the payload is hidden as by any stream cipher under a fresh nonce;
the tag is verified (in constant time) before anything is decrypted, so a changed byte, a cut cursor or
one made with another key is refused as a whole. Only the standard library is used: the layer has no
AES. docs/security.md ("Listing cursors") says why, and what a leaked key would allow.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from typing import Any

from scheduler_app.errors import InvalidSchedule

VERSION = b"\x01"
NONCE_BYTES = 16
TAG_BYTES = 32
_BLOCK_BYTES = 32  # one HMAC-SHA256 output
_ENCRYPTION = b"scheduled-tasks listing cursor: encryption"
_AUTHENTICATION = b"scheduled-tasks listing cursor: authentication"


class CursorSeal:
    """Seals payloads into cursors and opens them again, with one key (the stack's secret)."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the cursor key must be at least 16 bytes")
        self._encryption = hmac.new(secret, _ENCRYPTION, hashlib.sha256).digest()
        self._authentication = hmac.new(secret, _AUTHENTICATION, hashlib.sha256).digest()

    def seal(self, payload: Any) -> str:
        """`payload` (JSON-able) as an opaque cursor; each call draws a fresh nonce."""
        plain = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        nonce = secrets.token_bytes(NONCE_BYTES)
        body = VERSION + nonce + _xor(plain, self._keystream(nonce, len(plain)))
        token = body + self._tag(body)
        return base64.urlsafe_b64encode(token).rstrip(b"=").decode("ascii")

    def open(self, cursor: str) -> Any:
        """The payload a cursor of this seal carries; None for anything else (forged, changed, cut, another key's)."""
        try:
            token = base64.urlsafe_b64decode(cursor.encode("ascii") + b"=" * (-len(cursor) % 4))
        except (binascii.Error, ValueError, UnicodeEncodeError):
            return None
        if base64.urlsafe_b64encode(token).rstrip(b"=").decode("ascii") != cursor:
            return None  # one cursor has one spelling: no stray characters, no other unused bits in its last one
        if len(token) < len(VERSION) + NONCE_BYTES + TAG_BYTES or not token.startswith(VERSION):
            return None
        body, tag = token[:-TAG_BYTES], token[-TAG_BYTES:]
        if not hmac.compare_digest(tag, self._tag(body)):
            return None
        nonce, ciphertext = body[len(VERSION) : len(VERSION) + NONCE_BYTES], body[len(VERSION) + NONCE_BYTES :]
        try:
            return json.loads(_xor(ciphertext, self._keystream(nonce, len(ciphertext))))
        except ValueError:  # authentic, so never: a cursor this code did not write
            return None

    def _tag(self, body: bytes) -> bytes:
        return hmac.new(self._authentication, body, hashlib.sha256).digest()

    def _keystream(self, nonce: bytes, size: int) -> bytes:
        blocks = (size + _BLOCK_BYTES - 1) // _BLOCK_BYTES
        stream = b"".join(
            hmac.new(self._encryption, nonce + counter.to_bytes(4, "big"), hashlib.sha256).digest()
            for counter in range(blocks)
        )
        return stream[:size]


def caller_digest(principal: str | None) -> str:
    """What a cursor keeps of the caller it was issued to: a digest, not the ARN."""
    return hashlib.sha256((principal or "").encode()).hexdigest()[:32]


def _xor(data: bytes, stream: bytes) -> bytes:
    return (int.from_bytes(data, "big") ^ int.from_bytes(stream, "big")).to_bytes(len(data), "big")


#: What a listing says of a cursor it cannot read: forged, changed, cut, of another kind, or made with another key.
FOREIGN_CURSOR = "cursor: not a cursor this API issued; start again without it"


def encode_cursor(position: dict[str, Any], binding: dict[str, Any], *, seal: CursorSeal, caller: str) -> str:
    """An opaque cursor: where the next page starts, bound to the filters and the caller it was issued for.

    The payload is `{"k": position, "b": binding, "c": caller}`, sealed: no caller can read the ledger's keys
    in it or make one of its own. `caller` is `caller_digest` of the caller's principal.
    """
    return seal.seal({"k": position, "b": binding, "c": caller})


def decode_cursor(cursor: str, binding: dict[str, Any], *, seal: CursorSeal, caller: str) -> dict[str, Any]:
    """The position inside `cursor`; raise InvalidSchedule for a foreign cursor, another caller's or other filters."""
    data = seal.open(cursor)
    if not isinstance(data, dict) or not isinstance(data.get("k"), dict) or not isinstance(data.get("b"), dict):
        raise InvalidSchedule(FOREIGN_CURSOR)
    if set(data["b"]) != set(binding):  # another kind of listing's (the runs of a task, or the tasks)
        raise InvalidSchedule(FOREIGN_CURSOR)
    if data.get("c") != caller:
        raise InvalidSchedule("cursor: it was issued to another caller; start again without it")
    if data["b"] != binding:
        given = ", ".join(f"{name}={data['b'].get(name)!r}" for name in binding)
        raise InvalidSchedule(
            f"cursor: it was issued for {given}; pass the same filters with it, or start again without it"
        )
    return dict(data["k"])


__all__ = ["FOREIGN_CURSOR", "CursorSeal", "caller_digest", "decode_cursor", "encode_cursor"]
