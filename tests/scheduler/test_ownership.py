"""Who may do what, and how much: task ownership under both isolation modes, and the quotas.

Every request goes through the scheduler's Lambda entry point as API Gateway sends it, with the
caller's IAM principal in `requestContext.identity.userArn` (what IAM authorization puts there).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from scheduler_app.handler import lambda_handler
from scheduler_app.principals import caller_of, normalise
from scheduler_app.settings import get_settings
from tests.scheduler.helpers import api_event, task

ORDERS = "arn:aws:sts::123456789012:assumed-role/orders-service/i-0a1b2c"
ORDERS_OTHER_INSTANCE = "arn:aws:sts::123456789012:assumed-role/orders-service/i-9z8y7x"
BILLING = "arn:aws:iam::123456789012:user/billing"
OPERATOR = "arn:aws:sts::123456789012:assumed-role/operator/alice"
ORDERS_ROLE = "arn:aws:iam::123456789012:role/orders-service"

Call = Callable[..., tuple[int, Any]]


@pytest.fixture(params=["shared", "owner"])
def isolation(request: pytest.FixtureRequest, scheduler_env: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("TASK_ISOLATION", request.param)
    monkeypatch.setenv("ADMIN_PRINCIPALS", "arn:aws:iam::123456789012:role/operator")
    get_settings.cache_clear()
    yield request.param
    get_settings.cache_clear()


def as_(principal: str | None) -> Call:
    """Requests made by `principal` (None: a request without one)."""

    def call(method: str, path: str, body: Any = None, query: dict[str, str] | None = None) -> tuple[int, Any]:
        response = lambda_handler(api_event(method, path, body=body, query=query, principal=principal), None)
        text = response.get("body")
        return int(response["statusCode"]), json.loads(text) if text else None

    return call


def test_an_assumed_role_session_owns_as_its_role() -> None:
    assert normalise(ORDERS) == normalise(ORDERS_OTHER_INSTANCE) == "arn:aws:iam::123456789012:role/orders-service"
    assert normalise(BILLING) == BILLING
    assert caller_of({"requestContext": {"identity": {}}}, isolation="owner", admins=frozenset()).principal is None


def test_every_task_records_its_owner(isolation: str, aws: Any) -> None:
    import boto3

    from scheduler_app.namespaces import scope_of
    from taskcore.ledger import task_pk

    assert as_(ORDERS)("POST", "/api/v1/schedules", task("own-1", delay_minutes=5))[0] == 201

    scope = scope_of("arn:aws:iam::123456789012:role/orders-service") if isolation == "owner" else None
    item = boto3.client("dynamodb").get_item(
        TableName=aws.names["TaskLedgerTable"], Key={"pk": {"S": task_pk("own-1", scope)}, "sk": {"S": "STATE"}}
    )["Item"]
    assert item["owner"]["S"] == "arn:aws:iam::123456789012:role/orders-service"
    read = as_(ORDERS_OTHER_INSTANCE)("GET", "/api/v1/schedules/own-1")[1]
    listed = as_(ORDERS)("GET", "/api/v1/schedules")[1]["items"]
    assert read["owner"] == listed[0]["owner"] == "arn:aws:iam::123456789012:role/orders-service"


def test_another_owners_task_is_a_404_under_owner_isolation_and_visible_when_shared(isolation: str) -> None:
    orders, billing = as_(ORDERS), as_(BILLING)
    orders("POST", "/api/v1/schedules", task("own-2", cron="cron(0 9 * * ? *)"))
    missing = billing("GET", "/api/v1/schedules/never-made")[1]["detail"]

    answers = {
        "get": billing("GET", "/api/v1/schedules/own-2"),
        "runs": billing("GET", "/api/v1/schedules/own-2/runs"),
        "patch": billing("PATCH", "/api/v1/schedules/own-2", {"data": {"message": "x"}}),
        "pause": billing("POST", "/api/v1/schedules/own-2/pause"),
        "resume": billing("POST", "/api/v1/schedules/own-2/resume"),
        "delete": billing("DELETE", "/api/v1/schedules/own-2"),
    }

    if isolation == "owner":
        assert {name: status for name, (status, _) in answers.items()} == dict.fromkeys(answers, 404)
        # Word for word the answer for a task that does not exist: a 404 reveals nothing.
        assert answers["get"][1]["detail"] == missing.replace("never-made", "own-2")
        assert orders("GET", "/api/v1/schedules/own-2")[1]["status"] == "scheduled"  # untouched
    else:
        assert [status for status, _ in answers.values()] == [200, 200, 200, 200, 200, 204]


def test_another_instance_of_the_same_role_owns_the_same_tasks(isolation: str) -> None:
    as_(ORDERS)("POST", "/api/v1/schedules", task("own-3", delay_minutes=5))

    status, body = as_(ORDERS_OTHER_INSTANCE)("POST", "/api/v1/schedules/own-3/pause")

    assert (status, body["status"]) == (200, "paused")


def test_an_admin_sees_and_changes_every_task(isolation: str) -> None:
    as_(ORDERS)("POST", "/api/v1/schedules", task("own-4", delay_minutes=5))
    operator = as_(OPERATOR)
    # Under owner isolation each owner has its own task ids: an admin names the owner it addresses.
    whose = {"owner": ORDERS} if isolation == "owner" else None

    assert operator("GET", "/api/v1/schedules/own-4", query=whose)[0] == 200
    assert [item["task_id"] for item in operator("GET", "/api/v1/schedules")[1]["items"]] == ["own-4"]
    assert operator("DELETE", "/api/v1/schedules/own-4", query=whose)[0] == 204


def test_a_listing_shows_only_the_callers_tasks_under_owner_isolation(isolation: str) -> None:
    as_(ORDERS)("POST", "/api/v1/schedules", {**task("own-5", delay_minutes=5), "user_id": 1})
    as_(BILLING)("POST", "/api/v1/schedules", {**task("own-6", delay_minutes=5), "user_id": 1})

    def ids(principal: str, **query: str) -> list[str]:
        status, body = as_(principal)("GET", "/api/v1/schedules", query=query or None)
        assert status == 200, body
        return [item["task_id"] for item in body["items"]]

    if isolation == "owner":
        assert ids(BILLING) == ["own-6"]
        assert ids(BILLING, user_id="1") == ["own-6"]
        assert ids(ORDERS_OTHER_INSTANCE, status="scheduled") == ["own-5"]
    else:
        assert ids(BILLING) == ["own-6", "own-5"]
        assert ids(BILLING, user_id="1") == ["own-6", "own-5"]


def test_a_task_id_another_owner_holds_is_free_under_owner_isolation_and_the_same_task_when_shared(
    isolation: str,
) -> None:
    as_(ORDERS)("POST", "/api/v1/schedules", task("own-7", delay_minutes=5))

    status, body = as_(BILLING)("POST", "/api/v1/schedules", task("own-7", delay_minutes=5))

    # Owner isolation: billing's own task of that id, nothing said of orders' (test_owner_namespaces.py).
    assert (status, body["owner"]) == ((201, BILLING) if isolation == "owner" else (200, ORDERS_ROLE))


def test_the_guides_routes_follow_the_same_rule(isolation: str, group: str) -> None:
    orders, billing = as_(ORDERS), as_(BILLING)
    guide_create = {"task_id": "own-8", "user_id": 1, "action": "send_notification", "delay_minutes": 5, "data": {}}
    assert orders("POST", "/api/v1/scheduler/schedule", guide_create)[0] == 200
    arn = orders("GET", "/api/v1/schedules/own-8")[1]["schedule_arn"]

    status, _ = billing("DELETE", f"/api/v1/scheduler/schedule/{arn}")

    assert status == (404 if isolation == "owner" else 200)


# -- quotas ----------------------------------------------------------------------------------------------------


@pytest.fixture
def quotas(scheduler_env: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("MIN_SCHEDULE_INTERVAL_SECONDS", "300")
    monkeypatch.setenv("MAX_ACTIVE_SCHEDULES_PER_OWNER", "2")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize(
    ("timing", "message"),
    [
        ({"rate": "rate(1 minute)"}, "rate(1 minute) in UTC runs 60 s apart"),
        ({"cron": "cron(0/2 * * * ? *)"}, "cron(0/2 * * * ? *) in UTC runs 120 s apart"),
        ({"cron": "cron(0,1 9 ? * MON *)", "timezone": "Asia/Seoul"}, "in Asia/Seoul runs 60 s apart"),
    ],
)
def test_a_recurring_schedule_closer_than_the_minimum_interval_is_a_422(
    quotas: None, schedules: Any, timing: dict[str, str], message: str
) -> None:
    status, body = as_(ORDERS)("POST", "/api/v1/schedules", task("quota-1", **timing))

    assert status == 422
    assert message in body["detail"]
    assert body["detail"].endswith("this stack allows recurring schedules at most every 300 s")
    assert schedules() == []


def test_schedules_at_the_minimum_interval_are_accepted(quotas: None) -> None:
    orders = as_(ORDERS)

    assert orders("POST", "/api/v1/schedules", task("quota-2", rate="rate(5 minutes)"))[0] == 201
    assert orders("POST", "/api/v1/schedules", task("quota-3", cron="cron(0/5 * * * ? *)"))[0] == 201


def test_a_patch_to_a_closer_interval_is_refused_and_changes_nothing(quotas: None) -> None:
    orders = as_(ORDERS)
    orders("POST", "/api/v1/schedules", task("quota-11", rate="rate(10 minutes)"))

    status, body = orders("PATCH", "/api/v1/schedules/quota-11", {"rate": "rate(2 minutes)"})

    assert status == 422
    assert "runs 120 s apart" in body["detail"]
    assert orders("GET", "/api/v1/schedules/quota-11")[1]["expression"] == "rate(10 minutes)"


def test_an_owner_past_its_active_schedules_gets_a_429_and_nothing_is_created(quotas: None, schedules: Any) -> None:
    orders = as_(ORDERS)
    for name in ("quota-4", "quota-5"):
        assert orders("POST", "/api/v1/schedules", task(name, delay_minutes=5))[0] == 201

    status, body = orders("POST", "/api/v1/schedules", task("quota-6", delay_minutes=5))
    others = as_(BILLING)("POST", "/api/v1/schedules", task("quota-7", delay_minutes=5))

    assert status == 429
    assert body["detail"] == (
        "arn:aws:iam::123456789012:role/orders-service already has 2 active schedules, the most this stack allows "
        "(MaxActiveSchedulesPerOwner); cancel some, or wait for one-time tasks to run"
    )
    assert others[0] == 201  # a quota per owner
    assert sorted(schedules()) == ["quota-4", "quota-5", "quota-7"]


def test_a_batch_past_the_quota_creates_exactly_what_fits_and_refuses_the_rest(quotas: None, schedules: Any) -> None:
    items = [task(f"quota-batch-{index:02d}", delay_minutes=5) for index in range(20)]

    status, body = as_(ORDERS)("POST", "/api/v1/schedules/batch", {"items": items})

    refused = [item for item in body["items"] if item["status"] == 429]
    assert status == 200
    assert body["created"] == 2  # the quota (2) holds exactly, however the batch's threads race
    assert len(refused) == 18
    assert {item["body"]["code"] for item in refused} == {"owner_quota_exceeded"}
    assert len(schedules()) == 2


def test_a_cancelled_task_no_longer_counts_against_the_quota(quotas: None) -> None:
    orders = as_(ORDERS)
    for name in ("quota-8", "quota-9"):
        orders("POST", "/api/v1/schedules", task(name, delay_minutes=5))
    orders("DELETE", "/api/v1/schedules/quota-8")

    assert orders("POST", "/api/v1/schedules", task("quota-10", delay_minutes=5))[0] == 201


def test_a_schedule_whose_first_runs_are_far_ahead_is_still_held_to_the_minimum_interval(quotas: None) -> None:
    status, body = as_(ORDERS)(
        "POST", "/api/v1/schedules", task("quota-12", cron="cron(* * * * ? *)", start_at="2035-01-01T00:00:00+00:00")
    )

    assert status == 422
    assert "runs 60 s apart" in body["detail"]


def test_the_same_create_again_at_the_quota_returns_the_task(quotas: None) -> None:
    orders = as_(ORDERS)
    orders("POST", "/api/v1/schedules", task("quota-13", delay_minutes=5))
    request = task("quota-14", run_at="2030-01-01T00:00:00+00:00")
    assert orders("POST", "/api/v1/schedules", request)[0] == 201  # the owner's second and last

    assert orders("POST", "/api/v1/schedules", request)[0] == 200  # a retry, not a third task
