"""Fixtures shared by every test: fake AWS credentials, moto with the template's resources, the callback."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from localcloud.endpoint import LOCAL_ENV, powertools_environment
from localcloud.lambda_context import LocalLambdaContext
from localcloud.template import LocalResources, provision
from taskcore.registry import registry
from tests.callback.helpers import ActionSpy, AnyData


@pytest.fixture(autouse=True)
def _isolated_aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may find real credentials or a stray endpoint: moto's dummy values only."""
    for var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SCHEDULER"):
        monkeypatch.delenv(var, raising=False)
    for key, value in {**LOCAL_ENV, **powertools_environment()}.items():
        monkeypatch.setenv(key, value)


@pytest.fixture(scope="session", autouse=True)
def _atomic_moto() -> None:
    """moto's DynamoDB writes made atomic per item, as DynamoDB's are (localcloud.moto_transactions): a batch's
    threads claim in transactions at once, and moto's own transaction copies tables as others write them."""
    from localcloud import moto_transactions

    moto_transactions.install()


@pytest.fixture
def aws() -> Iterator[LocalResources]:
    """moto (in process) with the tables, queues and schedule group that template.yaml declares."""
    with mock_aws():
        # The default session caches the service models across tests; a new Session per test reloads them.
        yield provision(boto3._get_default_session())


@pytest.fixture
def callback(aws: LocalResources, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., dict[str, Any]]]:
    """The callback's real Lambda entry point, configured against the template's idempotency table."""
    from callback_app.ledger import get_run_ledger
    from callback_app.rejections import get_rejection_queue
    from callback_app.service import get_dynamodb_client, get_task_runner
    from callback_app.settings import get_settings

    monkeypatch.setenv("IDEMPOTENCY_TABLE_NAME", aws.names["IdempotencyTable"])
    monkeypatch.setenv("REJECTED_TASK_QUEUE_URL", aws.queue_urls["RejectedTaskQueue"])
    monkeypatch.setenv("TASK_LEDGER_TABLE", aws.names["TaskLedgerTable"])
    caches = (get_settings, get_dynamodb_client, get_task_runner, get_rejection_queue, get_run_ledger)
    for cached in caches:
        cached.cache_clear()
    from callback_app.handler import lambda_handler

    def invoke(event: Any, context: Any = None) -> dict[str, Any]:
        return lambda_handler(event, context if context is not None else LocalLambdaContext())

    yield invoke
    for cached in caches:
        cached.cache_clear()


@pytest.fixture
def idempotency_records(aws: LocalResources) -> Callable[[], list[dict[str, Any]]]:
    """Read back every idempotency record (Powertools' `task#...` items), with `data` decoded."""

    def scan() -> list[dict[str, Any]]:
        table = boto3.resource("dynamodb").Table(aws.names["IdempotencyTable"])
        items = [item for item in table.scan()["Items"] if str(item["id"]).startswith("task#")]
        for item in items:
            if "data" in item:
                item["data"] = json.loads(str(item["data"]))
        return items

    return scan


@pytest.fixture
def spy_action() -> Iterator[ActionSpy]:
    """A registered action named `spy` that records its runs (and does what its `behaviour` says)."""
    spy = ActionSpy()
    registry.action("spy", AnyData)(spy)
    yield spy
    registry.unregister("spy")
