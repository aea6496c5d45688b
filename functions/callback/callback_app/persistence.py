"""Powertools' DynamoDB persistence layer whose in-progress Put is the callback's start write (callback_app.start)."""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyValidationError,
)

from callback_app.backoff import retrying
from callback_app.errors import StartNotRecorded, TaskNotLive
from callback_app.start import Start, current_start
from taskcore.ledger import number_of, text_of

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

#: Tries of the start write before giving up (a wrong guess of the attempts, or a conflict, costs one).
MAX_WRITES = 10


class LedgerPersistenceLayer(DynamoDBPersistenceLayer):
    """Powertools' DynamoDB persistence layer whose in-progress Put also counts the attempt and checks the task."""

    def _put_record(self, data_record: DataRecord) -> None:
        start = current_start()
        if start is None:  # no ledger (or a call outside an attempt): Powertools' own Put
            retrying(super()._put_record, data_record)
            return
        put = self._in_progress_put(data_record)
        for write in range(MAX_WRITES):
            if write >= 2:  # concurrent writers of one task take turns
                time.sleep(secrets.randbelow(10 * 2 ** min(write, 5)) / 1000)
            try:
                client: Any = self.client  # the items are the low-level client's dicts, built above
                retrying(client.transact_write_items, TransactItems=start.transact_items(put))
            except self.client.exceptions.ClientError as exc:  # botocore's, as the client names it
                self._refused(exc, data_record, start)
                continue
            start.attempts = start.expected + 1
            return
        raise StartNotRecorded(f"the start write conflicted {MAX_WRITES} times ({', '.join(start.conflicts)})")

    def _update_record(self, data_record: DataRecord) -> None:
        """COMPLETED, and the run and the task recorded, in one transaction (the end write); Powertools' own
        UpdateItem when there is no ledger, or when the transaction is refused (the entry point then writes the
        ledger itself, as it does for every other ending)."""
        start = current_start()
        if start is None or start.end is None or start.attempts is None:
            retrying(super()._update_record, data_record)
            return
        import json

        stored = json.loads(data_record.response_data or "null")
        items = start.end(stored.get("result") if isinstance(stored, dict) else None)
        client: Any = self.client
        completed = {"Update": self._completed_update(data_record)}
        try:
            retrying(client.transact_write_items, TransactItems=[completed, *items])
        except client.exceptions.ClientError as exc:
            _learn_slot(exc, start)
            retrying(super()._update_record, data_record)  # the result is kept first; the ledger is written after
            return
        start.ended = True

    def _completed_update(self, data_record: DataRecord) -> dict[str, Any]:
        """The UpdateItem Powertools' own `_update_record` sends (no condition), as a transaction item."""
        names = {"#expiry": self.expiry_attr, "#response_data": self.data_attr, "#status": self.status_attr}
        values: dict[str, Any] = {
            ":expiry": {"N": str(data_record.expiry_timestamp)},
            ":response_data": {"S": data_record.response_data},
            ":status": {"S": data_record.status},
        }
        expression = "SET #response_data = :response_data, #expiry = :expiry, #status = :status"
        if self.payload_validation_enabled:
            expression += ", #validation_key = :validation_key"
            values[":validation_key"] = {"S": data_record.payload_hash}
            names["#validation_key"] = self.validation_key_attr
        return {
            "TableName": self.table_name,
            "Key": self._get_key(data_record.idempotency_key),
            "UpdateExpression": expression,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }

    def _in_progress_put(self, data_record: DataRecord) -> dict[str, Any]:
        """The Put Powertools' own `_put_record` sends: the same item, the same condition."""
        from aws_lambda_powertools.utilities.idempotency.persistence import dynamodb as powertools_dynamodb
        from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import STATUS_CONSTANTS

        item: dict[str, Any] = {
            **self._get_key(data_record.idempotency_key),
            self.expiry_attr: {"N": str(data_record.expiry_timestamp)},
            self.status_attr: {"S": data_record.status},
        }
        if data_record.in_progress_expiry_timestamp is not None:
            item[self.in_progress_expiry_attr] = {"N": str(data_record.in_progress_expiry_timestamp)}
        if self.payload_validation_enabled and data_record.payload_hash:
            item[self.validation_key_attr] = {"S": data_record.payload_hash}
        now = powertools_dynamodb.dt.datetime.now()  # type: ignore[attr-defined]  # Powertools' own clock
        return {
            "TableName": self.table_name,
            "Item": item,
            "ConditionExpression": (
                "attribute_not_exists(#id) OR #expiry < :now OR (#status = :inprogress"
                " AND attribute_exists(#in_progress_expiry) AND #in_progress_expiry < :now_in_millis)"
            ),
            "ExpressionAttributeNames": {
                "#id": self.key_attr,
                "#expiry": self.expiry_attr,
                "#in_progress_expiry": self.in_progress_expiry_attr,
                "#status": self.status_attr,
            },
            "ExpressionAttributeValues": {
                ":now": {"N": str(int(now.timestamp()))},
                ":now_in_millis": {"N": str(int(now.timestamp() * 1000))},
                ":inprogress": {"S": STATUS_CONSTANTS["INPROGRESS"]},
            },
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }

    def _refused(self, exc: Any, data_record: DataRecord, start: Start) -> None:
        """After a cancelled start write: raise what it means, or return to write again (`start.expected` fixed)."""
        if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
            raise exc
        put, run, task = [*(exc.response.get("CancellationReasons") or []), {}, {}, {}][:3]
        codes = [str(reason.get("Code")) for reason in (put, run, task)]
        start.conflicts.append("/".join(codes))
        if task.get("Code") == "ConditionalCheckFailed":
            item = task.get("Item") or {}
            raise TaskNotLive(text_of(item, "state") or "not live", text_of(item, "updated_at"))
        if put.get("Code") == "ConditionalCheckFailed":
            self._already_exists(put.get("Item"), data_record, exc)
        if run.get("Code") == "ConditionalCheckFailed":
            start.expected = number_of(run.get("Item") or {}, "attempts") or 0
            return
        if "TransactionConflict" not in codes:
            raise exc

    def _already_exists(self, item: dict[str, Any] | None, data_record: DataRecord, exc: Exception) -> None:
        """What Powertools' `_put_record` raises for a refused Put: the record as it is, validated and cached."""
        if not item:
            raise IdempotencyItemAlreadyExistsError() from exc
        old_data_record = self._item_to_data_record(item)
        try:
            self._validate_payload(data_payload=data_record, stored_data_record=old_data_record)
            self._save_to_cache(data_record=old_data_record)
        except IdempotencyValidationError as invalid:
            raise invalid from exc
        raise IdempotencyItemAlreadyExistsError(old_data_record=old_data_record) from exc


#: Where the STATE item's reason is in a refused end transaction's: [COMPLETED, run, TALLY, STATE, counter].
_END_STATE_POSITION = 3


def _learn_slot(exc: Any, start: Start) -> None:
    """After a refused end transaction: the quota slot the STATE item holds, when its condition refused the guess
    (so the ledger's own write that follows starts from the right one)."""
    reasons = exc.response.get("CancellationReasons") or []
    if len(reasons) > _END_STATE_POSITION and reasons[_END_STATE_POSITION].get("Code") == "ConditionalCheckFailed":
        start.quota = text_of(reasons[_END_STATE_POSITION].get("Item") or {}, "quota_key")


__all__ = ["MAX_WRITES", "LedgerPersistenceLayer"]
