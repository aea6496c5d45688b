"""The `http_request` action's `data`: where to call, how, and with what; checked when a task is scheduled.

Light on purpose: the scheduler imports it (with every action module) to validate `data`, so it needs the
allowlist and the settings only; what a call needs (DNS, http.client, ssl, the signing secret) is in
`delivery.py`, imported when the action runs.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator, model_validator

from taskcore.outbound.allowlist import check_url
from taskcore.outbound.settings import get_outbound_settings

#: Headers a task may add, besides any `X-…` header that is not one of ours or a proxy's.
ALLOWED_HEADERS = frozenset({"accept", "accept-language", "content-language"})
RESERVED_PREFIXES = ("x-task-", "x-forwarded-", "x-amz-", "x-real-ip")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9-]{1,64}$")
_HEADER_VALUE = re.compile(r"^[\x20-\x7e]{0,256}$")


class HttpRequestData(BaseModel):
    """Where to call, how, and with what: checked when the task is scheduled and again when it runs."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2048, description="https:// URL on a host of HttpActionAllowedHosts")
    method: Literal["POST", "PUT", "PATCH", "DELETE", "GET"] = "POST"
    body: JsonValue = Field(default=None, description="sent as JSON (the bytes the signature covers)")
    headers: dict[str, str] = Field(
        default_factory=dict,
        max_length=10,
        description="Accept, Accept-Language, Content-Language or X-… (not X-Task-…); never credentials",
    )

    @field_validator("url")
    @classmethod
    def _allowed_destination(cls, url: str) -> str:
        settings = get_outbound_settings()
        check_url(url, settings.allowlist(), allow_http_loopback=settings.allow_http_loopback)
        return url

    @field_validator("headers")
    @classmethod
    def _allowed_headers(cls, headers: dict[str, str]) -> dict[str, str]:
        for name, value in headers.items():
            lowered = name.lower()
            if not _HEADER_NAME.match(name):
                raise ValueError(f"header {name!r}: a name is 1..64 letters, digits and hyphens")
            if lowered not in ALLOWED_HEADERS and not (
                lowered.startswith("x-") and not lowered.startswith(RESERVED_PREFIXES)
            ):
                raise ValueError(
                    f"header {name!r} is not allowed: only Accept, Accept-Language, Content-Language and X-… "
                    "(not X-Task-…, X-Forwarded-…, X-Amz-…); the request is authenticated by its signature"
                )
            if not _HEADER_VALUE.match(value):
                raise ValueError(f"header {name!r}: a value is at most 256 printable ASCII characters")
        return headers

    @model_validator(mode="after")
    def _no_body_on_get(self) -> HttpRequestData:
        if self.method == "GET" and self.body is not None:
            raise ValueError("a GET request has no body")
        return self


__all__ = ["ALLOWED_HEADERS", "HttpRequestData"]
