"""Listing cursors are sealed: only this API makes or reads one, and none shows how the ledger is keyed.

A cursor used to be base64 JSON holding DynamoDB's LastEvaluatedKey: a caller could forge one whose key
reached ExclusiveStartKey wrongly typed (a 502, "retry later": 5xx alarms at will) or pointing into
another partition (a 200 with an empty page). Now every cursor is authenticated (HMAC-SHA256) and
encrypted with a key the stack creates (the `CursorKeySecret` secret, read once per container when a
listing first needs it), and bound to the filters and the caller it was issued to
(scheduler_app/cursors.py, docs/security.md).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from scheduler_app.clients import get_secrets_client
from scheduler_app.handler import lambda_handler
from scheduler_app.keys import get_cursor_seal
from scheduler_app.settings import get_settings
from tests.scheduler.helpers import FaultInjector, api_event, response_json, task
from tests.scheduler.test_full_loop import deliver

FOREIGN = "cursor: not a cursor this API issued; start again without it"
NO_FILTERS = {"action": None, "prefix": None, "status": None, "user_id": None}


def unsigned(position: dict[str, Any], binding: dict[str, Any]) -> str:
    """A cursor in the old, unsigned format (base64url JSON), as anyone could write one."""
    raw = json.dumps({"k": position, "b": binding}, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decoded(cursor: str) -> bytes:
    """The bytes inside a cursor, if it is base64url at all."""
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        return cursor.encode()


def seed(api: Any, *names: str) -> None:
    for name in names:
        assert api.post("/api/v1/schedules", json=task(name, delay_minutes=30)).status_code == 201


def ledger_item(aws: Any, task_id: str) -> dict[str, Any]:
    item: dict[str, Any] = boto3.client("dynamodb").get_item(
        TableName=aws.names["TaskLedgerTable"], Key={"pk": {"S": f"TASK#{task_id}"}, "sk": {"S": "STATE"}}
    )["Item"]
    return item


@pytest.fixture
def secret_reads(scheduler_env: Any) -> Iterator[list[str]]:
    """Every GetSecretValue the API makes (the container's Secrets Manager client)."""
    calls: list[str] = []

    def record(model: Any, **_: Any) -> None:
        calls.append(model.name)

    client = get_secrets_client()
    client.meta.events.register("before-call.secrets-manager.GetSecretValue", record)
    yield calls
    client.meta.events.unregister("before-call.secrets-manager.GetSecretValue", record)


def test_a_cursor_with_a_wrongly_typed_key_is_a_422_not_a_502(api: Any) -> None:
    seed(api, "cur-type-1", "cur-type-2")
    forged = unsigned(
        {
            "i": 0,
            "k": {
                "pk": {"N": "1"},
                "sk": {"S": "TASK"},
                "state_key": {"S": "STATE#scheduled"},
                "created_key": {"N": "2"},
            },
        },
        NO_FILTERS,
    )

    response = api.get("/api/v1/schedules", params={"cursor": forged})

    assert (response.status_code, response.json()) == (422, {"detail": FOREIGN, "code": "invalid"})


def test_a_cursor_moved_to_another_state_is_a_422_not_an_empty_page(api: Any, aws: Any) -> None:
    seed(api, "cur-state-1", "cur-state-2")
    item = ledger_item(aws, "cur-state-2")
    position = {key: item[key] for key in ("pk", "sk", "created_key")} | {"state_key": {"S": "STATE#paused"}}

    response = api.get("/api/v1/schedules", params={"cursor": unsigned({"i": 0, "k": position}, NO_FILTERS)})

    assert (response.status_code, response.json()["detail"]) == (422, FOREIGN)


def test_any_change_to_an_issued_cursor_is_a_422(api: Any) -> None:
    seed(api, "cur-flip-1", "cur-flip-2", "cur-flip-3")
    cursor = api.get("/api/v1/schedules", params={"limit": 1}).json()["cursor"]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    positions = sorted({0, 1, len(cursor) // 3, len(cursor) // 2, len(cursor) - 2, len(cursor) - 1})

    for at in positions:
        other = alphabet[(alphabet.index(cursor[at]) + 1) % len(alphabet)]
        changed = cursor[:at] + other + cursor[at + 1 :]
        response = api.get("/api/v1/schedules", params={"limit": 1, "cursor": changed})
        assert (response.status_code, response.json()["detail"]) == (422, FOREIGN), at
    for cut in (cursor[:-1], cursor[:20], cursor + "A", cursor + cursor):
        assert api.get("/api/v1/schedules", params={"limit": 1, "cursor": cut}).status_code == 422


def test_no_cursor_shows_the_ledgers_keys_or_the_tasks_it_points_at(api: Any) -> None:
    seed(api, "cur-hidden-1", "cur-hidden-2", "cur-hidden-3")
    cursor = api.get("/api/v1/schedules", params={"limit": 1}).json()["cursor"]
    inside = decoded(cursor)

    for marker in (b'"pk"', b'"sk"', b"state_key", b"created_key", b"TASK#", b"STATE#", b"cur-hidden", b"scheduled"):
        assert marker not in inside, marker
    # Two pages from the same place are two different cursors (a fresh nonce each time): nothing to compare.
    assert api.get("/api/v1/schedules", params={"limit": 1}).json()["cursor"] != cursor


def test_sealed_cursors_still_walk_every_task_exactly_once(api: Any) -> None:
    names = [f"cur-walk-{i}" for i in range(5)]
    seed(api, *names)
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 2}

    while True:
        body = api.get("/api/v1/schedules", params=params).json()
        seen += [item["task_id"] for item in body["items"]]
        if body["cursor"] is None:
            break
        params = {"limit": 2, "cursor": body["cursor"]}

    assert sorted(seen) == names


def test_the_runs_cursor_is_sealed_too(
    api: Any, scheduler: Any, group: str, callback: Any, spy_action: Any, aws: Any
) -> None:
    start = datetime(2030, 1, 1, tzinfo=UTC)
    api.post("/api/v1/schedules", json=task("cur-runs", action="spy", rate="rate(1 day)", start_at=start.isoformat()))
    for day in range(3):
        deliver(scheduler, group, "cur-runs", callback, at=start + timedelta(days=day))
    first = api.get("/api/v1/schedules/cur-runs/runs", params={"limit": 1}).json()
    forged = unsigned({"pk": {"S": "TASK#cur-runs"}, "sk": {"N": "7"}}, {"task": "cur-runs"})
    other_task = unsigned(
        {"pk": {"S": "TASK#elsewhere"}, "sk": {"S": "RUN#2030-01-02T00:00:00Z"}}, {"task": "cur-runs"}
    )

    for cursor in (forged, other_task, first["cursor"][:-2]):
        response = api.get("/api/v1/schedules/cur-runs/runs", params={"cursor": cursor})
        assert (response.status_code, response.json()["detail"]) == (422, FOREIGN)
    for marker in (b"RUN#", b"TASK#", b"cur-runs", b"2030-01"):
        assert marker not in decoded(first["cursor"]), marker
    second = api.get("/api/v1/schedules/cur-runs/runs", params={"limit": 1, "cursor": first["cursor"]}).json()
    assert [run["scheduled_time"] for run in second["items"]] == ["2030-01-02T00:00:00Z"]


def test_a_runs_cursor_is_not_a_listing_cursor_nor_another_tasks(api: Any) -> None:
    seed(api, "cur-kind-1", "cur-kind-2")
    listing = api.get("/api/v1/schedules", params={"limit": 1}).json()["cursor"]

    response = api.get("/api/v1/schedules/cur-kind-1/runs", params={"cursor": listing})

    assert response.status_code == 422


def test_a_cursor_issued_to_one_caller_is_refused_to_another(
    scheduler_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TASK_ISOLATION", "owner")
    get_settings.cache_clear()
    alice, bob = "arn:aws:iam::123456789012:user/alice", "arn:aws:iam::123456789012:user/bob"

    def call(principal: str, query: dict[str, str] | None = None, body: Any = None) -> tuple[int, Any]:
        method = "POST" if body is not None else "GET"
        event = api_event(method, "/api/v1/schedules", body=body, query=query, principal=principal)
        response = lambda_handler(event, None)
        return int(response["statusCode"]), response_json(response)

    try:
        for name in ("cur-alice-1", "cur-alice-2"):
            assert call(alice, body=task(name, delay_minutes=5))[0] == 201
        assert call(bob, body=task("cur-bob-1", delay_minutes=5))[0] == 201
        cursor = call(alice, {"limit": "1"})[1]["cursor"]
        refused = call(bob, {"limit": "1", "cursor": cursor})
        accepted = call(alice, {"limit": "1", "cursor": cursor})
    finally:
        get_settings.cache_clear()

    assert refused == (
        422,
        {"detail": "cursor: it was issued to another caller; start again without it", "code": "invalid"},
    )
    assert accepted[0] == 200
    assert [item["task_id"] for item in accepted[1]["items"]] == ["cur-alice-1"]


def test_the_key_is_read_once_per_container_and_only_when_a_listing_needs_a_cursor(
    api: Any, secret_reads: list[str]
) -> None:
    seed(api, "cur-key-1", "cur-key-2", "cur-key-3")
    api.get("/api/v1/schedules/cur-key-1")
    api.get("/api/v1/schedules")  # one page: no cursor to make
    assert secret_reads == []

    first = api.get("/api/v1/schedules", params={"limit": 1}).json()
    second = api.get("/api/v1/schedules", params={"limit": 1, "cursor": first["cursor"]}).json()
    api.get("/api/v1/schedules", params={"limit": 1, "cursor": second["cursor"]})

    assert secret_reads == ["GetSecretValue"]


def test_a_cursor_made_with_another_key_is_a_422(api: Any, aws: Any) -> None:
    seed(api, "cur-rotated-1", "cur-rotated-2")
    cursor = api.get("/api/v1/schedules", params={"limit": 1}).json()["cursor"]
    secrets, secret = boto3.client("secretsmanager"), aws.arns["CursorKeySecret"]
    key = secrets.get_secret_value(SecretId=secret)["SecretString"]
    secrets.put_secret_value(SecretId=secret, SecretString="another key, as after a rotation")
    get_cursor_seal.cache_clear()  # a new container reads the new key
    try:
        response = api.get("/api/v1/schedules", params={"limit": 1, "cursor": cursor})
    finally:
        secrets.put_secret_value(SecretId=secret, SecretString=key)

    assert (response.status_code, response.json()["detail"]) == (422, FOREIGN)


@pytest.mark.parametrize("code", ["AccessDeniedException", "ResourceNotFoundException", "DecryptionFailure"])
def test_a_cursor_key_that_cannot_be_read_is_a_502_that_says_so(api: Any, code: str) -> None:
    seed(api, "cur-nokey-1", "cur-nokey-2")
    faults = FaultInjector(get_secrets_client())
    faults.fail("GetSecretValue", code)
    try:
        response = api.get("/api/v1/schedules", params={"limit": 1})
    finally:
        faults.clear()

    assert (response.status_code, response.json()) == (
        502,
        {
            "detail": f"the key of the listing cursors could not be read ({code}); see the scheduler function's log",
            "code": "upstream_error",
        },
    )


def test_a_throttled_key_read_is_a_429_to_retry(api: Any) -> None:
    seed(api, "cur-slow-1", "cur-slow-2")
    faults = FaultInjector(get_secrets_client())
    faults.fail("GetSecretValue", "ThrottlingException")
    try:
        response = api.get("/api/v1/schedules", params={"limit": 1})
    finally:
        faults.clear()
    again = api.get("/api/v1/schedules", params={"limit": 1})  # the failed read was not cached

    assert (response.status_code, response.json()["code"], response.headers["Retry-After"]) == (429, "throttled", "1")
    assert again.status_code == 200


def test_without_the_key_only_a_listing_that_pages_is_refused_and_the_log_says_why(
    api: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    seed(api, "cur-none-1", "cur-none-2")
    monkeypatch.delenv("CURSOR_SECRET_ID")
    get_settings.cache_clear()

    whole = api.get("/api/v1/schedules")
    paged = api.get("/api/v1/schedules", params={"limit": 1})

    assert whole.status_code == 200
    assert (paged.status_code, paged.json()["code"]) == (503, "service_unavailable")
    (logged,) = [r for r in caplog.records if r.getMessage() == "misconfigured"]
    assert "CURSOR_SECRET_ID is not set" in logged.reason  # type: ignore[attr-defined]


def test_the_local_cloud_creates_the_cursor_key_from_template_yaml(aws: Any) -> None:
    from localcloud.template import load_template

    generate = load_template()["Resources"]["CursorKeySecret"]["Properties"]["GenerateSecretString"]
    value = boto3.client("secretsmanager").get_secret_value(SecretId=aws.arns["CursorKeySecret"])["SecretString"]

    assert len(value) == generate["PasswordLength"] >= 32
    assert value.isalnum()  # ExcludePunctuation
