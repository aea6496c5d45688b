"""taskclient.webhooks: a receiver accepts a request signed by a key it knows, within the replay window, and
nothing else; its FastAPI dependency answers 401 otherwise and hands the route the idempotency key."""

from __future__ import annotations

import json
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from taskclient import webhooks
from taskclient.webhooks import Delivery, InvalidSignature, signed_delivery, verify_signature
from taskcore.outbound import delivery as sender
from taskcore.outbound.signing import signature_header

NOW = 1_796_000_000
BODY = b'{"payment_id":42}'
CURRENT, PREVIOUS = "k" * 64, "p" * 64


def signed(body: bytes = BODY, *keys: str, at: int = NOW) -> dict[str, str]:
    """The headers the action sends, signed with `keys` (as taskcore signs them)."""
    headers = {
        "X-Task-Id": "payment-reminder-42",
        "X-Task-Scheduled-Time": "2026-12-01T09:00:00Z",
        "X-Task-Attempt": "2",
        "Idempotency-Key": "occ_0123456789abcdef0123456789abcdef",
        "X-Task-Timestamp": str(at),
    }
    signing = tuple(key.encode() for key in keys or (CURRENT,))
    return headers | {"X-Task-Signature": signature_header(signing, headers, body)}


def test_the_right_secret_verifies_and_gives_the_tasks_headers() -> None:
    delivered = verify_signature(signed(), BODY, CURRENT, now=NOW + 10)

    assert delivered == Delivery(
        task_id="payment-reminder-42",
        idempotency_key="occ_0123456789abcdef0123456789abcdef",
        scheduled_time="2026-12-01T09:00:00Z",
        attempt=2,
        timestamp=NOW,
    )


def test_headers_are_read_whatever_their_case() -> None:
    lowered = {name.lower(): value for name, value in signed().items()}

    assert verify_signature(lowered, BODY, CURRENT, now=NOW).task_id == "payment-reminder-42"


def test_a_wrong_secret_is_refused() -> None:
    with pytest.raises(InvalidSignature, match="no signature matches a known key"):
        verify_signature(signed(), BODY, "not-the-key", now=NOW)


def test_a_tampered_body_is_refused() -> None:
    with pytest.raises(InvalidSignature, match="the body was changed"):
        verify_signature(signed(), b'{"payment_id":43}', CURRENT, now=NOW)


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("Idempotency-Key", "occ_ffffffffffffffffffffffffffffffff"),
        ("X-Task-Id", "payment-reminder-43"),
        ("X-Task-Scheduled-Time", "2026-12-02T09:00:00Z"),
        ("X-Task-Attempt", "3"),
    ],
)
def test_a_captured_request_replayed_with_another_task_header_is_refused(header: str, value: str) -> None:
    replayed = signed() | {header: value}

    with pytest.raises(InvalidSignature, match="no signature matches"):
        verify_signature(replayed, BODY, CURRENT, now=NOW)


@pytest.mark.parametrize("offset", [301, -301, 86_400])
def test_a_stale_or_future_timestamp_is_refused_even_with_a_good_signature(offset: int) -> None:
    with pytest.raises(InvalidSignature, match="more than 300 s: refused"):
        verify_signature(signed(), BODY, CURRENT, now=NOW + offset)


def test_the_tolerance_is_the_receivers_choice() -> None:
    assert verify_signature(signed(), BODY, CURRENT, now=NOW + 500, tolerance=600).timestamp == NOW


def test_a_forged_timestamp_breaks_the_signature() -> None:
    headers = signed(at=NOW - 3600) | {"X-Task-Timestamp": str(NOW)}

    with pytest.raises(InvalidSignature, match="no signature matches"):
        verify_signature(headers, BODY, CURRENT, now=NOW)


@pytest.mark.parametrize("missing", ["X-Task-Timestamp", "X-Task-Signature"])
def test_an_unsigned_request_is_refused(missing: str) -> None:
    headers = {k: v for k, v in signed().items() if k != missing}

    with pytest.raises(InvalidSignature, match="has no"):
        verify_signature(headers, BODY, CURRENT, now=NOW)


def test_during_a_rotation_the_sender_signs_with_both_keys_and_a_receiver_knowing_either_accepts() -> None:
    headers = signed(BODY, CURRENT, PREVIOUS)  # the secret holds {"current": ..., "previous": ...}

    assert verify_signature(headers, BODY, PREVIOUS, now=NOW).task_id == "payment-reminder-42"  # not yet updated
    assert verify_signature(headers, BODY, CURRENT, now=NOW).task_id == "payment-reminder-42"  # already updated


def test_a_receiver_accepts_the_new_and_the_old_key_while_it_rotates() -> None:
    rotated = json.dumps({"current": CURRENT, "previous": PREVIOUS})

    assert verify_signature(signed(BODY, PREVIOUS), BODY, rotated, now=NOW).attempt == 2
    assert verify_signature(signed(BODY, CURRENT), BODY, [CURRENT, PREVIOUS], now=NOW).attempt == 2
    with pytest.raises(InvalidSignature):
        verify_signature(signed(BODY, PREVIOUS), BODY, [CURRENT], now=NOW)  # the rotation is over


def test_no_secret_at_all_is_a_programming_error_not_a_refusal() -> None:
    with pytest.raises(ValueError, match="no signing secret given"):
        verify_signature(signed(), BODY, [], now=NOW)


def test_the_client_reads_the_header_names_the_action_sends() -> None:
    names = ("TASK_ID", "SCHEDULED_TIME", "ATTEMPT", "IDEMPOTENCY_KEY", "TIMESTAMP", "SIGNATURE")

    assert {name: getattr(webhooks, name) for name in names} == {name: getattr(sender, name) for name in names}


# The FastAPI dependency -------------------------------------------------------------------------------------


#: What the receiving app knows: asked on each request (a rotated secret takes effect without a restart).
RECEIVER_SECRETS = [CURRENT]
SignedDelivery = Annotated[Delivery, Depends(signed_delivery(lambda: RECEIVER_SECRETS))]
receiving_app = FastAPI()
seen: list[str] = []


@receiving_app.post("/hooks/reminder")
async def reminder(delivery: SignedDelivery, body: dict[str, Any]) -> dict[str, Any]:
    seen.append(delivery.idempotency_key)
    return {"task_id": delivery.task_id, "payment_id": body["payment_id"]}


def post(headers: dict[str, str]) -> Any:
    seen.clear()
    return TestClient(receiving_app).post(
        "/hooks/reminder", content=BODY, headers=headers | {"Content-Type": "application/json"}
    )


def test_the_fastapi_dependency_lets_a_signed_request_reach_the_route_with_its_idempotency_key() -> None:
    import time

    response = post(signed(BODY, CURRENT, at=int(time.time())))

    assert response.status_code == 200, response.text
    assert response.json() == {"task_id": "payment-reminder-42", "payment_id": 42}
    assert seen == ["occ_0123456789abcdef0123456789abcdef"]


def test_the_fastapi_dependency_answers_401_and_the_route_never_runs() -> None:
    import time

    response = post(signed(BODY, "someone-else", at=int(time.time())))

    assert response.status_code == 401
    assert "no signature matches a known key" in response.json()["detail"]
    assert seen == []
