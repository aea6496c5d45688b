"""An occurrence Lambda gave up on whose action had succeeded: what the recorder reads before it records a failure.

The action's result is stored (Powertools' idempotency record, COMPLETED) before the run is recorded in the ledger.
When every ledger write of the occurrence is refused after that (its partition key throttled until Lambda's retries
run out), Lambda's failure record says the invocation failed although the action's effect happened. So, before it
records a failure, the recorder reads the occurrence's idempotency record, under the key Powertools computes for it
(its own `get_record`, with the callback's key prefix and payload, callback_app.service), and when the record is
COMPLETED it records the run `succeeded` with the stored result, as the callback's end write would have
(callback_app.ledger.RunLedger, the same items), instead of `failed`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from callback_app.backoff import retrying
from callback_app.endings import Ending
from callback_app.ledger import Attempt, RunLedger
from taskcore.ledger import TASK_PREFIX, number_of, s, scope_of_pk, text_of
from taskcore.proxy import SCHEDULED_TIME_HEADER, TASK_SCOPE_HEADER, SchedulerContext
from taskcore.states import RunOutcome

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

#: The status of a record whose action returned and whose result is stored (Powertools' STATUS_CONSTANTS).
COMPLETED = "COMPLETED"


def idempotency_store(client: Any, table_name: str) -> DynamoDBPersistenceLayer:
    """A reader of the callback's idempotency records: Powertools' layer, configured as the callback's own is."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig

    from callback_app.service import KEY_PREFIX

    store = DynamoDBPersistenceLayer(table_name=table_name, boto3_client=client)
    store.configure(IdempotencyConfig(), key_prefix=KEY_PREFIX)
    return store


def occurrence_of_ending(ending: Ending) -> dict[str, str | None]:
    """The idempotency payload of the ending's occurrence, as the callback built it (callback_app.service)."""
    from callback_app.service import occurrence_of

    scope = scope_of_pk(ending.pk)
    task_id = ending.pk.removeprefix(TASK_PREFIX).removeprefix(f"{scope}#" if scope else "")
    headers = {SCHEDULED_TIME_HEADER: ending.scheduled_time or "", TASK_SCOPE_HEADER: scope or ""}
    return occurrence_of(task_id, SchedulerContext.from_headers(headers))


def stored_result(store: DynamoDBPersistenceLayer, ending: Ending) -> dict[str, Any] | None:
    """What the occurrence's action returned, as Powertools stored it, when its record is COMPLETED; else None."""
    from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyItemNotFoundError

    try:
        record = store.get_record(occurrence_of_ending(ending))
    except IdempotencyItemNotFoundError:
        return None
    if record is None or record.status != COMPLETED:
        return None
    stored = record.response_json_as_dict()
    return stored if isinstance(stored, dict) else {}


def record_success(ledger: RunLedger, ending: Ending, stored: dict[str, Any]) -> int:
    """Record the occurrence `succeeded` with its stored result on its run and task (unless its run says so already,
    which a second write would count twice); the run's attempts."""
    run = retrying(
        ledger.client.get_item,
        TableName=ledger.table_name,
        Key={"pk": s(ending.pk), "sk": s(ending.run_sk)},
        ConsistentRead=True,
    ).get("Item", {})
    attempts = number_of(run, "attempts") or None  # counted by the start write that stored the result
    if text_of(run, "outcome") == RunOutcome.SUCCEEDED:  # the callback recorded it after all (a duplicate's record)
        return attempts or 0
    scope = scope_of_pk(ending.pk)
    attempt = Attempt(
        task_id=ending.pk.removeprefix(TASK_PREFIX).removeprefix(f"{scope}#" if scope else ""),
        action=stored.get("action") if isinstance(stored.get("action"), str) else None,
        user_id=None,
        kind=ending.kind,
        scheduled_time=ending.scheduled_time,
        scheduler_attempt=None,
        started_at=_moment(text_of(run, "last_started_at"), ending.at),
        finished_at=_moment(stored.get("completed_at"), ending.at),
        outcome=RunOutcome.SUCCEEDED,
        status_code=200,
        result=stored.get("result"),
        scope=scope,
        counted=attempts,
        final=True,
    )
    return ledger.record(attempt).attempts


def _moment(text: Any, default: datetime) -> datetime:
    """An ISO timestamp (`Z` or an offset) as an aware datetime; `default` when there is none."""
    if not isinstance(text, str):
        return default
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return default
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


__all__ = ["COMPLETED", "idempotency_store", "occurrence_of_ending", "record_success", "stored_result"]
