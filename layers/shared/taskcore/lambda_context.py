"""The Lambda context both entry points give Powertools, whatever the caller passed.

Powertools' `inject_lambda_context` reads the context's name, memory, ARN and request id. On Lambda
the runtime passes a real context; a test, `make invoke` or the guide's own test script
(`lambda_handler(event, {})`) may pass `{}` or None, which would make the decorator raise before the
task is even looked at. Such a caller gets a stand-in that says "unknown" instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: What `inject_lambda_context` reads.
CONTEXT_ATTRIBUTES = ("function_name", "memory_limit_in_mb", "invoked_function_arn", "aws_request_id")


@dataclass(frozen=True)
class UnknownLambdaContext:
    """Stands in for a context that is not Lambda's; it has no remaining time (nothing to register)."""

    function_name: str = "unknown"
    memory_limit_in_mb: int | None = None
    invoked_function_arn: str | None = None
    aws_request_id: str | None = None


def lambda_context(context: Any) -> Any:
    """`context` when it is a Lambda context (or looks like one), else an `UnknownLambdaContext`."""
    if all(hasattr(context, name) for name in CONTEXT_ATTRIBUTES):
        return context
    return UnknownLambdaContext()


__all__ = ["UnknownLambdaContext", "lambda_context"]
