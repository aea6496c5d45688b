"""What the routes depend on: the engine, on the container's cached settings and clients, and the path's task id.

The composition root of the engine: the real adapters (DynamoDB, EventBridge Scheduler) are built here and
handed to `Engine` as its ports.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, Request
from pydantic import ValidationError

from scheduler_app.adapters.dynamodb_ledger import DynamoDBLedger
from scheduler_app.adapters.eventbridge import EventBridgeSchedules
from scheduler_app.clients import get_dynamodb_client, get_scheduler_client
from scheduler_app.engine import Engine
from scheduler_app.errors import ConfigurationError
from scheduler_app.keys import get_cursor_seal
from scheduler_app.principals import Caller, caller_of
from scheduler_app.settings import SchedulerSettings, get_settings
from taskcore.envelope import TASK_ID_PATTERN
from taskcore.errors import describe_errors


def get_service(caller: Caller | None = None) -> Engine:
    """The engine over the stack's schedule group and task ledger, on the container's cached settings and clients.

    `caller` is the request's principal (None: one that sees everything, as a script or a test would).
    """
    try:
        settings: SchedulerSettings = get_settings()
    except ValidationError as exc:
        raise ConfigurationError(f"the scheduler is misconfigured: {describe_errors(exc)}") from None
    schedules = EventBridgeSchedules(
        get_scheduler_client(),
        group=settings.schedule_group_name,
        target_arn=settings.callback_function_arn,
        role_arn=settings.scheduler_role_arn,
        dead_letter_arn=settings.scheduler_dlq_arn,
        retry_after_seconds=settings.retry_after_seconds,
    )
    ledger = DynamoDBLedger(
        get_dynamodb_client(),
        settings.task_ledger_table,
        retention_seconds=settings.task_retention_seconds,
        retry_after_seconds=settings.retry_after_seconds,
    )
    return Engine(ledger, schedules, settings, caller=caller or Caller(), cursors=get_cursor_seal)


async def schedule_service(request: Request) -> Engine:
    """The dependency (tests override it), for the request's caller. `async` so FastAPI calls it
    inline: a sync dependency would start a thread-pool thread on every request."""
    try:
        settings = get_settings()
    except ValidationError:
        return get_service()  # raises the misconfiguration it found
    caller = caller_of(
        request.scope.get("aws.event"),
        isolation=settings.task_isolation,
        admins=settings.admins,
        assumed_role_owner=settings.assumed_role_owner,
    )
    return get_service(caller)


SchedulerDep = Annotated[Engine, Depends(schedule_service)]

OwnerQuery = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=2048,
        description="Isolation=owner, AdminPrincipals only: the owner (IAM ARN, as listings show it) whose task "
        "this is, or whose tasks to list; default: the caller's own",
    ),
]


async def addressed_service(service: SchedulerDep, owner: OwnerQuery = None) -> Engine:
    """The engine for the tasks the request addresses: the caller's, or (`?owner=`, an admin) another owner's."""
    return service if owner is None else service.acting_for(owner)


#: For the routes that address existing tasks (read, list, change, cancel): they take `?owner=`.
AddressedSchedulerDep = Annotated[Engine, Depends(addressed_service)]
TaskIdPath = Annotated[
    str, Path(pattern=TASK_ID_PATTERN, max_length=64, description="The task id (also the schedule's name)")
]
