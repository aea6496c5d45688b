"""A dead-lettered delivery keeps its payload whole when it fits one SQS message (1 MiB, SQS's maximum and its
default MaximumMessageSize since 2025), and is truncated to fit, flagged IS_PAYLOAD_TRUNCATED, only beyond it."""

from __future__ import annotations

import json

from taskcore.limits import LAMBDA_ASYNC_PAYLOAD_BYTES, SQS_MAX_MESSAGE_BYTES
from tests.localcloud.helpers import Invocations, MakeHarness, attributes, create_schedule, queue_messages, utc

MISSING = "arn:aws:lambda:us-east-1:123456789012:function:NoSuchFunction"


def padded_input(size: int) -> str:
    """A JSON Target.Input of exactly `size` bytes."""
    text = json.dumps({"pad": ""})
    return json.dumps({"pad": "x" * (size - len(text))})


def test_a_dead_lettered_payload_of_600_kb_is_kept_whole(make_harness: MakeHarness) -> None:
    h = make_harness(start=utc(2026, 12, 1, 8, 59, 50), handler=Invocations())
    payload = padded_input(600_000)  # over SQS's old 256 KiB default, within its 1 MiB
    at = "at(2026-12-01T09:00:00)"
    create_schedule(h.scheduler, h.resources, "big-1", at, target_arn=MISSING, input_text=payload)

    h.run_until(utc(2026, 12, 1, 9, 1))

    (message,) = queue_messages(h.sqs, h.queue_url("ScheduleDeliveryDLQ"))
    assert attributes(message)["IS_PAYLOAD_TRUNCATED"] == "false"
    assert message["Body"] == payload


def test_an_event_over_lambdas_limit_is_dead_lettered_truncated_to_one_sqs_message(make_harness: MakeHarness) -> None:
    calls = Invocations()
    h = make_harness(start=utc(2026, 12, 1, 8, 59, 50), handler=calls)
    payload = padded_input(LAMBDA_ASYNC_PAYLOAD_BYTES + 50_000)
    create_schedule(h.scheduler, h.resources, "big-2", "at(2026-12-01T09:00:00)", input_text=payload)

    h.run_until(utc(2026, 12, 1, 9, 1))

    assert calls.events == []
    (message,) = queue_messages(h.sqs, h.queue_url("ScheduleDeliveryDLQ"))
    attrs = attributes(message)
    assert attrs["ERROR_CODE"] == "RequestEntityTooLargeException"
    assert attrs["IS_PAYLOAD_TRUNCATED"] == "true"
    assert SQS_MAX_MESSAGE_BYTES - 16_384 < len(message["Body"].encode()) < SQS_MAX_MESSAGE_BYTES
    assert payload.startswith(message["Body"])
