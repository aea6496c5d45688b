"""Local cloud fixtures: the dispatcher over in-process moto, on a fake clock that tests move instantly."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from localcloud.adverse import Adversity
from localcloud.clock import FakeClock
from localcloud.delivery import DeliveryFault
from localcloud.dispatcher import Dispatcher
from localcloud.lambda_async import AsyncLambda, Handler, InvokeConfig
from localcloud.schedules import MotoScheduleStore, ScheduleDeleter
from localcloud.template import LocalResources, function_settings
from tests.localcloud.helpers import Harness, MakeHarness


@pytest.fixture
def make_harness(aws: LocalResources, callback: Callable[..., dict[str, Any]]) -> MakeHarness:
    """Build a dispatcher over moto with the real callback entry point (or `handler`), at `start`."""

    def build(
        *,
        start: datetime | None = None,
        handler: Handler | None = None,
        fault: DeliveryFault | None = None,
        retry_delays: tuple[float, ...] = (1.0, 2.0),
        adversity: Adversity | None = None,
        timeout: float | None = None,
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
            adversity=adversity,
            timeouts={callback_arn: timeout or function_settings("CallbackFunction").timeout_seconds},
        )
        dispatcher = Dispatcher(
            store,
            lambda_,
            clock=clock,
            stats=lambda_.stats,
            role_arn=aws.arns["SchedulerInvokeRole"],
            deleter=ScheduleDeleter(store, background=False, log=logs.append),
            fault=fault,
            log=logs.append,
            adversity=adversity,
        )
        return Harness(aws, clock, dispatcher, lambda_, boto3.client("scheduler"), boto3.client("sqs"), logs)

    return build
