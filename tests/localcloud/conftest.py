"""Local cloud fixtures: the dispatcher over in-process moto, on a fake clock that tests move instantly."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from localcloud.clock import FakeClock
from localcloud.dispatcher import DeliveryFault, Dispatcher, ScheduleDeleter
from localcloud.lambda_async import AsyncLambda, InvokeConfig
from localcloud.schedules import MotoScheduleStore
from localcloud.template import LocalResources


@dataclass
class Harness:
    """A dispatcher wired as `make dev` wires it, with its log lines collected."""

    resources: LocalResources
    clock: FakeClock
    dispatcher: Dispatcher
    scheduler: Any
    sqs: Any
    logs: list[dict[str, Any]] = field(default_factory=list)

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


@pytest.fixture
def make_harness(aws: LocalResources, callback: Callable[..., dict[str, Any]]) -> Callable[..., Harness]:
    """Build a dispatcher over moto with the real callback entry point (or `handler`), at `start`."""

    def build(
        *,
        start: datetime | None = None,
        handler: Callable[[Any, Any], Any] | None = None,
        fault: DeliveryFault | None = None,
        retry_delays: tuple[float, ...] = (1.0, 2.0),
    ) -> Harness:
        clock = FakeClock(start or datetime.now(UTC).replace(microsecond=0))
        logs: list[dict[str, Any]] = []
        store = MotoScheduleStore(aws.names["ScheduleGroup"])
        callback_arn = aws.arns["CallbackFunction"]
        lambda_ = AsyncLambda(
            {callback_arn: handler or callback},
            clock=clock,
            configs={callback_arn: InvokeConfig.from_template("CallbackFunction")},
            retry_delays=retry_delays,
            log=logs.append,
        )
        dispatcher = Dispatcher(
            store,
            lambda_,
            clock=clock,
            role_arn=aws.arns["SchedulerInvokeRole"],
            deleter=ScheduleDeleter(store, background=False, log=logs.append),
            fault=fault,
            log=logs.append,
        )
        return Harness(aws, clock, dispatcher, boto3.client("scheduler"), boto3.client("sqs"), logs)

    return build
