"""POST /api/v1/schedules/batch: up to 100 creates, a status and body per item, throttles retried."""

from __future__ import annotations

import threading
import time
from typing import Any

from scheduler_app.clients import get_scheduler_client
from scheduler_app.engine import Backoff
from tests.scheduler.helpers import Clock, FaultInjector, task


def test_batch_with_a_mix_of_good_and_bad_items_answers_each(api: Any, schedules: Any) -> None:
    api.post("/api/v1/schedules", json=task("b-existing", delay_minutes=30))
    api.post("/api/v1/schedules", json=task("b-taken", delay_minutes=30))
    items = [
        task("b-new", delay_minutes=10),
        task("b-existing", delay_minutes=30),
        task("b-taken", delay_minutes=99),
        task("b-bad-cron", cron="cron(0 9 * * * *)"),
        {**task("b-typo", delay_minutes=5), "action": "nope"},
        "not an object",
        task("b-recurring", rate="rate(1 day)"),
    ]

    response = api.post("/api/v1/schedules/batch", json={"items": items})

    assert response.status_code == 200
    body = response.json()
    assert [(r["index"], r["status"]) for r in body["items"]] == [
        (0, 201),
        (1, 200),
        (2, 409),
        (3, 422),
        (4, 422),
        (5, 422),
        (6, 201),
    ]
    assert body["items"][0]["body"]["task_id"] == "b-new"
    assert body["items"][1]["body"]["task_id"] == "b-existing"
    assert "different request" in body["items"][2]["body"]["detail"]
    assert "cannot both be set" in body["items"][3]["body"]["detail"]
    assert body["items"][4]["body"]["detail"].startswith("action: unknown action 'nope'")
    assert body["items"][5]["body"] == {"detail": "expected a JSON object, got str", "code": "invalid"}
    assert (body["created"], body["existing"], body["failed"]) == (2, 1, 4)
    assert schedules() == ["b-existing", "b-new", "b-recurring", "b-taken"]


def test_batch_of_100_creates_them_all(api: Any, schedules: Any) -> None:
    items = [task(f"bulk-{i:03d}", delay_minutes=5 + i) for i in range(100)]

    body = api.post("/api/v1/schedules/batch", json={"items": items}).json()

    assert body["created"] == 100
    assert [r["index"] for r in body["items"]] == list(range(100))
    assert len(schedules()) == 100


def test_batch_over_100_items_or_empty_is_a_422(api: Any, schedules: Any) -> None:
    too_many = api.post(
        "/api/v1/schedules/batch", json={"items": [task(f"x-{i}", delay_minutes=5) for i in range(101)]}
    )
    empty = api.post("/api/v1/schedules/batch", json={"items": []})

    assert too_many.status_code == 422
    assert too_many.json()["detail"] == "items: List should have at most 100 items after validation, not 101"
    assert empty.status_code == 422
    assert schedules() == []


def test_throttled_creates_are_retried_with_exponential_backoff(
    api: Any, clock: Clock, faults: FaultInjector, schedules: Any
) -> None:
    faults.fail("CreateSchedule", "ThrottlingException", "Rate exceeded", times=3)

    body = api.post("/api/v1/schedules/batch", json={"items": [task("b-throttled", delay_minutes=5)]}).json()

    assert body["items"][0]["status"] == 201
    assert faults.calls["CreateSchedule"] == 3
    # Full jitter (fixed at its maximum here): base 0.1 s, doubling.
    assert clock.sleeps == [0.1, 0.2, 0.4]
    assert schedules() == ["b-throttled"]


def test_an_item_still_throttled_after_its_retries_is_a_429_and_the_others_succeed(
    api: Any, clock: Clock, faults: FaultInjector, schedules: Any
) -> None:
    faults.fail("CreateSchedule", "ThrottlingException", "Rate exceeded", times=5)  # exactly one item's attempts
    items = [task("b-only", delay_minutes=5)]

    body = api.post("/api/v1/schedules/batch", json={"items": items}).json()
    second = api.post("/api/v1/schedules/batch", json={"items": [task("b-next", delay_minutes=5)]}).json()

    assert body["items"][0]["status"] == 429
    assert "throttling CreateSchedule" in body["items"][0]["body"]["detail"]
    assert len(clock.sleeps) == 4
    assert second["items"][0]["status"] == 201
    assert schedules() == ["b-next"]


def test_batch_runs_items_in_parallel_within_its_concurrency_bound(
    api: Any, scheduler_env: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("SCHEDULER_BATCH_CONCURRENCY", "4")
    from scheduler_app.settings import get_settings

    get_settings.cache_clear()
    active = 0
    peak = 0
    lock = threading.Lock()

    def slow(**_: Any) -> None:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.02)
        with lock:
            active -= 1

    client = get_scheduler_client()
    client.meta.events.register("before-call.scheduler.CreateSchedule", slow)
    try:
        body = api.post(
            "/api/v1/schedules/batch", json={"items": [task(f"p-{i}", delay_minutes=5) for i in range(12)]}
        ).json()
    finally:
        client.meta.events.unregister("before-call.scheduler.CreateSchedule", slow)

    assert body["created"] == 12
    assert 1 < peak <= 4


def test_backoff_delay_doubles_up_to_its_cap_and_is_jittered() -> None:
    backoff = Backoff(max_attempts=8, base_seconds=0.1, max_seconds=0.5)

    assert [backoff.delay(n, 1.0) for n in range(1, 6)] == [0.1, 0.2, 0.4, 0.5, 0.5]
    assert backoff.delay(3, 0.25) == 0.1
    assert backoff.delay(3, 0.0) == 0.0


def test_a_task_id_given_twice_in_one_batch_goes_to_the_first_item(api: Any, schedules: Any) -> None:
    items = [
        task("b-dup", delay_minutes=10),
        task("b-other", delay_minutes=10),
        task("b-dup", delay_minutes=10),  # the same request again
        task("b-dup", delay_minutes=20),  # a different one
    ]

    for _ in range(5):  # items run in parallel: the first must win every time, not the fastest
        response = api.post("/api/v1/schedules/batch", json={"items": items})
        body = response.json()
        statuses = [(r["index"], r["status"]) for r in body["items"]]
        assert statuses[0] in ((0, 201), (0, 200))  # created by the first round, the same request after that
        assert statuses[2:] == [(2, 409), (3, 409)]
        for result in body["items"][2:]:
            assert result["body"]["detail"] == "task_id 'b-dup' is already used by item 0 of this batch"
    assert schedules() == ["b-dup", "b-other"]
    stored = api.get("/api/v1/schedules/b-dup").json()
    assert stored["expression"].startswith("at(")


def test_items_without_a_task_id_never_collide(api: Any, schedules: Any) -> None:
    item = {k: v for k, v in task("ignored", delay_minutes=5).items() if k != "task_id"}

    body = api.post("/api/v1/schedules/batch", json={"items": [item, item]}).json()

    assert [r["status"] for r in body["items"]] == [201, 201]
    assert len(schedules()) == 2
