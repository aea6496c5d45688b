"""Client fixtures: `make dev`'s API in this process on loopback (the local cloud, its callback in process on a
fake clock), each client test run through `TaskClient` and through `AsyncTaskClient`, and faults to inject."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from localcloud.clock import FakeClock
from localcloud.cloud import CloudOptions, LocalCloud
from scheduler_app.clients import get_scheduler_client
from taskclient import AsyncTaskClient, Backoff, TaskClient
from tests.client.helpers import OWNER_QUOTA, Both, Faults, MakeClient
from tests.scheduler.helpers import FaultInjector


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    """The local cloud (`make dev`): the API on a free loopback port, the callback in process, a fake clock."""
    from callback_app.handler import lambda_handler

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MAX_ACTIVE_SCHEDULES_PER_OWNER", str(OWNER_QUOTA))
        clock = FakeClock(datetime.now(UTC))
        options = CloudOptions(port=0, access_log=False)
        with LocalCloud(options, clock=clock, log=lambda line: None, callback_handler=lambda_handler) as running:
            yield running


@pytest.fixture
def api_url(cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch) -> str:
    """The API's URL; the local cloud's environment in force for the test (the shared fixtures reset it)."""
    for name, value in cloud.environment.items():
        monkeypatch.setenv(name, value)
    return cloud.api_url


@pytest.fixture(params=["sync", "async"])
def make_client(request: pytest.FixtureRequest, api_url: str) -> Iterator[MakeClient]:
    """Build `TaskClient`s (or `AsyncTaskClient`s) on the API; `faults` and `sleeps` go into the transport/sleep."""
    made: list[Both] = []
    # Its own loop, never set as the thread's: the callback's Mangum keeps the main thread's loop for itself.
    runner = asyncio.Runner(loop_factory=asyncio.new_event_loop) if request.param == "async" else None

    def build(
        *, url: str | None = None, faults: Faults | None = None, sleeps: list[float] | None = None, **options: Any
    ) -> Both:
        recorded = sleeps if sleeps is not None else []
        options.setdefault("backoff", Backoff(base=0.01, cap=0.05))
        if runner is None:
            client: TaskClient | AsyncTaskClient = TaskClient(
                url or api_url, transport=faults, sleep=recorded.append, **options
            )
        else:

            async def sleep(seconds: float) -> None:
                recorded.append(seconds)

            client = AsyncTaskClient(url or api_url, transport=faults, sleep=sleep, **options)
        made.append(Both(client, runner))
        return made[-1]

    yield build
    for both in made:
        both.close()
    if runner is not None:
        runner.close()


@pytest.fixture
def tasks(make_client: MakeClient) -> Both:
    """A client on the local cloud's API, sync or async (each test runs with both)."""
    return make_client()


@pytest.fixture
def scheduler_faults(api_url: str) -> Iterator[FaultInjector]:
    """Make the API's own EventBridge Scheduler client fail the way AWS does (the function runs in this process)."""
    injector = FaultInjector(get_scheduler_client())
    yield injector
    injector.clear()
