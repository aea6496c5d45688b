"""The scheduler function's Lambda entry point: API Gateway's REST proxy event in, its proxy response out.

Mangum turns the event into a request for the FastAPI app (scheduler_app.main). Before it, a body
over Lambda's synchronous limit is answered 413 unread; every log line of the invocation carries
the Lambda request id and `cold_start` (Powertools' inject_lambda_context, its keys cleared each
time) and the API Gateway request id as the correlation id. A caller that passes no Lambda context
(a test, the guide's script) gets a stand-in (taskcore.lambda_context).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from mangum import Mangum

from scheduler_app.main import app
from taskcore.lambda_context import lambda_context
from taskcore.limits import LAMBDA_SYNC_PAYLOAD_BYTES
from taskcore.proxy import oversized_body_response

logger = Logger()

#: API Gateway cannot hand the function more than Lambda's synchronous payload limit.
MAX_BODY_BYTES = LAMBDA_SYNC_PAYLOAD_BYTES

_mangum = Mangum(app, lifespan="off")


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point (API Gateway REST proxy event in, proxy response out)."""
    return _handle(event, lambda_context(context))


@logger.inject_lambda_context(clear_state=True)
def _handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request_context = event.get("requestContext") if isinstance(event, dict) else None
    request_id = request_context.get("requestId") if isinstance(request_context, dict) else None
    # The API Gateway request id: the one the caller and the access log know.
    logger.set_correlation_id(str(request_id) if request_id else None)
    too_large = (
        oversized_body_response(event, MAX_BODY_BYTES, code="payload_too_large") if isinstance(event, dict) else None
    )
    if too_large is not None:
        return too_large
    response: dict[str, Any] = _mangum(event, context)
    return response
