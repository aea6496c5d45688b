"""Who is calling: the caller's IAM principal, from API Gateway's request context, and what it may see.

API Gateway (REST, `AWS_IAM` authorization) verifies the caller's SigV4 signature and puts the
principal's ARN in `requestContext.identity.userArn`. Nothing the caller sends can set it: a header
of the same name is just a header. An assumed-role session
(`arn:aws:sts::123456789012:assumed-role/orders-service/i-0abc`) is normalised to its role
(`arn:aws:iam::123456789012:role/orders-service`), so every instance of a service, each with its
own session, owns the same tasks. (The STS ARN carries no role path: a role under a path is named
without it.)

Under `TASK_ISOLATION=owner` a caller sees, lists, changes and cancels only the tasks it owns; the
principals in `ADMIN_PRINCIPALS` see all. Under `shared` (the default) every caller sees every task.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_ASSUMED_ROLE = re.compile(r"arn:(?P<partition>aws[\w-]*):sts::(?P<account>\d{12}):assumed-role/(?P<role>[^/]+)/.+")

SHARED = "shared"
OWNER = "owner"


def normalise(arn: str) -> str:
    """The principal that owns what this ARN creates: an assumed-role session's role, else the ARN."""
    found = _ASSUMED_ROLE.fullmatch(arn)
    if found is None:
        return arn
    return f"arn:{found['partition']}:iam::{found['account']}:role/{found['role']}"


@dataclass(frozen=True)
class Caller:
    """The principal of one request (None when the request carries none: a direct invocation, `make dev`)."""

    principal: str | None = None
    #: Whether it may see every task (named in ADMIN_PRINCIPALS, or isolation is `shared`).
    sees_all: bool = True

    def may_see(self, owner: str | None) -> bool:
        """Whether a task owned by `owner` exists for this caller."""
        return self.sees_all or owner == self.principal


def caller_of(event: Mapping[str, Any] | None, *, isolation: str, admins: frozenset[str]) -> Caller:
    """The caller of the API Gateway proxy event `event` (`requestContext.identity.userArn`)."""
    context = (event or {}).get("requestContext") or {}
    identity = context.get("identity") if isinstance(context, Mapping) else None
    arn = identity.get("userArn") if isinstance(identity, Mapping) else None
    principal = normalise(arn) if isinstance(arn, str) and arn else None
    return Caller(principal=principal, sees_all=isolation != OWNER or principal in admins)
