"""Retries that cannot duplicate, against `make dev`'s API with the network broken on purpose between the client
and the API: a connection dropped after the create reached the API leaves one task, not two; a 503 is retried;
Retry-After is honoured (the sleep is injected, so no test waits)."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from localcloud.cloud import LocalCloud
from taskclient import Backoff, NewTask, ServiceUnavailable, Throttled
from taskclient.errors import retry_after_seconds
from tests.client.helpers import Faults, MakeClient

pytestmark = pytest.mark.integration

SCHEDULES = "/api/v1/schedules"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def schedules_named(cloud: LocalCloud, name: str) -> list[str]:
    """The EventBridge Scheduler schedules (on the local cloud's moto) whose name starts with `name`."""
    scheduler = boto3.client("scheduler", endpoint_url=cloud.moto_url)
    group = cloud.environment["SCHEDULE_GROUP_NAME"]
    return [s["Name"] for s in scheduler.list_schedules(GroupName=group, NamePrefix=name)["Schedules"]]


def test_a_create_whose_answer_was_lost_is_retried_with_its_generated_id_and_schedules_once(
    make_client: MakeClient, cloud: LocalCloud, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="taskclient")
    faults, sleeps = Faults(), list[float]()
    faults.drop_after_sending("POST", SCHEDULES)
    tasks = make_client(faults=faults, sleeps=sleeps)

    task = tasks.schedule("send_notification", user_id=1, delay=600, data={"message": "once"})

    # The first attempt created the task; its answer never arrived. The retry sent the same id: 200, the task.
    assert [what for _, _, what in faults.log] == ["dropped after api 201", "api 200"]
    assert len(sleeps) == 1
    assert schedules_named(cloud, task.task_id) == [task.task_id]
    assert [t.task_id for t in tasks.list(prefix=task.task_id)] == [task.task_id]
    logged = [r.getMessage() for r in caplog.records if r.name == "taskclient"]
    assert logged == [f"retrying POST {SCHEDULES} in {sleeps[0]:.2f} s (attempt 2 of 4): no answer"]  # no task data


def test_without_retries_the_lost_answer_is_an_error_though_the_task_was_created(
    make_client: MakeClient, cloud: LocalCloud
) -> None:
    faults = Faults()
    faults.drop_after_sending("POST", SCHEDULES)
    tasks = make_client(faults=faults, max_retries=0)
    task_id = unique("lost")

    with pytest.raises(ServiceUnavailable, match="RemoteProtocolError") as raised:
        tasks.schedule("send_notification", user_id=1, task_id=task_id, delay=600)

    assert raised.value.status is None
    assert schedules_named(cloud, task_id) == [task_id]  # so a retry must not create a second one: it does not
    assert tasks.schedule("send_notification", user_id=1, task_id=task_id, delay=600).task_id == task_id
    assert schedules_named(cloud, task_id) == [task_id]


def test_a_batch_whose_answer_was_lost_is_retried_and_schedules_each_item_once(
    make_client: MakeClient, cloud: LocalCloud
) -> None:
    faults = Faults()
    faults.drop_after_sending("POST", f"{SCHEDULES}/batch")
    tasks = make_client(faults=faults)
    prefix = unique("lostbatch")

    result = tasks.schedule_many(
        [NewTask.of("send_notification", user_id=1, task_id=f"{prefix}-{i}", delay=600) for i in range(3)]
        + [NewTask.of("send_notification", user_id=1, delay=600)]
    )

    assert [item.status for item in result.items] == [200, 200, 200, 200]  # each already created by the lost one
    assert sorted(schedules_named(cloud, prefix)) == [f"{prefix}-{i}" for i in range(3)]
    generated = result.items[3].task
    assert generated is not None
    assert schedules_named(cloud, generated.task_id) == [generated.task_id]


def test_a_cancel_whose_answer_was_lost_is_done_when_its_retry_finds_the_task_cancelled(
    make_client: MakeClient,
) -> None:
    faults = Faults()
    tasks = make_client(faults=faults)
    task_id = unique("cancel")
    tasks.schedule("send_notification", user_id=1, task_id=task_id, delay=600)
    faults.drop_after_sending("DELETE", f"{SCHEDULES}/{task_id}")

    assert tasks.cancel(task_id) is None

    assert [what for method, _, what in faults.log if method == "DELETE"] == ["dropped after api 204", "api 404"]
    assert tasks.get(task_id).status == "cancelled"


def test_a_change_whose_answer_was_lost_is_applied_once(make_client: MakeClient) -> None:
    faults = Faults()
    tasks = make_client(faults=faults)
    task_id = unique("patch")
    tasks.schedule("send_notification", user_id=1, task_id=task_id, delay=600, data={"message": "a", "language": "en"})
    faults.drop_after_sending("PATCH", f"{SCHEDULES}/{task_id}")

    changed = tasks.update_data(task_id, {"message": "b", "language": None})

    assert changed.data == {"message": "b"}
    assert [what for method, _, what in faults.log if method == "PATCH"] == ["dropped after api 200", "api 200"]


def test_a_503_then_success_answers_the_task_after_one_backoff(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="taskclient")
    faults, sleeps = Faults(), list[float]()
    tasks = make_client(faults=faults, sleeps=sleeps, backoff=Backoff(base=0.5, cap=8, jitter=lambda: 0.5))
    task_id = unique("flaky")
    tasks.schedule("send_notification", user_id=1, task_id=task_id, delay=600)
    faults.answer("GET", f"{SCHEDULES}/{task_id}", 503, body={"message": "Service Unavailable"})
    faults.answer("GET", f"{SCHEDULES}/{task_id}", 504, body={"message": "Endpoint request timed out"})

    assert tasks.get(task_id).task_id == task_id

    assert [what for method, _, what in faults.log if method == "GET"] == ["injected 503", "injected 504", "api 200"]
    assert sleeps == [0.25, 0.5]  # jitter 0.5 of 0.5 * 2**n: exponential, never the full step
    assert [r.getMessage() for r in caplog.records if r.name == "taskclient"] == [
        f"retrying GET {SCHEDULES}/{task_id} in 0.25 s (attempt 2 of 4): HTTP 503",
        f"retrying GET {SCHEDULES}/{task_id} in 0.50 s (attempt 3 of 4): HTTP 504",
    ]


def test_retry_after_is_honoured_before_the_create_is_sent_again(make_client: MakeClient) -> None:
    faults, sleeps = Faults(), list[float]()
    faults.answer("POST", SCHEDULES, 429, body={"detail": "slow down", "code": "throttled"}, retry_after="7")
    tasks = make_client(faults=faults, sleeps=sleeps)

    task = tasks.schedule("send_notification", user_id=1, delay=600)

    assert sleeps == [7.0]
    assert [what for _, _, what in faults.log] == ["injected 429", "api 201"]
    assert task.status == "scheduled"


def test_a_retry_after_as_an_http_date_is_honoured_too(make_client: MakeClient) -> None:
    faults, sleeps = Faults(), list[float]()
    later = (datetime.now(UTC) + timedelta(seconds=20)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    faults.answer("GET", "/health", 503, body={"message": "busy"}, retry_after=later)
    tasks = make_client(faults=faults, sleeps=sleeps)

    assert tasks.health().status == "ok"

    assert len(sleeps) == 1
    assert 17 <= sleeps[0] <= 20


def test_a_retry_after_longer_than_the_client_waits_is_raised_at_once(make_client: MakeClient) -> None:
    faults, sleeps = Faults(), list[float]()
    faults.answer("GET", "/health", 429, body={"detail": "later", "code": "throttled"}, retry_after="3600")
    tasks = make_client(faults=faults, sleeps=sleeps)

    with pytest.raises(Throttled) as raised:
        tasks.health()

    assert raised.value.retry_after == 3600
    assert sleeps == []


def test_the_backoff_grows_exponentially_to_its_cap_with_full_jitter() -> None:
    top = Backoff(base=0.5, cap=4, jitter=lambda: 1.0)
    bottom = Backoff(base=0.5, cap=4, jitter=lambda: 0.0)

    assert [top.delay(n) for n in range(5)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert [bottom.delay(n) for n in range(3)] == [0.0, 0.0, 0.0]
    assert bottom.delay(0, retry_after=3) == 3
    assert 0 <= Backoff().delay(10) < 8


def test_retry_after_reads_seconds_and_http_dates_and_ignores_the_rest() -> None:
    now = datetime(2030, 1, 1, 0, 0, tzinfo=UTC)

    assert retry_after_seconds("5") == 5
    assert retry_after_seconds("Tue, 01 Jan 2030 00:00:30 GMT", now=now) == 30
    assert retry_after_seconds("Mon, 31 Dec 2029 23:00:00 GMT", now=now) == 0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("-3") == 0


def test_a_negative_max_retries_is_refused(api_url: str) -> None:
    from taskclient import TaskClient

    with pytest.raises(ValueError, match="max_retries: give 0 or more, got -1"):
        TaskClient(api_url, max_retries=-1)
