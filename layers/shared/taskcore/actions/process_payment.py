"""process_payment: act on a payment when its deadline comes (expire it, or capture it)."""

from __future__ import annotations

from typing import Literal

from aws_lambda_powertools import Logger
from pydantic import BaseModel, ConfigDict

from taskcore import Identifier, TaskContext, action

from ._payment_provider import provider

logger = Logger(child=True)


class ProcessPaymentData(BaseModel):
    """Which payment, and what to do with it."""

    model_config = ConfigDict(extra="forbid")

    payment_id: Identifier
    operation: Literal["expire", "capture", "cancel"] = "expire"


@action("process_payment", ProcessPaymentData)
def process_payment(data: ProcessPaymentData, task: TaskContext) -> dict[str, str | int]:
    """Apply `operation` to the payment, once per occurrence however often this runs (the provider dedupes on
    the occurrence's idempotency key; replace the stand-in with your provider's client)."""
    key = task.idempotency_key or f"{task.task_id}:{task.scheduled_time}"  # a direct call without a key
    answer = provider.post(data.payment_id, data.operation, headers={"Idempotency-Key": key})
    logger.info("payment processed", extra={"operation": data.operation})
    return {"payment_id": answer["payment_id"], "operation": answer["operation"], "status": answer["status"]}
