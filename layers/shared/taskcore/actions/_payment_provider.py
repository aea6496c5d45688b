"""A stand-in for a payment provider's API, idempotent as real ones are (Stripe, Adyen, ...): each request
carries an `Idempotency-Key`, and a key the provider has seen is answered with its first answer, unapplied.

process_payment hands it the occurrence's key (`TaskContext.idempotency_key`): an attempt killed by its
timeout, or whose result could not be recorded, runs again in full, and the payment is still applied once.
Replace it with your provider's client, keeping the key (docs/adding-an-action.md, "Exactly once").
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass
class PaymentProvider:
    """In memory: the operations applied, and the answer each idempotency key got."""

    applied: list[tuple[int | str, str]] = field(default_factory=list)
    _answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def post(self, payment_id: int | str, operation: str, *, headers: dict[str, str]) -> dict[str, Any]:
        """`POST /payments/{payment_id}/{operation}`; the request's `Idempotency-Key` header decides repeats."""
        key = headers["Idempotency-Key"]
        with self._lock:
            if key not in self._answers:
                self.applied.append((payment_id, operation))
                self._answers[key] = {"payment_id": payment_id, "operation": operation, "status": "done"}
            return dict(self._answers[key])


#: The container's provider client (a real one would be built once per container too).
provider = PaymentProvider()
