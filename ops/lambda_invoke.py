"""The deployed callback invoked synchronously as a redrive, through Lambda's Invoke API with the caller's
credentials: how the console (`make console`) and an operator replay a dead letter on AWS."""

from __future__ import annotations

import base64
import json
from typing import Any

from ops.replay import LAMBDA_LONGEST_TIMEOUT_SECONDS, REDRIVE_CUSTOM, InvocationFailed, Invoker

__all__ = ["lambda_invoker", "replay_lambda_client"]


def lambda_invoker(client: Any, function: str) -> Invoker:
    """The deployed callback (`function`: name, ARN or alias ARN) invoked synchronously as a redrive, through
    Lambda's Invoke API (`client`: from `replay_lambda_client`).

    A synchronous Invoke runs under the function's own Timeout, as every invocation does: one that outlives
    it comes back with `FunctionError` ("Task timed out after ... seconds"), and the letter is kept.
    """
    client_context = base64.b64encode(json.dumps({"custom": REDRIVE_CUSTOM}).encode()).decode("ascii")

    def invoke(event: Any) -> Any:
        answer = client.invoke(
            FunctionName=function,
            InvocationType="RequestResponse",
            ClientContext=client_context,
            Payload=json.dumps(event).encode("utf-8"),
        )
        payload = answer["Payload"].read()
        if answer.get("FunctionError"):
            error = json.loads(payload or b"{}")
            raise InvocationFailed(f"{error.get('errorType', 'Error')}: {error.get('errorMessage', '')}")
        return json.loads(payload or b"null")

    return invoke


def replay_lambda_client(session: Any, region: str) -> Any:
    """A Lambda client for replays on AWS: it waits as long as an invocation may run (botocore's 60 s read timeout
    would cut a longer one off) and never re-sends an Invoke (a retried replay would run the callback again)."""
    from botocore.config import Config

    retries: Any = {"mode": "standard", "total_max_attempts": 1}
    config = Config(read_timeout=LAMBDA_LONGEST_TIMEOUT_SECONDS + 5, retries=retries)
    return session.client("lambda", region_name=region, config=config)
