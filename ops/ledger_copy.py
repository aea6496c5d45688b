"""A failure record without its payload, redriven from the task ledger's copy of the request.

Lambda drops the payload of a failure record too large for its destination (SQS: 256 KiB), keeping
`requestContext.requestId`. The callback's start write keeps a pointer item from that request id to the
task's partition and the run (taskcore.ledger.request_pointer_item); the task's TASK item keeps the create request
(`data` included up to 64 KiB), its STATE item the schedule's ARN and the owner's quota slot (a TASK item of the
layout before issue 20 keeps all of it). From these, the event the schedule delivered is rebuilt as Scheduler builds
it (taskcore.proxy: the same Target.Input, the occurrence's scheduled time substituted), so the replay has the
same idempotency key as the lost delivery and never runs an occurrence that did complete; its `X-Task-Quota` is the
slot the task holds now (the callback checks it anyway).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from taskcore.envelope import TaskEnvelope
from taskcore.ledger import (
    DIRECT_OCCURRENCE,
    RUN_PREFIX,
    STATE_SK,
    TASK_SK,
    json_of,
    number_of,
    request_pointer_key,
    s,
    scope_of_pk,
    text_of,
)
from taskcore.proxy import build_target_input, delivered_event

__all__ = ["LedgerCopy", "NoLedgerCopy"]


class NoLedgerCopy(LookupError):
    """Raise when the ledger cannot give back the event of a request (no pointer, no task, data not kept)."""


@dataclass(frozen=True)
class LedgerCopy:
    """The task ledger (a low-level DynamoDB client and the table's name), as the redrive reads it."""

    client: Any
    table_name: str

    def event_of_request(self, request_id: str) -> dict[str, Any]:
        """The event the Lambda request `request_id` was invoked with, rebuilt; NoLedgerCopy when it cannot be."""
        pointer = self._get(request_pointer_key(request_id)) or {}
        pk, run = text_of(pointer, "task_pk"), text_of(pointer, "run_sk")
        if not pk or not run:
            raise NoLedgerCopy(f"no run recorded for Lambda request {request_id!r} (its pointer expired or never was)")
        task = self._get({"pk": s(pk), "sk": s(TASK_SK)}) or {}
        state = self._get({"pk": s(pk), "sk": s(STATE_SK)}) or task  # the layout before: one TASK item
        target_input = build_target_input(
            _envelope(pk, task),
            kind=text_of(pointer, "kind"),
            scope=scope_of_pk(pk),
            quota_slot=text_of(state, "quota_key"),
        )
        scheduled = run.removeprefix(RUN_PREFIX)
        if scheduled == DIRECT_OCCURRENCE:
            event: dict[str, Any] = json.loads(target_input)
            return event
        arn = text_of(state, "schedule_arn") or text_of(task, "schedule_arn") or ""
        return delivered_event(target_input, schedule_arn=arn, scheduled_time=datetime.fromisoformat(scheduled))

    def _get(self, key: dict[str, Any]) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self.client.get_item(TableName=self.table_name, Key=key, ConsistentRead=True).get(
            "Item"
        )
        return item


def _envelope(pk: str, task: dict[str, Any]) -> TaskEnvelope:
    """The task as its create request says it (the ledger's copy), whole; NoLedgerCopy when it is not kept whole."""
    request = json_of(task, "request")
    if not isinstance(request, dict):
        raise NoLedgerCopy(f"the ledger keeps no request for {pk!r}")
    if number_of(task, "data_bytes") is not None:
        raise NoLedgerCopy(f"the ledger keeps {pk!r} without its data (over 64 KiB): create the task again")
    return TaskEnvelope.model_construct(
        task_id=str(request.get("task_id") or ""),
        user_id=request.get("user_id") or "",
        action=str(request.get("action") or ""),
        data=request.get("data") or {},
    )
