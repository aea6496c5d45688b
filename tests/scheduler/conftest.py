"""Scheduler fixtures: the API on moto with the template's schedule group, and ways to bend time and AWS."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from localcloud.endpoint import LOCAL_ENV
from localcloud.lambda_context import LocalLambdaContext
from localcloud.template import LOCAL_REGION, LocalResources, provision
from scheduler_app.clients import get_dynamodb_client, get_scheduler_client, get_secrets_client
from scheduler_app.deps import get_service, schedule_service
from scheduler_app.engine import Engine
from scheduler_app.keys import get_cursor_seal
from scheduler_app.main import app
from scheduler_app.settings import get_settings
from tests.scheduler.helpers import Clock, FaultInjector, TestClient


@dataclass(frozen=True)
class ModuleCloud:
    """moto's resources for one test module, and clients to empty them between tests."""

    resources: LocalResources
    scheduler: Any
    table: Any
    ledger: Any

    def reset(self) -> None:
        """Delete every schedule, idempotency record and ledger item (the queues are never written to here)."""
        for page in self.scheduler.get_paginator("list_schedules").paginate():
            for schedule in page["Schedules"]:
                self.scheduler.delete_schedule(Name=schedule["Name"], GroupName=schedule["GroupName"])
        for item in self.table.scan(ProjectionExpression="id")["Items"]:
            self.table.delete_item(Key={"id": item["id"]})
        with self.ledger.batch_writer() as batch:
            for item in self.ledger.scan(ProjectionExpression="pk, sk")["Items"]:
                batch.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})


@pytest.fixture(scope="module")
def _module_cloud() -> Iterator[ModuleCloud]:
    """moto and the template's resources, once per module: provisioning costs ~0.1 s a time."""
    with mock_aws():
        session = boto3.Session(
            aws_access_key_id=LOCAL_ENV["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=LOCAL_ENV["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=LOCAL_ENV["AWS_SESSION_TOKEN"],
            region_name=LOCAL_REGION,
        )
        resources = provision(session)
        dynamodb = session.resource("dynamodb")
        table = dynamodb.Table(resources.names["IdempotencyTable"])
        ledger = dynamodb.Table(resources.names["TaskLedgerTable"])
        yield ModuleCloud(resources, session.client("scheduler"), table, ledger)


@pytest.fixture
def aws(_module_cloud: ModuleCloud) -> Iterator[LocalResources]:
    """Overrides the shared fixture: the module's moto, emptied after each test."""
    yield _module_cloud.resources
    _module_cloud.reset()


@pytest.fixture
def scheduler_env(aws: LocalResources, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalResources]:
    """The environment template.yaml gives SchedulerFunction, pointing at the provisioned resources."""
    monkeypatch.setenv("SCHEDULE_GROUP_NAME", aws.names["ScheduleGroup"])
    monkeypatch.setenv("CALLBACK_FUNCTION_ARN", aws.arns["CallbackFunction"])
    monkeypatch.setenv("SCHEDULER_ROLE_ARN", aws.arns["SchedulerInvokeRole"])
    monkeypatch.setenv("SCHEDULER_DLQ_ARN", aws.arns["ScheduleDeliveryInbox"])
    monkeypatch.setenv("TASK_LEDGER_TABLE", aws.names["TaskLedgerTable"])
    monkeypatch.setenv("CURSOR_SECRET_ID", aws.arns["CursorKeySecret"])
    caches = (get_settings, get_scheduler_client, get_dynamodb_client, get_secrets_client, get_cursor_seal)
    for cached in caches:
        cached.cache_clear()
    yield aws
    app.dependency_overrides.clear()
    for cached in caches:
        cached.cache_clear()


@pytest.fixture
def api(scheduler_env: LocalResources) -> Iterator[TestClient]:
    """The scheduler app over HTTP (in process), on the container's real dependencies."""
    with TestClient(app) as client:
        yield client


@pytest.fixture
def group(scheduler_env: LocalResources) -> str:
    """The stack's schedule group."""
    return scheduler_env.names["ScheduleGroup"]


@pytest.fixture
def scheduler(scheduler_env: LocalResources, _module_cloud: ModuleCloud) -> Any:
    """A separate EventBridge Scheduler client, to look at what the API did."""
    return _module_cloud.scheduler


@pytest.fixture
def schedules(scheduler: Any, group: str) -> Any:
    """Names of the schedules in the group right now (call it)."""

    def names() -> list[str]:
        found: list[str] = []
        for page in scheduler.get_paginator("list_schedules").paginate(GroupName=group):
            found.extend(s["Name"] for s in page["Schedules"])
        return sorted(found)

    return names


@pytest.fixture
def clock(scheduler_env: LocalResources) -> Clock:
    """Makes the engine read this clock (real time until `clock.set(...)`) and sleep on it."""
    fake = Clock()

    def service() -> Engine:
        real = get_service()
        return Engine(
            real.ledger,
            real.schedules,
            get_settings(),
            cursors=real.cursors,
            clock=fake.now,
            sleep=fake.sleep,
            jitter=lambda: 1.0,
        )

    app.dependency_overrides[schedule_service] = service
    return fake


@pytest.fixture
def ledger_faults(scheduler_env: LocalResources) -> Iterator[FaultInjector]:
    """Make the API's DynamoDB client (the task ledger's) fail the way AWS does."""
    injector = FaultInjector(get_dynamodb_client())
    yield injector
    injector.clear()


@pytest.fixture
def faults(scheduler_env: LocalResources) -> Iterator[FaultInjector]:
    """Make the API's own client fail the way AWS does (before any request is sent)."""
    injector = FaultInjector(get_scheduler_client())
    yield injector
    injector.clear()


@pytest.fixture
def sent(scheduler_env: LocalResources) -> Iterator[dict[str, list[dict[str, Any]]]]:
    """The parameters of every call the API's client makes, by operation ("CreateSchedule": [...])."""
    calls: dict[str, list[dict[str, Any]]] = {}
    client = get_scheduler_client()

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        calls.setdefault(model.name, []).append(dict(params))

    client.meta.events.register("provide-client-params.scheduler", record)
    yield calls
    client.meta.events.unregister("provide-client-params.scheduler", record)


@pytest.fixture
def fixed_now() -> datetime:
    """A moment with sub-second precision, far from any DST change."""
    return datetime(2030, 3, 14, 1, 2, 3, 456789, tzinfo=UTC)


# --- The recorder (RecorderFunction) and its queues ---------------------------------------------------------

INBOXES = ("CallbackFailureInbox", "ScheduleDeliveryInbox", "CallbackFailureQueue", "ScheduleDeliveryDLQ")


@pytest.fixture
def queues(scheduler_env: Any) -> Iterator[dict[str, str]]:
    """The inboxes and the operator queues (URLs), emptied after the test (the module's moto outlives it)."""
    sqs = boto3.client("sqs")
    urls = {name: sqs.get_queue_url(QueueName=scheduler_env.names[name])["QueueUrl"] for name in INBOXES}
    yield urls
    for url in urls.values():  # PurgeQueue is allowed once a minute: receive and delete instead
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
            for message in messages:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def recorder(scheduler_env: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Any]]:
    """The recorder's real entry point, with the environment template.yaml gives RecorderFunction."""
    from callback_app import recorder as module

    aws = scheduler_env
    monkeypatch.setenv("TASK_LEDGER_TABLE", aws.names["TaskLedgerTable"])
    monkeypatch.setenv("CALLBACK_FAILURE_INBOX_ARN", aws.arns["CallbackFailureInbox"])
    monkeypatch.setenv("SCHEDULE_DELIVERY_INBOX_ARN", aws.arns["ScheduleDeliveryInbox"])
    monkeypatch.setenv("CALLBACK_FAILURE_QUEUE_URL", aws.queue_urls["CallbackFailureQueue"])
    monkeypatch.setenv("SCHEDULE_DELIVERY_DLQ_URL", aws.queue_urls["ScheduleDeliveryDLQ"])
    monkeypatch.setenv("SCHEDULE_GROUP_NAME", aws.names["ScheduleGroup"])
    monkeypatch.setenv("IDEMPOTENCY_TABLE_NAME", aws.names["IdempotencyTable"])
    caches = (
        module.get_recorder_settings,
        module.get_clients,
        module.get_endings,
        module.get_scheduler_client,
        module.get_idempotency_store,
        module.get_run_ledger,
    )
    for cached in caches:
        cached.cache_clear()
    yield lambda event: module.lambda_handler(event, LocalLambdaContext(function_name="RecorderFunction"))
    for cached in caches:
        cached.cache_clear()
