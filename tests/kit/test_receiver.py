"""The test kit stands up a receiver for the `http_request` action: `task_cloud.receiver(app)` serves a FastAPI app
on loopback for the cloud's lifetime, and `task_cloud.signing_secret` is what it verifies with. The signature's
timestamp is wall-clock time, so a receiver verifies it however far the virtual clock has moved."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse

from localcloud.receivers import ReceiverDidNotStart, serve_asgi
from localcloud.taskkit import TaskCloud
from taskclient.webhooks import Delivery, signed_delivery

pytestmark = pytest.mark.integration

START = datetime(2027, 2, 1, 8, 0, tzinfo=UTC)


def signed_receiver(secrets: Any, deliveries: list[Delivery], *replies: tuple[int, dict[str, str]]) -> FastAPI:
    """A receiver that verifies every request with `secrets`, records it, and answers `replies` in order (then 200)."""
    app = FastAPI()

    # The dependency as a default, not an Annotated alias: FastAPI resolves annotations in the module's namespace.
    @app.post("/hooks/reminder")
    async def reminder(delivery: Delivery = Depends(signed_delivery(secrets))) -> Any:  # noqa: B008
        deliveries.append(delivery)
        if len(deliveries) <= len(replies):
            status, headers = replies[len(deliveries) - 1]
            return JSONResponse({"detail": "not now"}, status_code=status, headers=headers)
        return {"ok": True}

    return app


def listening(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "", parts.port or 80), timeout=1):
            return True
    except OSError:
        return False


@pytest.mark.task_cloud(start=START)
def test_a_receiver_verifies_the_signature_after_the_clock_moved_two_days(task_cloud: TaskCloud) -> None:
    deliveries: list[Delivery] = []
    url = task_cloud.receiver(signed_receiver(lambda: [task_cloud.signing_secret], deliveries))
    task_cloud.advance(days=2)  # the virtual clock is now two days (and more) away from the wall clock
    task_cloud.client.schedule(
        "http_request", user_id=7, task_id="late-1", data={"url": f"{url}/hooks/reminder"}, delay=timedelta(minutes=5)
    )

    (run,) = task_cloud.advance(minutes=6)

    assert (run.outcome, run.attempt, run.result["status"]) == ("succeeded", 1, 200)
    (delivery,) = deliveries
    assert delivery.scheduled_time == "2027-02-03T08:05:00Z"  # the task's time is virtual ...
    assert abs(delivery.timestamp - time.time()) < 60  # ... the signature's timestamp is the wall clock's


@pytest.mark.task_cloud(start=START)
def test_a_receiver_with_another_key_refuses_and_the_task_is_rejected(task_cloud: TaskCloud) -> None:
    deliveries: list[Delivery] = []
    url = task_cloud.receiver(signed_receiver(["not-the-development-key"], deliveries))
    task_cloud.client.schedule(
        "http_request", user_id=7, task_id="forged-1", data={"url": f"{url}/hooks/reminder"}, delay=timedelta(minutes=1)
    )

    (run,) = task_cloud.advance(minutes=2)

    assert (run.outcome, run.status_code) == ("rejected", 422)
    assert run.error is not None
    assert "HTTP 401" in run.error
    assert deliveries == []


@pytest.mark.task_cloud(start=START)
def test_a_retry_after_is_waited_in_virtual_time(task_cloud: TaskCloud) -> None:
    deliveries: list[Delivery] = []
    app = signed_receiver(lambda: [task_cloud.signing_secret], deliveries, (503, {"Retry-After": "20"}))
    url = task_cloud.receiver(app)
    task_cloud.client.schedule(
        "http_request", user_id=7, task_id="busy-1", data={"url": f"{url}/hooks/reminder"}, delay=timedelta(minutes=1)
    )

    began = time.monotonic()
    (run,) = task_cloud.advance(minutes=2)

    assert time.monotonic() - began < 15  # not 20 s of real waiting
    assert (run.outcome, run.attempt, run.result["tries"]) == ("succeeded", 1, 2)
    assert (run.finished_at - run.started_at) >= timedelta(seconds=20)  # the wait was spent on the virtual clock
    assert len({d.idempotency_key for d in deliveries}) == 1


def test_a_receiver_lives_as_long_as_its_cloud_with_its_lifespan() -> None:
    events: list[str] = []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        events.append("startup")
        yield
        events.append("shutdown")

    with TaskCloud(start=START) as cloud:
        url = cloud.receiver(FastAPI(lifespan=lifespan))
        assert url.startswith("http://127.0.0.1:")
        assert listening(url)
        assert events == ["startup"]
    assert not listening(url)
    assert events == ["startup", "shutdown"]


def test_a_receiver_that_cannot_listen_says_so() -> None:
    not_this_machine = "192.0.2.1"  # TEST-NET-1 (RFC 5737): no interface here has it
    with pytest.raises(ReceiverDidNotStart, match="exited"), serve_asgi(FastAPI(), host=not_this_machine):
        pass


def test_a_receiver_is_callable_whatever_allowlist_the_shell_sets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_ACTION_ALLOWED_HOSTS", "api.example.com")  # `make dev`'s override, left in a shell
    deliveries: list[Delivery] = []
    with TaskCloud(start=START) as cloud:
        url = cloud.receiver(signed_receiver(lambda: [cloud.signing_secret], deliveries))
        cloud.client.schedule(
            "http_request",
            user_id=7,
            task_id="shell-1",
            data={"url": f"{url}/hooks/reminder"},
            delay=timedelta(minutes=1),
        )
        (run,) = cloud.advance(minutes=2)

    assert run.outcome == "succeeded"
    assert len(deliveries) == 1
