"""Found by the adverse workload (test_adverse_workload.py, `ADVERSE_WCU=10`): one task had its effect but no
success in the ledger. Replayed deterministically here: the first attempt times out; the second runs the action
(one effect; Powertools stores its result, COMPLETED), and from that moment every write on the task's partition key
is throttled until Lambda gives up (the result's ledger writes, each backed off while the attempt had time
(callback_app.backoff), then the third attempt's start). The recorder reads Lambda's failure record once the key has
cooled down, finds the occurrence's idempotency record COMPLETED, and records the run `succeeded` with the stored
result (callback_app.completed); the letter is not forwarded: nothing is left to redrive (docs/reliability.md)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest

from localcloud import dynamo_throughput
from localcloud.adverse import Adversity
from localcloud.clock import FakeClock
from localcloud.cloud import CloudOptions, LocalCloud
from localcloud.virtual_time import virtual_time
from taskcore.registry import TaskContext, registry
from tests.callback.helpers import AnyData, ThrottledKey
from tests.localcloud.helpers import queue_messages
from tests.reliability.workload import CALLBACK_TIMEOUT, SLOW_SECONDS, START

pytestmark = pytest.mark.integration

HOT = "TASK#hot-1"


@pytest.fixture
def hot_cloud(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[LocalCloud, Any, FakeClock, ThrottledKey, list[str]]]:

    from callback_app.handler import lambda_handler as callback
    from callback_app.recorder import lambda_handler as recorder
    from taskclient import TaskClient

    # The adverse mode's checks go in front of moto first (once per process), so that undoing this test's patches
    # leaves them there for the tests after it.
    dynamo_throughput.install()
    hot = ThrottledKey(HOT).install(monkeypatch)
    hot.on = False
    effects: list[str] = []

    calls: list[str] = []

    def succeeds(data: AnyData, task: TaskContext) -> dict[str, Any]:
        calls.append(str(task.idempotency_key))
        if len(calls) == 1:
            time.sleep(SLOW_SECONDS)  # the first attempt times out
        effects.append(str(task.idempotency_key))
        hot.on = True  # from now until Lambda gives up, the task's key is hot
        return {"sent": True}

    def cooled_recorder(event: Any, context: Any) -> Any:
        if isinstance(event, dict) and event.get("Records"):  # not the sweep: the failure record, read from the inbox
            hot.on = False  # the key has cooled down by the time the recorder reads it
        return recorder(event, context)

    registry.action("probe", AnyData)(succeeds)
    clock = FakeClock(START)
    options = CloudOptions(
        port=0, access_log=False, adversity=Adversity(aws_retry_delays=True), callback_timeout=CALLBACK_TIMEOUT
    )
    try:
        with (
            virtual_time(clock.now),
            LocalCloud(
                options,
                clock=clock,
                log=lambda line: None,
                callback_handler=callback,
                function_handlers={"RecorderFunction": cooled_recorder},
            ) as cloud,
            TaskClient(cloud.api_url, sign=False) as client,
        ):
            yield cloud, client, clock, hot, effects
    finally:
        registry.unregister("probe")


def test_an_action_that_succeeded_while_its_key_was_throttled_reads_succeeded_once_the_key_cools_down(
    hot_cloud: tuple[LocalCloud, Any, FakeClock, ThrottledKey, list[str]],
) -> None:
    cloud, client, _clock, hot, effects = hot_cloud
    client.schedule("probe", user_id="u1", task_id="hot-1", at=START + timedelta(minutes=2))

    cloud.run_until(START + timedelta(minutes=12))

    assert len(effects) == 1  # the action ran once; its retries found the stored result or could not start
    assert len(hot.refused) > 0
    task = client.get("hot-1")
    (run,) = list(client.runs("hot-1"))
    assert (task.status, run.outcome, run.final) == ("succeeded", "succeeded", True), (task.status, task.reason, run)
    assert run.result == {"sent": True}
    sqs = boto3.client("sqs", endpoint_url=cloud.moto_url)
    assert queue_messages(sqs, cloud.queue_urls["CallbackFailureQueue"]) == []  # nothing to redrive
