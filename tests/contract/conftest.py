"""One fixture per port, parametrized over its implementations (APScheduler 4's habit): the real adapter on
moto, its resources built from template.yaml, and the in-memory twin. Every contract test runs on both."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from localcloud.template import load_template, provision
from scheduler_app.adapters.dynamodb_ledger import DynamoDBLedger
from scheduler_app.adapters.eventbridge import EventBridgeSchedules
from scheduler_app.adapters.memory import MemoryLedger, MemorySchedules
from scheduler_app.records import RunRecord
from tests.contract.helpers import RETENTION_SECONDS, LedgerCase, SchedulesCase, dynamodb_run_writer

#: What each real adapter needs of template.yaml (only these are created: a test costs less).
LEDGER_RESOURCES = ("TaskLedgerTable",)
SCHEDULES_RESOURCES = ("ScheduleGroup", "ScheduleDeliveryDLQ", "CallbackFunction", "SchedulerInvokeRole")


def provisioned(*logical_ids: str) -> Any:
    """The template's resources `logical_ids`, created in the current moto."""
    template = load_template()
    subset = {**template, "Resources": {lid: template["Resources"][lid] for lid in logical_ids}}
    return provision(boto3._get_default_session(), template=subset)


@pytest.fixture(params=["dynamodb", "memory"])
def ledger_case(request: pytest.FixtureRequest) -> Iterator[LedgerCase]:
    """The task ledger: DynamoDBLedger on moto's TaskLedgerTable, or MemoryLedger."""
    if request.param == "memory":
        memory = MemoryLedger(retention_seconds=RETENTION_SECONDS)

        def record_run(task_id: str, run: RunRecord, scope: str | None, expiration: int | None) -> None:
            memory.record_run(task_id, run, scope=scope, expiration=expiration)

        yield LedgerCase(memory, record_run)
        return
    with mock_aws():
        table = provisioned(*LEDGER_RESOURCES).names["TaskLedgerTable"]
        client = boto3.client("dynamodb")
        yield LedgerCase(
            DynamoDBLedger(client, table, retention_seconds=RETENTION_SECONDS), dynamodb_run_writer(client, table)
        )


@pytest.fixture(params=["eventbridge", "memory"])
def schedules_case(request: pytest.FixtureRequest) -> Iterator[SchedulesCase]:
    """The schedules: EventBridgeSchedules on moto's schedule group, or MemorySchedules."""
    if request.param == "memory":
        yield SchedulesCase(MemorySchedules(group="scheduled-tasks-tasks"))
        return
    with mock_aws():
        resources = provisioned(*SCHEDULES_RESOURCES)
        yield SchedulesCase(
            EventBridgeSchedules(
                boto3.client("scheduler"),
                group=resources.names["ScheduleGroup"],
                target_arn=resources.arns["CallbackFunction"],
                role_arn=resources.arns["SchedulerInvokeRole"],
                dead_letter_arn=resources.arns["ScheduleDeliveryDLQ"],
            )
        )
