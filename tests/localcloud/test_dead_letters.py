"""The one ending of an event that failed for good, as Scheduler (the dispatcher) and Lambda say it.

Both services end the same way (`localcloud.queues.DeadLetterEnding`): sent to their queue, or dropped
when there is none or it does not exist; counted and logged either way. These pin each service's words
and counters, which the logs, `make dlq` and the stats rely on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from localcloud.delivery import DELIVERY_ENDING
from localcloud.lambda_async import INVOCATION_ENDING
from localcloud.queues import DeadLetterEnding, QueueNotFound, SqsSender
from localcloud.stats import DispatchStats

QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:SomeDLQ"
FIELDS = {"schedule": "pay-1", "attempts": 3, "condition": None}


class StubSender(SqsSender):
    """Records what is sent; `missing` makes every queue unknown."""

    def __init__(self, *, missing: bool = False) -> None:
        super().__init__(client=object())
        self.missing = missing
        self.sent: list[tuple[str, str, Mapping[str, str] | None]] = []

    def send(self, arn: str, body: str, attributes: Mapping[str, str] | None = None) -> str:
        if self.missing:
            raise QueueNotFound(f"no queue 'SomeDLQ' (from {arn})")
        self.sent.append((arn, body, attributes))
        return "message-1"


def end(
    ending: DeadLetterEnding, sender: StubSender, queue_arn: str | None
) -> tuple[DispatchStats, list[dict[str, Any]]]:
    stats = DispatchStats()
    lines: list[dict[str, Any]] = []
    ending.send(sender, queue_arn, "{}", {"ERROR_CODE": "X"}, stats=stats, log=lines.append, fields=FIELDS)
    return stats, lines


@pytest.mark.parametrize(
    ("ending", "message", "counter"),
    [
        (DELIVERY_ENDING, "delivery failed for good; sent to SomeDLQ (make dlq)", "deliveries_dead_lettered"),
        (
            INVOCATION_ENDING,
            "invocation failed for good; sent to SomeDLQ (make dlq / make redrive)",
            "invocations_dead_lettered",
        ),
    ],
    ids=["scheduler", "lambda"],
)
def test_a_letter_is_sent_to_its_queue_counted_and_logged(ending: DeadLetterEnding, message: str, counter: str) -> None:
    sender = StubSender()

    stats, (line,) = end(ending, sender, QUEUE_ARN)

    assert sender.sent == [(QUEUE_ARN, "{}", {"ERROR_CODE": "X"})]
    assert stats.counts == {counter: 1}
    assert (line["level"], line["message"], line["service"]) == ("ERROR", message, f"localcloud.{ending.component}")
    assert (line["schedule"], line["attempts"]) == ("pay-1", 3)
    assert "condition" not in line  # None fields are left out, as in every local cloud line


@pytest.mark.parametrize(
    ("ending", "message", "counter"),
    [
        (DELIVERY_ENDING, "delivery failed for good; no dead-letter queue", "deliveries_dropped"),
        (INVOCATION_ENDING, "invocation failed for good; no on-failure destination", "invocations_dropped"),
    ],
    ids=["scheduler", "lambda"],
)
def test_without_a_queue_the_letter_is_dropped_and_said(ending: DeadLetterEnding, message: str, counter: str) -> None:
    sender = StubSender()

    stats, (line,) = end(ending, sender, None)

    assert sender.sent == []
    assert stats.counts == {counter: 1}
    assert (line["level"], line["message"]) == ("ERROR", message)


@pytest.mark.parametrize(
    ("ending", "counter"),
    [(DELIVERY_ENDING, "deliveries_dropped"), (INVOCATION_ENDING, "invocations_dropped")],
    ids=["scheduler", "lambda"],
)
def test_a_queue_that_does_not_exist_drops_the_letter_and_names_it(ending: DeadLetterEnding, counter: str) -> None:
    stats, (line,) = end(ending, StubSender(missing=True), QUEUE_ARN)

    assert stats.counts == {counter: 1}
    assert line["message"] == f"{ending.failure}; no queue 'SomeDLQ' (from {QUEUE_ARN})"
