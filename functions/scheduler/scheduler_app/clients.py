"""The AWS clients the scheduler uses, created once per container and shared by every request."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from scheduler_app.settings import get_settings
from taskcore.caches import container_cache
from taskcore.clients import aws_client

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_scheduler import EventBridgeSchedulerClient


@container_cache
def get_scheduler_client() -> EventBridgeSchedulerClient:
    """EventBridge Scheduler's client, by taskcore's recipe (tests call `get_scheduler_client.cache_clear()`)."""
    return cast("EventBridgeSchedulerClient", aws_client("scheduler", get_settings().client_settings()))


@container_cache
def get_dynamodb_client() -> DynamoDBClient:
    """DynamoDB's client, for the task ledger (tests call `get_dynamodb_client.cache_clear()`)."""
    return cast("DynamoDBClient", aws_client("dynamodb", get_settings().client_settings()))


@container_cache
def get_secrets_client() -> Any:
    """Secrets Manager's client, for the listing cursors' key (tests call `get_secrets_client.cache_clear()`)."""
    return aws_client("secretsmanager", get_settings().client_settings())
