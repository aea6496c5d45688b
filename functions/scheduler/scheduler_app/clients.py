"""The AWS client the scheduler uses, created once per container and shared by every request."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

from scheduler_app.settings import get_settings

if TYPE_CHECKING:
    from mypy_boto3_scheduler import EventBridgeSchedulerClient


@cache
def get_scheduler_client() -> EventBridgeSchedulerClient:
    """EventBridge Scheduler client: bounded retries and timeouts, so a slow call fails fast.

    Region and endpoint come from the usual boto3 sources (AWS_REGION, AWS_ENDPOINT_URL...), so the
    local cloud needs no code change. Tests call `get_scheduler_client.cache_clear()`.
    """
    settings = get_settings()
    config = Config(
        retries={"mode": settings.aws_retry_mode, "total_max_attempts": settings.aws_max_attempts},
        connect_timeout=settings.aws_connect_timeout_seconds,
        read_timeout=settings.aws_read_timeout_seconds,
        # The batch endpoint calls from several threads at once.
        max_pool_connections=max(10, settings.batch_concurrency),
    )
    return boto3.client("scheduler", config=config)
