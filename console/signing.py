"""`make console` against a deployed stack: every API request signed with the operator's AWS credentials.

The deployed API is `AWS_IAM`-only (SigV4 for the service `execute-api`); the console signs with botocore's
own `SigV4Auth`, so nothing public is added to AWS. The stack's outputs (CloudFormation DescribeStacks) give
the API URL, the dead-letter queues and the callback the console replays into.
"""

from __future__ import annotations

import re
from collections.abc import Generator
from typing import Any

import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

#: `https://{api-id}.execute-api.{region}.amazonaws.com[.cn]/{stage}`
_REGION_IN_URL = re.compile(r"\.execute-api\.([a-z0-9-]+)\.amazonaws\.com")

#: The headers botocore signs and this client sends (httpx adds the others after signing).
_SIGNED = ("host", "content-type")


class SigV4(httpx.Auth):
    """Sign each request for `service` in `region` with `credentials` (botocore Credentials, refreshed as needed)."""

    requires_request_body = True

    def __init__(self, credentials: Any, region: str, service: str = "execute-api") -> None:
        self._credentials = credentials
        self._region = region
        self._service = service

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Add `Authorization`, `X-Amz-Date` (and `X-Amz-Security-Token` for temporary credentials)."""
        frozen = (
            self._credentials.get_frozen_credentials()
            if hasattr(self._credentials, "get_frozen_credentials")
            else self._credentials
        )
        signed = AWSRequest(
            method=request.method,
            url=str(request.url),
            data=request.content,
            headers={name: value for name, value in request.headers.items() if name.lower() in _SIGNED},
        )
        SigV4Auth(frozen, self._service, self._region).add_auth(signed)
        for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
            if name in signed.headers:
                request.headers[name] = signed.headers[name]
        yield request


def region_of(api_url: str, default: str | None) -> str:
    """The region an execute-api URL names, else `default`; a precise error when there is neither."""
    found = _REGION_IN_URL.search(api_url)
    if found:
        return found.group(1)
    if default:
        return default
    raise ValueError(f"cannot tell the region of {api_url}: give --region (or AWS_REGION)")


class StackNotFound(LookupError):
    """Raise when the stack does not exist or has no ApiUrl output."""


def stack_outputs(cloudformation: Any, stack: str) -> dict[str, str]:
    """OutputKey -> OutputValue of `stack` (DescribeStacks)."""
    try:
        described = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    except cloudformation.exceptions.ClientError as exc:
        raise StackNotFound(f"cannot read stack {stack!r}: {exc}") from exc
    outputs = {str(o["OutputKey"]): str(o["OutputValue"]) for o in (described[0].get("Outputs") or [])}
    if "ApiUrl" not in outputs:
        raise StackNotFound(f"stack {stack!r} has no ApiUrl output: is it this project's stack (template.yaml)?")
    return outputs
