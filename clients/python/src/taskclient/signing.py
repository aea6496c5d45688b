"""SigV4 for the deployed API (`AWS_IAM` authorization, service `execute-api`) with botocore's own signer.

`sign=None` signs for an `execute-api` URL and not for any other (loopback's `make dev` needs none);
the region is read from such a URL. Credentials are botocore's default chain unless given.
"""

from __future__ import annotations

import os
import re
from collections.abc import Generator
from typing import Any

import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

SERVICE = "execute-api"
#: `{api-id}.execute-api.{region}.amazonaws.com[.cn]`, and a private API's `{api-id}-{vpce-id}.execute-api...`.
_EXECUTE_API = re.compile(r"\.execute-api\.(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)\.(?:vpce\.)?amazonaws\.com(?:\.cn)?$")
#: The headers signed besides those botocore adds (httpx adds the others after signing, unsigned).
_SIGNED = ("host", "content-type")


def region_in_url(url: str) -> str | None:
    """The region an execute-api URL names, or None."""
    host = httpx.URL(url).host
    found = _EXECUTE_API.search(host)
    return found.group("region") if found else None


def should_sign(url: str, sign: bool | None) -> bool:
    """`sign` when given; else True for an execute-api URL only (loopback's `make dev` and other hosts: False)."""
    if sign is not None:
        return sign
    return region_in_url(url) is not None


def signing_region(url: str, region: str | None, default: str | None) -> str:
    """The region to sign for: the URL's, else `region`, else `default` (the AWS configuration's)."""
    in_url = region_in_url(url)
    if in_url is not None and region is not None and region != in_url:
        raise ValueError(f"region {region!r} differs from the region in {url} ({in_url}); leave region out")
    found = in_url or region or default
    if not found:
        raise ValueError(
            f"cannot tell the region to sign {url} for: pass region=... (or set AWS_REGION / AWS_DEFAULT_REGION)"
        )
    return found


def default_credentials() -> Any:
    """botocore's default credential chain (environment, profile, SSO, container, instance metadata); None if none."""
    import botocore.session

    return botocore.session.get_session().get_credentials()


def configured_region() -> str | None:
    """The region the AWS configuration names (AWS_DEFAULT_REGION, the profile's; else AWS_REGION as on Lambda)."""
    import botocore.session

    region = botocore.session.get_session().get_config_variable("region") or os.environ.get("AWS_REGION")
    return str(region) if region else None


class SigV4(httpx.Auth):
    """Sign each request for `execute-api` in `region`; refreshable credentials are refreshed as botocore does."""

    requires_request_body = True

    def __init__(self, credentials: Any, region: str, service: str = SERVICE) -> None:
        if credentials is None:
            raise ValueError(
                "no AWS credentials found to sign with: configure them (aws configure, AWS_PROFILE, environment "
                "variables, a role) or pass credentials=..., or sign=False for an API that needs no signature"
            )
        self.credentials = credentials
        self.region = region
        self.service = service

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Add `Authorization`, `X-Amz-Date` (and `X-Amz-Security-Token` for temporary credentials)."""
        frozen = (
            self.credentials.get_frozen_credentials()
            if hasattr(self.credentials, "get_frozen_credentials")
            else self.credentials
        )
        signed = AWSRequest(
            method=request.method,
            url=str(request.url),
            data=request.content,
            headers={name: value for name, value in request.headers.items() if name.lower() in _SIGNED},
        )
        SigV4Auth(frozen, self.service, self.region).add_auth(signed)
        for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
            if name in signed.headers:
                request.headers[name] = signed.headers[name]
        yield request
