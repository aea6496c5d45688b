"""process_payment: act on a payment when its deadline comes (expire it, or capture it)."""

from __future__ import annotations

from typing import Literal

from aws_lambda_powertools import Logger
from pydantic import BaseModel, ConfigDict

from taskcore import Identifier, TaskContext, action

logger = Logger(child=True)


class ProcessPaymentData(BaseModel):
    """Which payment, and what to do with it."""

    model_config = ConfigDict(extra="forbid")

    payment_id: Identifier
    operation: Literal["expire", "capture", "cancel"] = "expire"


@action("process_payment", ProcessPaymentData)
def process_payment(data: ProcessPaymentData, task: TaskContext) -> dict[str, str | int]:
    """Apply `operation` to the payment (example: call your payment provider here)."""
    logger.info("payment processed", extra={"operation": data.operation})
    return {"payment_id": data.payment_id, "operation": data.operation, "status": "done"}
