"""Under `Isolation=owner` every owner has its own task ids: nobody can squat another's, and a 409 reveals nothing.

Two owners may both create `payment-reminder-42` and never see each other's: each has its own ledger
partition and its own schedule (deterministic names, unique in the group), and the callback records
each one's runs on its own task. An admin names the owner it addresses (`?owner=`). Tasks made
before the switch keep their shared names and keys, and their owners still read, change and cancel
them. Under `Isolation=shared` names, keys and the schedule's event are what they always were.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from localcloud.template import LocalResources
from scheduler_app.settings import get_settings
from taskcore.envelope import TaskEnvelope
from taskcore.proxy import build_target_input, delivered_event
from tests.scheduler.helpers import call_as, task

ORDERS = "arn:aws:sts::123456789012:assumed-role/orders-service/i-0a1b2c"
ORDERS_ROLE = "arn:aws:iam::123456789012:role/orders-service"
BILLING = "arn:aws:iam::123456789012:user/billing"
OPERATOR = "arn:aws:sts::123456789012:assumed-role/operator/alice"
ID = "payment-reminder-42"
SCHEDULE_NAME = re.compile(r"^[0-9a-zA-Z\-_.]{1,64}$")
#: What `call_as` returns: a request as one principal, answered with (status, body).
Caller = Callable[..., tuple[int, Any]]


def reminder(message: str, task_id: str = ID, **timing: Any) -> dict[str, Any]:
    """A create request for `task_id` whose data says whose it is."""
    return {**task(task_id, **(timing or {"delay_minutes": 5})), "data": {"message": message}}


def isolate(monkeypatch: pytest.MonkeyPatch, isolation: str) -> None:
    monkeypatch.setenv("TASK_ISOLATION", isolation)
    monkeypatch.setenv("ADMIN_PRINCIPALS", "arn:aws:iam::123456789012:role/operator")
    get_settings.cache_clear()


@pytest.fixture
def owners(scheduler_env: LocalResources, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The stack under `Isolation=owner`, `operator` its admin."""
    isolate(monkeypatch, "owner")
    yield
    get_settings.cache_clear()


def test_two_owners_each_create_the_same_task_id_and_each_sees_only_its_own(owners: None, schedules: Any) -> None:
    orders, billing = call_as(ORDERS), call_as(BILLING)

    made = {"orders": orders("POST", "/api/v1/schedules", reminder("for orders"))}
    made["billing"] = billing("POST", "/api/v1/schedules", reminder("for billing"))

    assert {who: status for who, (status, _) in made.items()} == {"orders": 201, "billing": 201}
    ours, theirs = made["orders"][1], made["billing"][1]
    assert ours["task_id"] == theirs["task_id"] == ID
    assert ours["schedule_name"] != theirs["schedule_name"]
    assert sorted(schedules()) == sorted([ours["schedule_name"], theirs["schedule_name"]])
    assert orders("GET", f"/api/v1/schedules/{ID}")[1]["data"]["message"] == "for orders"
    assert billing("GET", f"/api/v1/schedules/{ID}")[1]["data"]["message"] == "for billing"
    listed = {who: call("GET", "/api/v1/schedules")[1]["items"] for who, call in (("o", orders), ("b", billing))}
    assert [(i["task_id"], i["owner"], i["schedule_name"]) for i in listed["o"]] == [
        (ID, ORDERS_ROLE, ours["schedule_name"])
    ]
    assert [(i["task_id"], i["owner"], i["schedule_name"]) for i in listed["b"]] == [
        (ID, BILLING, theirs["schedule_name"])
    ]


def test_a_conflict_is_about_the_callers_own_task_and_reveals_no_other(owners: None) -> None:
    orders, billing = call_as(ORDERS), call_as(BILLING)
    billing("POST", "/api/v1/schedules", reminder("for billing"))

    first = orders("POST", "/api/v1/schedules", reminder("for orders"))
    again = orders("POST", "/api/v1/schedules", reminder("for orders"))
    other = orders("POST", "/api/v1/schedules", reminder("something else"))

    assert (first[0], again[0], other[0]) == (201, 200, 409)
    assert again[1]["schedule_name"] == first[1]["schedule_name"]  # the same task: deterministic names
    assert other[1]["detail"] == (
        f"task {ID!r} is already scheduled by a different request; PATCH it to change it, or DELETE it first"
    )


def test_what_one_owner_does_to_its_task_leaves_the_others_task_as_it_was(owners: None, scheduler: Any) -> None:
    orders, billing = call_as(ORDERS), call_as(BILLING)
    recurring = {"cron": "cron(0 9 * * ? *)"}
    orders("POST", "/api/v1/schedules", reminder("for orders", **recurring))
    theirs = billing("POST", "/api/v1/schedules", reminder("for billing", **recurring))[1]

    done = {
        "patch": orders("PATCH", f"/api/v1/schedules/{ID}", {"data": {"message": "changed"}})[0],
        "pause": orders("POST", f"/api/v1/schedules/{ID}/pause")[0],
        "runs": orders("GET", f"/api/v1/schedules/{ID}/runs")[0],
        "resume": orders("POST", f"/api/v1/schedules/{ID}/resume")[0],
        "pause again": orders("POST", f"/api/v1/schedules/{ID}/pause")[0],
        "delete": orders("DELETE", f"/api/v1/schedules/{ID}")[0],
    }

    assert done == {"patch": 200, "pause": 200, "runs": 200, "resume": 200, "pause again": 200, "delete": 204}
    assert orders("GET", f"/api/v1/schedules/{ID}")[1]["status"] == "cancelled"
    status, body = billing("GET", f"/api/v1/schedules/{ID}")
    assert (status, body["status"], body["state"], body["data"]) == (
        200,
        "scheduled",
        "ENABLED",
        {"message": "for billing"},
    )
    schedule = scheduler.get_schedule(Name=theirs["schedule_name"], GroupName=theirs["group"])
    assert schedule["State"] == "ENABLED"
    assert json.loads(json.loads(schedule["Target"]["Input"])["body"])["data"] == {"message": "for billing"}


def test_schedule_names_are_deterministic_unique_and_valid_schedule_names() -> None:
    from scheduler_app.namespaces import TaskAddress, scope_of

    ids = ["a", ID, "x" * 46, "x" * 47, "y" * 64, "y" * 63 + "z", "a." * 32, "-_.-" * 16]
    names = {
        (owner, task_id): TaskAddress(task_id, scope_of(owner)).schedule_name
        for owner in (ORDERS_ROLE, BILLING, OPERATOR)
        for task_id in ids
    }

    assert len(set(names.values())) == len(names)  # unique within the group
    assert all(SCHEDULE_NAME.fullmatch(name) for name in names.values())
    assert all(TaskAddress(t, scope_of(o)).schedule_name == name for (o, t), name in names.items())
    assert TaskAddress(ID).schedule_name == ID  # the shared namespace: the task id, as before
    assert names[(BILLING, ID)].endswith(f".{ID}")  # a short id stays readable in its name


def deliver(scheduler: Any, view: dict[str, Any], callback: Callable[..., dict[str, Any]], at: datetime) -> Any:
    """The callback's answer to the schedule's Input, as EventBridge Scheduler delivers it for the occurrence `at`."""
    schedule = scheduler.get_schedule(Name=view["schedule_name"], GroupName=view["group"])
    event = delivered_event(schedule["Target"]["Input"], schedule_arn=schedule["Arn"], scheduled_time=at)
    return json.loads(callback(event)["body"])


def test_the_callback_records_each_owners_run_on_its_own_task(
    owners: None, scheduler: Any, callback: Any, idempotency_records: Any
) -> None:
    orders, billing = call_as(ORDERS), call_as(BILLING)
    run_at = "2030-01-01T00:00:00+00:00"  # the same occurrence for both: the same idempotency key unless scoped
    mine = orders("POST", "/api/v1/schedules", reminder("for orders", run_at=run_at))[1]
    theirs = billing("POST", "/api/v1/schedules", reminder("for billing", run_at=run_at))[1]
    at = datetime(2030, 1, 1, tzinfo=UTC)

    answers = [deliver(scheduler, mine, callback, at), deliver(scheduler, theirs, callback, at)]

    assert [(a["success"], a["duplicate"]) for a in answers] == [(True, False), (True, False)]  # both ran
    assert len(idempotency_records()) == 2
    for call in (orders, billing):
        view = call("GET", f"/api/v1/schedules/{ID}")[1]
        assert (view["status"], view["run_count"], len(view["runs"])) == ("succeeded", 1, 1)


def test_a_batch_creates_in_the_callers_own_namespace(owners: None) -> None:
    call_as(ORDERS)("POST", "/api/v1/schedules", reminder("for orders"))

    status, body = call_as(BILLING)("POST", "/api/v1/schedules/batch", {"items": [reminder("for billing")]})

    assert (status, body["created"], body["items"][0]["status"]) == (200, 1, 201)


def test_the_guides_routes_keep_each_owners_task_apart(owners: None) -> None:
    orders, billing = call_as(ORDERS), call_as(BILLING)
    guide = {"task_id": ID, "user_id": 1, "action": "send_notification", "delay_minutes": 5, "data": {}}
    mine = orders("POST", "/api/v1/scheduler/schedule", guide)
    theirs = billing("POST", "/api/v1/scheduler/schedule", guide)
    assert (mine[0], theirs[0]) == (200, 200)
    assert mine[1]["schedule_arn"] != theirs[1]["schedule_arn"]

    refused = billing("DELETE", f"/api/v1/scheduler/schedule/{mine[1]['schedule_arn']}")
    cancelled = orders("DELETE", f"/api/v1/scheduler/schedule/{mine[1]['schedule_arn']}")

    assert (refused[0], refused[1]["detail"]) == (404, "Schedule not found or already executed")
    assert cancelled[0] == 200
    assert orders("GET", f"/api/v1/schedules/{ID}")[1]["status"] == "cancelled"
    assert billing("GET", f"/api/v1/schedules/{ID}")[1]["status"] == "scheduled"


def test_the_guides_cancel_finds_the_task_of_a_long_id_and_an_admin_cancels_any_owners(owners: None) -> None:
    orders, billing, operator = call_as(ORDERS), call_as(BILLING), call_as(OPERATOR)
    long_id = "invoice-" + "9" * 56  # 64 characters: its schedule's name is the digest form
    guide = {"task_id": long_id, "user_id": 1, "action": "send_notification", "delay_minutes": 5, "data": {}}
    mine = orders("POST", "/api/v1/scheduler/schedule", guide)[1]["schedule_arn"]
    theirs = billing("POST", "/api/v1/scheduler/schedule", guide)[1]["schedule_arn"]
    assert len(mine.rsplit("/", 1)[-1]) == 64

    assert billing("DELETE", f"/api/v1/scheduler/schedule/{mine}")[0] == 404
    assert orders("DELETE", f"/api/v1/scheduler/schedule/{mine}")[0] == 200
    assert operator("DELETE", f"/api/v1/scheduler/schedule/{theirs}")[0] == 200

    assert orders("GET", f"/api/v1/schedules/{long_id}")[1]["status"] == "cancelled"
    assert billing("GET", f"/api/v1/schedules/{long_id}")[1]["status"] == "cancelled"


# -- an admin names the owner it addresses ---------------------------------------------------------------------------


def assert_the_admin_reaches_each_owners_task_by_naming_the_owner(operator: Caller, path: str) -> None:
    """Orders' and billing's tasks of the same id, read, changed, paused and cancelled by the admin."""
    assert operator("GET", path)[0] == 404  # its own namespace holds no such task
    assert operator("GET", path, query={"owner": BILLING})[1]["data"]["message"] == "for billing"
    # Given as the session ARN or as the role's, an assumed-role owner is its role (AssumedRoleOwner=role).
    assert operator("GET", path, query={"owner": ORDERS})[1]["data"]["message"] == "for orders"
    assert operator("GET", path, query={"owner": ORDERS_ROLE})[1]["data"]["message"] == "for orders"
    assert operator("GET", f"{path}/runs", query={"owner": BILLING})[0] == 200
    assert operator("PATCH", path, {"data": {"message": "fixed"}}, query={"owner": BILLING})[0] == 200
    assert operator("POST", f"{path}/pause", query={"owner": BILLING})[1]["status"] == "paused"
    assert operator("DELETE", path, query={"owner": ORDERS_ROLE})[0] == 204


def test_an_admin_names_the_owner_of_the_task_it_addresses(owners: None) -> None:
    orders, billing, operator = call_as(ORDERS), call_as(BILLING), call_as(OPERATOR)
    orders("POST", "/api/v1/schedules", reminder("for orders", cron="cron(0 9 * * ? *)"))
    billing("POST", "/api/v1/schedules", reminder("for billing", cron="cron(0 9 * * ? *)"))
    path = f"/api/v1/schedules/{ID}"

    assert_the_admin_reaches_each_owners_task_by_naming_the_owner(operator, path)

    assert orders("GET", path)[1]["status"] == "cancelled"
    status, theirs = billing("GET", path)
    assert (status, theirs["status"], theirs["data"]["message"], theirs["owner"]) == (200, "paused", "fixed", BILLING)
    every = operator("GET", "/api/v1/schedules", query={"status": "paused"})[1]["items"]
    one = operator("GET", "/api/v1/schedules", query={"owner": BILLING})[1]["items"]
    assert [(i["task_id"], i["owner"]) for i in every] == [(ID, BILLING)]
    assert [(i["task_id"], i["owner"]) for i in one] == [(ID, BILLING)]


def test_only_an_admin_may_name_another_owner(owners: None) -> None:
    call_as(ORDERS)("POST", "/api/v1/schedules", reminder("for orders"))
    path = f"/api/v1/schedules/{ID}"

    status, body = call_as(BILLING)("GET", path, query={"owner": ORDERS_ROLE})
    listed = call_as(BILLING)("GET", "/api/v1/schedules", query={"owner": ORDERS_ROLE})
    not_an_arn = call_as(OPERATOR)("GET", path, query={"owner": "orders-service"})

    assert (status, listed[0]) == (422, 422)
    assert body["detail"] == (
        "owner: only the principals in AdminPrincipals may address another owner's tasks; "
        "leave owner out to address your own"
    )
    assert call_as(ORDERS)("GET", path, query={"owner": ORDERS_ROLE})[0] == 200  # itself: allowed
    assert not_an_arn[0] == 422
    assert not_an_arn[1]["detail"].startswith("owner: 'orders-service' is not an IAM ARN")


def test_owner_is_refused_under_shared_isolation(scheduler_env: LocalResources) -> None:
    call_as(ORDERS)("POST", "/api/v1/schedules", reminder("for orders"))

    status, body = call_as(ORDERS)("GET", f"/api/v1/schedules/{ID}", query={"owner": ORDERS_ROLE})

    assert status == 422
    assert body["detail"] == (
        "owner: task ids are not kept per owner under Isolation=shared (every caller sees every task); leave it out"
    )


# -- tasks made before the switch ------------------------------------------------------------------------------------


def assert_its_owner_still_reaches_legacy_1_by_its_name(
    orders: Caller, request: dict[str, Any], schedules: Any
) -> None:
    """Read, retried, listed, paused, resumed and changed by orders after the switch, under its old name."""
    read = orders("GET", "/api/v1/schedules/legacy-1")
    retried = orders("POST", "/api/v1/schedules", request)  # a retry across the switch: the same task, not a second
    assert (read[0], read[1]["schedule_name"], read[1]["owner"]) == (200, "legacy-1", ORDERS_ROLE)
    assert (retried[0], retried[1]["schedule_name"]) == (200, "legacy-1")
    assert schedules() == ["legacy-1", "legacy-2"]
    assert orders("GET", "/api/v1/schedules/legacy-1/runs")[0] == 200
    assert orders("POST", "/api/v1/schedules/legacy-1/pause")[1]["status"] == "paused"
    assert orders("POST", "/api/v1/schedules/legacy-1/resume")[1]["status"] == "scheduled"
    assert orders("PATCH", "/api/v1/schedules/legacy-1", {"data": {"message": "changed"}})[0] == 200
    assert [i["task_id"] for i in orders("GET", "/api/v1/schedules")[1]["items"]] == ["legacy-1"]


def test_tasks_made_before_the_switch_keep_their_names_and_their_owners_still_reach_them(
    scheduler_env: LocalResources, monkeypatch: pytest.MonkeyPatch, schedules: Any
) -> None:
    orders, billing, operator = call_as(ORDERS), call_as(BILLING), call_as(OPERATOR)
    isolate(monkeypatch, "shared")
    old = reminder("made before", "legacy-1", cron="cron(0 9 * * ? *)")
    assert orders("POST", "/api/v1/schedules", old)[0] == 201
    assert billing("POST", "/api/v1/schedules", reminder("made before", "legacy-2"))[0] == 201
    isolate(monkeypatch, "owner")

    assert_its_owner_still_reaches_legacy_1_by_its_name(orders, old, schedules)
    assert billing("GET", "/api/v1/schedules/legacy-1")[0] == 404  # still only its owner's
    assert operator("GET", "/api/v1/schedules/legacy-2", query={"owner": BILLING})[0] == 200

    assert billing("DELETE", "/api/v1/schedules/legacy-2")[0] == 204
    assert orders("DELETE", "/api/v1/schedules/legacy-1")[0] == 204
    assert schedules() == []
    assert orders("GET", "/api/v1/schedules/legacy-1")[1]["status"] == "cancelled"


def test_a_schedule_made_before_the_switch_records_its_runs_on_its_task(
    scheduler_env: LocalResources, monkeypatch: pytest.MonkeyPatch, scheduler: Any, callback: Any
) -> None:
    isolate(monkeypatch, "shared")
    made = call_as(ORDERS)("POST", "/api/v1/schedules", reminder("made before", run_at="2030-01-01T00:00:00+00:00"))[1]
    isolate(monkeypatch, "owner")

    answer = deliver(scheduler, made, callback, datetime(2030, 1, 1, tzinfo=UTC))

    view = call_as(ORDERS)("GET", f"/api/v1/schedules/{ID}")[1]
    assert answer["success"] is True
    assert (view["status"], view["run_count"]) == ("succeeded", 1)


# -- Isolation=shared: nothing changes -------------------------------------------------------------------------------


def test_under_shared_isolation_names_keys_and_the_event_are_as_before(
    scheduler_env: LocalResources, scheduler: Any
) -> None:
    request = reminder("shared")

    view = call_as(ORDERS)("POST", "/api/v1/schedules", request)[1]

    schedule = scheduler.get_schedule(Name=ID, GroupName=view["group"])
    envelope = TaskEnvelope.model_validate({k: request[k] for k in ("task_id", "user_id", "action", "data")})
    assert view["schedule_name"] == ID
    item = boto3.client("dynamodb").get_item(
        TableName=scheduler_env.names["TaskLedgerTable"], Key={"pk": {"S": f"TASK#{ID}"}, "sk": {"S": "STATE"}}
    )
    assert item["Item"]["owner"]["S"] == ORDERS_ROLE
    # The event as before, and the owner's quota slot its create took (the callback gives it back: taskcore.quota).
    slot = item["Item"]["quota_key"]["S"]
    assert schedule["Target"]["Input"] == build_target_input(envelope, kind="one-time", quota_slot=slot)
    assert ORDERS_ROLE not in schedule["Target"]["Input"]


def test_under_owner_isolation_the_event_names_the_tasks_partition(owners: None, scheduler: Any) -> None:
    from scheduler_app.namespaces import scope_of

    view = call_as(BILLING)("POST", "/api/v1/schedules", reminder("for billing"))[1]

    schedule = scheduler.get_schedule(Name=view["schedule_name"], GroupName=view["group"])
    headers = json.loads(schedule["Target"]["Input"])["headers"]
    assert headers["X-Task-Scope"] == scope_of(BILLING)
    assert BILLING not in schedule["Target"]["Input"]  # the scope, not the owner's ARN, travels with the task
