"""The AWS clients the scheduler uses, created once per container and shared by every request."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any, cast

from aws_lambda_powertools import Logger

from scheduler_app.cursors import CursorSeal
from scheduler_app.errors import ConfigurationError, Throttled, UpstreamError
from scheduler_app.settings import get_settings
from taskcore.clients import aws_client

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_scheduler import EventBridgeSchedulerClient

_logger = Logger(child=True)


@cache
def get_scheduler_client() -> EventBridgeSchedulerClient:
    """EventBridge Scheduler's client, by taskcore's recipe (tests call `get_scheduler_client.cache_clear()`)."""
    return cast("EventBridgeSchedulerClient", aws_client("scheduler", get_settings().client_settings()))


@cache
def get_dynamodb_client() -> DynamoDBClient:
    """DynamoDB's client, for the task ledger (tests call `get_dynamodb_client.cache_clear()`)."""
    return cast("DynamoDBClient", aws_client("dynamodb", get_settings().client_settings()))


@cache
def get_secrets_client() -> Any:
    """Secrets Manager's client, for the listing cursors' key (tests call `get_secrets_client.cache_clear()`)."""
    return aws_client("secretsmanager", get_settings().client_settings())


@cache
def get_cursor_seal() -> CursorSeal:
    """The listing cursors' seal: the stack's CursorKeySecret, read once per container, on the first listing
    that makes or reads a cursor (a create or a GET never reads it). Not cached when the read fails."""
    from botocore.exceptions import BotoCoreError, ClientError

    settings = get_settings()
    if settings.cursor_secret_id is None:
        raise ConfigurationError("CURSOR_SECRET_ID is not set: listings cannot page (template.yaml sets it)")
    try:
        value = get_secrets_client().get_secret_value(SecretId=settings.cursor_secret_id)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "error"))
        _logger.warning("cursor key unreadable", extra={"code": code, "aws_message": error.get("Message")})
        if code in ("ThrottlingException", "RequestLimitExceeded"):
            raise Throttled(
                f"Secrets Manager is throttling GetSecretValue ({code}); retry later",
                retry_after_seconds=settings.retry_after_seconds,
            ) from None
        raise UpstreamError(
            f"the key of the listing cursors could not be read ({code}); see the scheduler function's log"
        ) from None
    except BotoCoreError as exc:
        _logger.warning("cursor key unreachable", extra={"error": type(exc).__name__})
        raise UpstreamError(
            f"the key of the listing cursors could not be read ({type(exc).__name__}); retry later"
        ) from None
    secret = value.get("SecretString")
    return CursorSeal(secret.encode() if isinstance(secret, str) else bytes(value["SecretBinary"]))
