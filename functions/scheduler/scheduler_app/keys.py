"""The adapter for the listing cursors' key: the stack's CursorKeySecret in Secrets Manager, read once per container.

Only a listing that makes or reads a cursor asks for it (scheduler_app.cursors): a create, a GET or a one-page
listing never waits for Secrets Manager. AWS's errors become domain errors here, as in the other adapters.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger

from scheduler_app.clients import get_secrets_client
from scheduler_app.cursors import CursorSeal
from scheduler_app.errors import ConfigurationError, Throttled, UpstreamError
from scheduler_app.settings import get_settings
from taskcore.caches import container_cache

logger = Logger(child=True)

#: Secrets Manager's words for "too many requests".
THROTTLING_CODES = frozenset({"ThrottlingException", "RequestLimitExceeded"})


@container_cache
def get_cursor_seal() -> CursorSeal:
    """The listing cursors' seal, from the secret CURSOR_SECRET_ID names (tests call `get_cursor_seal.cache_clear()`).

    Not cached when the read fails: the next listing tries again.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    settings = get_settings()
    if settings.cursor_secret_id is None:
        raise ConfigurationError("CURSOR_SECRET_ID is not set: listings cannot page (template.yaml sets it)")
    try:
        value = get_secrets_client().get_secret_value(SecretId=settings.cursor_secret_id)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "error"))
        logger.warning("cursor key unreadable", extra={"code": code, "aws_message": error.get("Message")})
        if code in THROTTLING_CODES:
            raise Throttled(
                f"Secrets Manager is throttling GetSecretValue ({code}); retry later",
                retry_after_seconds=settings.retry_after_seconds,
            ) from None
        raise UpstreamError(
            f"the key of the listing cursors could not be read ({code}); see the scheduler function's log"
        ) from None
    except BotoCoreError as exc:
        logger.warning("cursor key unreachable", extra={"error": type(exc).__name__})
        raise UpstreamError(
            f"the key of the listing cursors could not be read ({type(exc).__name__}); retry later"
        ) from None
    secret = value.get("SecretString")
    return CursorSeal(secret.encode() if isinstance(secret, str) else bytes(value["SecretBinary"]))
