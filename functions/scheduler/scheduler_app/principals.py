"""Who is calling: the caller's IAM principal, from API Gateway's request context, and what it may see.

API Gateway (REST, `AWS_IAM` authorization) verifies the caller's SigV4 signature and puts the
principal's ARN in `requestContext.identity.userArn`. Nothing the caller sends can set it: a header
of the same name is just a header.

An assumed-role session (`arn:aws:sts::123456789012:assumed-role/orders-service/i-0abc`) owns as
`ASSUMED_ROLE_OWNER` says: `role` (the default) normalises it to its role
(`arn:aws:iam::123456789012:role/orders-service`), so every instance of a service, each with its own
session, owns the same tasks; `session` keeps the session's ARN (role and session name), so each person
signed in through IAM Identity Center (sessions of one `AWSReservedSSO_…` role per permission set) owns
their own. The STS ARN carries no role path, so a role ARN given with one (as IAM shows
`role/aws-reserved/sso.amazonaws.com/<region>/AWSReservedSSO_…`) is read without it.

Under `TASK_ISOLATION=owner` a caller sees, lists, changes and cancels only the tasks it owns, in its
own namespace of task ids (scheduler_app.namespaces); the principals in `ADMIN_PRINCIPALS` see all and
address another owner's task by naming the owner. Under `shared` (the default) every caller sees every task.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scheduler_app.namespaces import scope_of

_ASSUMED_ROLE = re.compile(r"arn:(?P<partition>aws[\w-]*):sts::(?P<account>\d{12}):assumed-role/(?P<role>[^/]+)/.+")
#: A role ARN, with or without a path (`role/<path>/<name>`: the name is the last part; names are unique per account).
_ROLE = re.compile(r"arn:(?P<partition>aws[\w-]*):iam::(?P<account>\d{12}):role/(?:.+/)?(?P<role>[^/]+)")
#: What can name an owner: an IAM or STS ARN of an account.
OWNER_ARN = re.compile(r"arn:aws[\w-]*:(?:iam|sts)::\d{12}:\S+")

SHARED = "shared"
OWNER = "owner"
#: ASSUMED_ROLE_OWNER: an assumed-role session owns as its role, or as itself (role and session name).
ROLE = "role"
SESSION = "session"


def role_of(arn: str) -> str | None:
    """The role (`arn:…:iam::<account>:role/<name>`, no path) of a role ARN or an assumed-role session; else None."""
    found = _ASSUMED_ROLE.fullmatch(arn) or _ROLE.fullmatch(arn)
    return None if found is None else f"arn:{found['partition']}:iam::{found['account']}:role/{found['role']}"


def normalise(arn: str, assumed_role_owner: str = ROLE) -> str:
    """The principal that owns what this ARN creates: a session's role (or the session, with `session`),
    a role without its path, anything else as it is."""
    if _ASSUMED_ROLE.fullmatch(arn) and assumed_role_owner == SESSION:
        return arn
    return role_of(arn) or arn


def is_admin(arn: str, admins: frozenset[str], assumed_role_owner: str = ROLE) -> bool:
    """Whether the caller `arn` is one of `admins` (normalised entries): as itself, or as a session of an admin role."""
    return normalise(arn, assumed_role_owner) in admins or role_of(arn) in admins


@dataclass(frozen=True)
class Caller:
    """The principal of one request (None when the request carries none: a direct invocation, `make dev`)."""

    principal: str | None = None
    #: Named in ADMIN_PRINCIPALS (under owner isolation: sees every task, and may address another owner's).
    admin: bool = False
    #: Isolation `owner`: each owner has its own task ids, and sees only its own tasks.
    isolated: bool = False
    #: ASSUMED_ROLE_OWNER, to read an owner named in a request the way the caller's own principal was read.
    assumed_role_owner: str = ROLE

    @property
    def sees_all(self) -> bool:
        """Whether every task is visible to it: an admin, or isolation `shared`."""
        return self.admin or not self.isolated

    @property
    def scope(self) -> str | None:
        """The namespace of its task ids: its owner's scope under owner isolation, else None (the shared one)."""
        return scope_of(self.principal) if self.isolated and self.principal else None

    def may_see(self, owner: str | None) -> bool:
        """Whether a task owned by `owner` exists for this caller."""
        return self.sees_all or owner == self.principal

    def acting_for(self, owner: str) -> Caller:
        """The same request as `owner` would make it (an admin addressing another owner's tasks)."""
        return Caller(principal=owner, isolated=self.isolated, assumed_role_owner=self.assumed_role_owner)


def caller_of(
    event: Mapping[str, Any] | None, *, isolation: str, admins: frozenset[str], assumed_role_owner: str = ROLE
) -> Caller:
    """The caller of the API Gateway proxy event `event` (`requestContext.identity.userArn`)."""
    context = (event or {}).get("requestContext") or {}
    identity = context.get("identity") if isinstance(context, Mapping) else None
    arn = identity.get("userArn") if isinstance(identity, Mapping) else None
    if not isinstance(arn, str) or not arn:
        return Caller(isolated=isolation == OWNER, assumed_role_owner=assumed_role_owner)
    return Caller(
        principal=normalise(arn, assumed_role_owner),
        admin=is_admin(arn, admins, assumed_role_owner),
        isolated=isolation == OWNER,
        assumed_role_owner=assumed_role_owner,
    )
