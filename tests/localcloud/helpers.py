"""Local cloud test helpers: the dispatcher harness and its fixture's type, and schedules created the way
the scheduler function creates them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from localcloud.adverse import Adversity
from localcloud.clock import FakeClock
from localcloud.delivery import DeliveryFault
from localcloud.dispatcher import Dispatcher
from localcloud.lambda_async import AsyncLambda, Handler
from localcloud.stepping import Stepper
from localcloud.template import LocalResources
from taskcore.envelope import TaskEnvelope
from taskcore.proxy import build_target_input

if TYPE_CHECKING:
    from mypy_boto3_scheduler import EventBridgeSchedulerClient
    from mypy_boto3_sqs import SQSClient

CALLBACK_ARN = "arn:aws:lambda:us-east-1:123456789012:function:CallbackFunction"
ROLE_ARN = "arn:aws:iam::123456789012:role/SchedulerInvokeRole"


@dataclass
class Harness:
    """A dispatcher and the in-process Lambda it delivers to, wired as `make dev` wires them, with their log lines
    collected; `run_until` steps both on the fake clock (`localcloud.stepping`)."""

    resources: LocalResources
    clock: FakeClock
    dispatcher: Dispatcher
    lambda_: AsyncLambda
    scheduler: EventBridgeSchedulerClient
    sqs: SQSClient
    logs: list[dict[str, Any]] = field(default_factory=list)

    def run_until(self, until: datetime) -> None:
        """Live through every moment that matters up to `until`, without waiting."""
        Stepper(self.clock, self.dispatcher, self.lambda_).run_until(until)

    def queue_url(self, logical_id: str) -> str:
        """A queue's URL."""
        return self.resources.queue_urls[logical_id]

    def messages(self, service: str) -> list[dict[str, Any]]:
        """The dispatcher's (or Lambda's) log lines with this message."""
        return [line for line in self.logs if line["message"] == service]

    def schedule_names(self) -> list[str]:
        """The schedules that exist in the group."""
        group = self.resources.names["ScheduleGroup"]
        return [s["Name"] for s in self.scheduler.list_schedules(GroupName=group)["Schedules"]]


class MakeHarness(Protocol):
    """The `make_harness` fixture: a harness at `start`, running `handler` (default: the real callback)."""

    def __call__(
        self,
        *,
        start: datetime | None = None,
        handler: Handler | None = None,
        fault: DeliveryFault | None = None,
        retry_delays: tuple[float, ...] = (1.0, 2.0),
        adversity: Adversity | None = None,
        timeout: float | None = None,
    ) -> Harness: ...


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0) -> datetime:
    """An aware UTC datetime."""
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


def target_input(task_id: str, *, action: str = "spy", data: dict[str, Any] | None = None) -> str:
    """The Target.Input of a task, as the scheduler builds it."""
    envelope = TaskEnvelope.model_construct(task_id=task_id, user_id=7, action=action, data=data or {})
    return build_target_input(envelope)


def create_schedule(
    client: Any,
    resources: LocalResources,
    name: str,
    expression: str,
    *,
    timezone: str = "UTC",
    state: str = "ENABLED",
    start: datetime | None = None,
    end: datetime | None = None,
    delete_after: bool | None = None,
    target_arn: str | None = None,
    role_arn: str | None = None,
    input_text: str | None = None,
    retries: int = 185,
    max_age: int = 86_400,
    action: str = "spy",
) -> dict[str, Any]:
    """CreateSchedule with the scheduler function's settings (one-time schedules delete themselves)."""
    one_time = expression.startswith("at(")
    params: dict[str, Any] = {
        "Name": name,
        "GroupName": resources.names["ScheduleGroup"],
        "ScheduleExpression": expression,
        "ScheduleExpressionTimezone": timezone,
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "State": state,
        "Target": {
            "Arn": target_arn or resources.arns["CallbackFunction"],
            "RoleArn": role_arn or resources.arns["SchedulerInvokeRole"],
            "Input": input_text if input_text is not None else target_input(name, action=action),
            "RetryPolicy": {"MaximumRetryAttempts": retries, "MaximumEventAgeInSeconds": max_age},
            "DeadLetterConfig": {"Arn": resources.arns["ScheduleDeliveryDLQ"]},
        },
        "ActionAfterCompletion": "DELETE" if (one_time if delete_after is None else delete_after) else "NONE",
    }
    if start is not None:
        params["StartDate"] = start
    if end is not None:
        params["EndDate"] = end
    response: dict[str, Any] = client.create_schedule(**params)
    return response


def queue_messages(sqs: Any, url: str) -> list[dict[str, Any]]:
    """Every message in a queue (received, then made visible again)."""
    found: dict[str, dict[str, Any]] = {}
    while True:
        batch = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30, MessageAttributeNames=["All"]
        ).get("Messages", [])
        fresh = [m for m in batch if m["MessageId"] not in found]
        if not fresh:
            break
        found.update({m["MessageId"]: m for m in fresh})
    for message in found.values():
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    return list(found.values())


def attributes(message: dict[str, Any]) -> dict[str, str]:
    """A message's string attributes."""
    return {k: v["StringValue"] for k, v in (message.get("MessageAttributes") or {}).items()}


@dataclass
class Invocations:
    """What a stub Lambda handler received, and how it should behave."""

    events: list[dict[str, Any]] = field(default_factory=list)
    fail_times: int = 0

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.events.append(event)
        if len(self.events) <= self.fail_times:
            raise RuntimeError(f"failure {len(self.events)}")
        return {"statusCode": 200, "body": "{}"}

    def headers(self, name: str) -> list[str]:
        """One header of every received event."""
        return [e["headers"][name] for e in self.events]

    def bodies(self) -> list[dict[str, Any]]:
        """The JSON bodies received."""
        return [json.loads(e["body"]) for e in self.events]
