"""One recipe for the boto3 clients of both functions: bounded retries and timeouts, so a slow call fails fast.

Region and endpoint come from the usual boto3 sources (AWS_REGION, AWS_ENDPOINT_URL, ...), so the
local cloud needs no code change. Each function's settings say how its clients retry and wait
(`ClientSettings`); each client is built once per container by the function's cached factory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class ClientSettings:
    """How a client retries (botocore's `standard` or `adaptive` mode, attempts in total) and how long it waits."""

    retry_mode: Literal["standard", "adaptive"] = "standard"
    total_max_attempts: int = 3
    connect_timeout_seconds: float = 2.0
    read_timeout_seconds: float = 5.0
    max_pool_connections: int = 10


def aws_client(service: str, settings: ClientSettings) -> Any:
    """A boto3 client for `service` configured by `settings` (boto3 is imported here: it costs ~100 ms)."""
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"mode": settings.retry_mode, "total_max_attempts": settings.total_max_attempts},
        connect_timeout=settings.connect_timeout_seconds,
        read_timeout=settings.read_timeout_seconds,
        max_pool_connections=settings.max_pool_connections,
    )
    return boto3.client(service, config=config)  # type: ignore[call-overload]


__all__ = ["ClientSettings", "aws_client"]
