"""The HTTP action end to end on the local cloud: scheduled over the API, fired by the local Scheduler, called on a
FastAPI receiver (uvicorn on loopback) that verifies the signature with the development secret, answers 503 once
and then 200; the ledger shows two attempts and success, and the receiver saw one idempotency key."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse

from callback_app.handler import lambda_handler
from localcloud.clock import FakeClock
from localcloud.cloud import CloudOptions, LocalCloud
from localcloud.endpoint import signing_secret
from localcloud.receivers import serve_asgi
from taskclient import TaskClient
from taskclient.webhooks import Delivery, signed_delivery

pytestmark = pytest.mark.integration

#: What the receiver verifies with: `make dev` prints it ("signing secret (dev)").
RECEIVER_SECRETS: list[str] = []
SignedDelivery = Annotated[Delivery, Depends(signed_delivery(lambda: RECEIVER_SECRETS))]
receiver = FastAPI()
deliveries: list[Delivery] = []


@receiver.post("/hooks/reminder")
async def reminder(delivery: SignedDelivery, body: dict[str, Any]) -> Any:
    deliveries.append(delivery)
    if len(deliveries) == 1:
        return JSONResponse({"detail": "warming up"}, status_code=503)
    return {"reminded": body["payment_id"]}


@pytest.fixture
def receiver_url() -> Iterator[str]:
    """The receiver, served by uvicorn on a free loopback port in a thread (the test kit's `serve_asgi`)."""
    deliveries.clear()
    with serve_asgi(receiver) as url:
        yield url


@pytest.fixture
def cloud() -> Iterator[LocalCloud]:
    clock = FakeClock(datetime.now(UTC))
    with LocalCloud(
        CloudOptions(port=0), clock=clock, log=lambda line: None, callback_handler=lambda_handler
    ) as running:
        clock.set(datetime.now(UTC))  # the scheduler API plans with the real clock: start level with it
        RECEIVER_SECRETS[:] = [str(signing_secret(running.environment))]
        yield running
    RECEIVER_SECRETS.clear()


@pytest.fixture
def tasks(cloud: LocalCloud) -> Iterator[TaskClient]:
    """The Python client on the local cloud's API (no signing on loopback)."""
    with TaskClient(cloud.api_url) as client:
        yield client


def test_a_signed_call_answered_503_once_then_200_succeeds_on_the_second_attempt(
    cloud: LocalCloud, receiver_url: str, tasks: TaskClient
) -> None:
    tasks.schedule(
        "http_request",
        user_id=7,
        task_id="remind-42",
        data={"url": f"{receiver_url}/hooks/reminder", "body": {"payment_id": 42}},
        delay=timedelta(seconds=1),
    )

    cloud.run_until(max(cloud.clock.now(), datetime.now(UTC)) + timedelta(seconds=30))

    assert tasks.get("remind-42").status == "succeeded"
    (run,) = list(tasks.runs("remind-42"))
    assert (run.attempts, run.outcome, run.final) == (2, "succeeded", True)
    assert run.result["status"] == 200
    assert run.result["body_preview"] == '{"reminded":42}'
    # Both attempts passed the signature check, and carried one key for the one occurrence.
    assert len(deliveries) == 2
    assert len({d.idempotency_key for d in deliveries}) == 1
    assert {d.task_id for d in deliveries} == {"remind-42"}


def test_a_receiver_that_does_not_know_the_secret_refuses_and_the_task_is_rejected(
    cloud: LocalCloud, receiver_url: str, tasks: TaskClient
) -> None:
    RECEIVER_SECRETS[:] = ["not-the-development-secret"]
    tasks.schedule(
        "http_request",
        user_id=7,
        task_id="remind-43",
        data={"url": f"{receiver_url}/hooks/reminder"},
        delay=timedelta(seconds=1),
    )

    cloud.run_until(max(cloud.clock.now(), datetime.now(UTC)) + timedelta(seconds=30))

    assert tasks.get("remind-43").status == "rejected"
    (run,) = list(tasks.runs("remind-43"))
    assert run.attempts == 1
    assert run.error is not None
    assert "HTTP 401" in run.error.message
    assert deliveries == []


def test_make_devs_banner_prints_the_development_secret_and_the_loopback_allowlist(cloud: LocalCloud) -> None:
    from localcloud.dev import banner, parse_args

    shown = banner(cloud, parse_args([]))

    assert f"signing secret (dev)     {RECEIVER_SECRETS[0]}" in shown
    assert "http_request             may call 127.0.0.1,::1,localhost (http allowed to loopback" in shown
