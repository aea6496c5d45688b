"""Concurrent duplicate deliveries of one occurrence, each in its own process: the action runs exactly once.

Eight processes stand for eight Lambda containers that EventBridge Scheduler and Lambda handed the same
occurrence (a duplicate delivery, a retry racing the original). They share one DynamoDB (moto's server on
loopback) and are released at the same moment; the action takes a while, so they overlap. Exactly one runs
it; the others fail their invocation (503: "already running in another invocation", so Lambda retries), and
their retry, once the first has finished, replays the stored result without running the action.

moto applies a conditional write in two steps; DynamoDB applies it atomically per item. The local cloud
serialises moto's DynamoDB writes (localcloud/moto_transactions.py), so the test measures the application,
not a race in the emulator.
"""

from __future__ import annotations

import multiprocessing
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

import callback_app.handler  # noqa: F401  (imported before the containers fork: they start warm)
from localcloud import moto_transactions
from localcloud.endpoint import LOCAL_ENV, LocalEndpoint, moto_endpoint
from localcloud.template import LOCAL_REGION
from taskcore.envelope import TaskEnvelope
from taskcore.proxy import delivered_event
from tests.reliability.containers import container

#: fork: each container starts with the function already imported (a warm Lambda container), in a few ms.
#: (spawn compiles FastAPI, pydantic and boto3 eight times on two cores: ~15 s. forkserver needs a Unix
#: socket, which pytest-socket refuses.)
START_METHOD = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
CONTAINERS = 8
#: Long enough that all eight deliveries arrive while the first runs, even with the other test worker busy.
ACTION_SECONDS = 2.0
OCCURRENCE = datetime(2031, 1, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def endpoint() -> Iterator[LocalEndpoint]:
    """moto's server on loopback with the template's table; its DynamoDB writes atomic, as DynamoDB's are.

    One lock makes them atomic: `localcloud.moto_transactions.LOCK`, which `moto_endpoint()` installs around
    every write of moto's DynamoDB backend and holds for a whole transaction. Never a second lock around the
    same methods: this fixture once wrapped them in its own, and when the local cloud had installed LOCK first
    in the worker process, the locks were taken in both orders (a transaction held LOCK and waited for the
    fixture's lock in moto's put_item; a put_item held the fixture's lock and waited for LOCK): `make test` hung.
    """
    with moto_endpoint() as running:
        yield running


def occurrence_event(attempt: int) -> dict[str, Any]:
    """The event of one delivery of the occurrence (a new execution id each time, as Scheduler makes it)."""
    envelope = TaskEnvelope.model_construct(task_id="race-1", user_id=7, action="slow_spy", data={"n": 1})
    return delivered_event(
        envelope,
        schedule_arn="arn:aws:scheduler:us-east-1:123456789012:schedule/scheduled-tasks-local-tasks/race-1",
        scheduled_time=OCCURRENCE,
        attempt=attempt,
    )


def race_containers(endpoint: LocalEndpoint, tmp_path: Path) -> tuple[list[Any], list[Any]]:
    """CONTAINERS containers let go at once, each delivering attempts 1 and 2: their answers, and the processes."""
    context: Any = multiprocessing.get_context(START_METHOD)
    start, finished, results = context.Event(), context.Event(), context.Queue()
    environment = endpoint.environment()
    processes = [
        context.Process(
            target=container,
            args=(
                environment,
                [occurrence_event(1), occurrence_event(2)],
                str(tmp_path),
                ACTION_SECONDS,
                start,
                finished,
                results,
            ),
        )
        for _ in range(CONTAINERS)
    ]
    with warnings.catch_warnings():
        # Python warns that fork() from a threaded process may deadlock the child: the only other thread is
        # moto's server, idle in select() while nothing calls it, and the children never touch its locks.
        warnings.simplefilter("ignore", DeprecationWarning)
        for process in processes:
            process.start()
    start.set()
    answers = [results.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(10)
    return answers, processes


def assert_one_first_attempt_ran_the_action_and_the_others_were_refused(answers: list[Any]) -> Any:
    """The winner's answer to its first attempt; every other first attempt found the run in progress."""
    first_attempts = [a[0] for a in answers]
    winners = [a for a in first_attempts if a[0] == "ok"]
    losers = [a for a in first_attempts if a[0] == "failed"]
    assert len(winners) == 1
    assert winners[0][1] is False  # it ran the action
    assert len(losers) == CONTAINERS - 1
    assert all("already running in another invocation" in message for _, message in losers)
    return winners[0]


@pytest.mark.integration
def test_concurrent_duplicate_deliveries_run_the_action_once_and_the_others_replay_it(
    endpoint: LocalEndpoint, tmp_path: Path, figures: Any
) -> None:
    answers, processes = race_containers(endpoint, tmp_path)

    runs = list(tmp_path.iterdir())
    assert len(runs) == 1, f"the action ran {len(runs)} times"
    winner = assert_one_first_attempt_ran_the_action_and_the_others_were_refused(answers)
    replays = [a[1] for a in answers if len(a) > 1]
    assert len(replays) == CONTAINERS - 1
    assert all(replay[:2] == ("ok", True) and replay[2] == winner[2] for replay in replays)
    assert all(process.exitcode == 0 for process in processes)
    figures.count("concurrency", "containers", CONTAINERS)
    figures.count("concurrency", "action_runs", len(runs))
    figures.count("concurrency", "failed_then_replayed", len(replays))


@pytest.fixture
def earlier_local_cloud() -> None:
    """moto's writes already serialised by an earlier local cloud in this worker process, as under `make test`."""
    moto_transactions.install()


#: How long the two writers race; each request has a short read timeout, so a deadlock fails the test.
RACE_SECONDS = 2.0
ITEMS = 25


@pytest.mark.integration
def test_writes_racing_transactions_on_the_endpoint_never_deadlock_whatever_ran_before(
    earlier_local_cloud: None, endpoint: LocalEndpoint
) -> None:
    table = endpoint.resources.names["IdempotencyTable"]
    client = boto3.client(
        "dynamodb",
        endpoint_url=endpoint.url,
        region_name=LOCAL_REGION,
        aws_access_key_id=LOCAL_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=LOCAL_ENV["AWS_SECRET_ACCESS_KEY"],
        config=Config(read_timeout=5, connect_timeout=5, retries={"max_attempts": 1}),
    )
    errors: list[BaseException] = []
    done: list[str] = []
    deadline = time.monotonic() + RACE_SECONDS

    def transactions() -> None:
        n = 0
        while time.monotonic() < deadline:
            n += 1
            # Many items: moto writes each in turn, with the transaction's lock held throughout.
            items: Any = [{"Put": {"TableName": table, "Item": {"id": {"S": f"tx-{n}-{i}"}}}} for i in range(ITEMS)]
            client.transact_write_items(TransactItems=items)
        done.append("transactions")

    def puts() -> None:
        n = 0
        while time.monotonic() < deadline:
            n += 1
            client.put_item(TableName=table, Item={"id": {"S": f"put-{n}"}})
            client.update_item(
                TableName=table,
                Key={"id": {"S": f"put-{n}"}},
                UpdateExpression="SET n = :n",
                ExpressionAttributeValues={":n": {"N": str(n)}},
            )
        done.append("puts")

    def guarded(work: Any) -> Any:
        def run() -> None:
            try:
                work()
            except BaseException as error:  # a read timeout: the server's write never returned
                errors.append(error)

        return run

    threads = [threading.Thread(target=guarded(work), daemon=True) for work in (transactions, puts, puts)]
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often, so that the writers interleave within the race
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(RACE_SECONDS + 30)
    finally:
        sys.setswitchinterval(switch_interval)

    assert not [thread for thread in threads if thread.is_alive()]
    assert errors == []
    assert sorted(done) == ["puts", "puts", "transactions"]
