"""The task ledger on DynamoDB (TaskLedgerTable): the real `TaskLedgerPort`, the only room that speaks boto3 for it.

taskcore.ledger holds the layout both functions share; this module turns the engine's records into
items and back.

- `claim`: one conditional PutItem creates the task item unless the id is taken; when it is, DynamoDB
  returns the item that holds it (`ReturnValuesOnConditionCheckFailure`), so a create costs one write
  and no read. An item whose `expiration` has passed no longer holds its id.
- `read`: one Query of the task's partition, newest first: the task item (`TASK` sorts after every
  `RUN#...`) and its latest runs.
- `runs`: a task's runs, newest first, a page at a time.
- `page`: one Query of an index per page: `ByOwner` for one owner's tasks, `ByUser` for one user's,
  `ByState` for one state.
- `put` / `set_state` / `forget`: the task item changed (PATCH, pause, resume, cancel) or removed (a
  create whose schedule could not be made).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from scheduler_app.errors import InvalidSchedule, SchedulerError, Throttled, UpstreamError
from scheduler_app.records import ListFilter, Page, Position, RunRecord, TaskRecord
from taskcore.due import due_keys
from taskcore.ledger import (
    BY_OWNER_INDEX,
    BY_STATE_INDEX,
    BY_USER_INDEX,
    LIVE_BY_OWNER_INDEX,
    RUN_PREFIX,
    TASK_SK,
    Expression,
    created_key,
    expired,
    flag_of,
    json_of,
    n,
    number_of,
    owner_key,
    s,
    scope_of_pk,
    state_key,
    task_pk,
    text_of,
    to_json,
    user_key,
)
from taskcore.states import FINAL_STATES, LIVE_STATES, TaskState, TimingKind, timestamp


def task_item(record: TaskRecord) -> dict[str, Any]:
    """The DynamoDB item of a task record."""
    kept = record.kept()
    item: dict[str, Any] = {
        "pk": s(task_pk(kept.task_id, kept.scope)),
        "sk": s(TASK_SK),
        "task_id": s(kept.task_id),
        "state": s(kept.state),
        "state_key": s(state_key(kept.state)),
        "kind": s(kept.kind),
        "expression": s(kept.expression),
        "timezone": s(kept.timezone),
        "created_at": s(kept.created_at),
        "created_key": s(created_key(kept.created_at, kept.task_id)),
        "updated_at": s(kept.updated_at),
        "run_count": n(kept.run_count),
        "user_id": s(to_json(kept.user_id)),
        "user_key": s(user_key(kept.user_id)),
    }
    optional: dict[str, Any] = {
        "fingerprint": kept.fingerprint,
        "action": kept.action,
        "start_at": kept.start_at,
        "end_at": kept.end_at,
        "schedule_arn": kept.schedule_arn,
        "owner": kept.owner,
    }
    item |= {name: s(value) for name, value in optional.items() if value is not None}
    if kept.owner is not None:  # the owner's indexes: all its tasks, and the live ones (its quota)
        item["owner_key"] = s(owner_key(kept.owner))
        if kept.state in LIVE_STATES:
            item["live_owner_key"] = s(owner_key(kept.owner))
    if kept.state in LIVE_STATES:  # the sweep's index (taskcore.due)
        recurring, window = kept.kind == TimingKind.RECURRING, (kept.request or {}).get("flexible_window_minutes")
        item |= due_keys(item["pk"]["S"], recurring, kept.expression, kept.timezone, kept.end_at, window)
    item |= _stored_request(kept)
    if kept.last_run is not None:
        item["last_run"] = s(to_json(kept.last_run))
    if kept.expiration is not None:
        item["expiration"] = n(kept.expiration)
    return item


def _stored_request(kept: TaskRecord) -> dict[str, Any]:
    """The request as kept: whole when its `data` fits, else without it (the schedule's Input keeps it)."""
    if kept.request is None:
        return {}
    stored = {"request": s(to_json(kept.request))}
    return stored if kept.data_bytes is None else stored | {"data_bytes": n(kept.data_bytes)}


def task_record(item: Mapping[str, Any]) -> TaskRecord:
    """The task record of a DynamoDB item (a table item, or an index's projection of one)."""
    request = json_of(item, "request")
    return TaskRecord(
        task_id=text_of(item, "task_id") or "",
        state=TaskState(text_of(item, "state") or TaskState.SCHEDULED),
        kind=TimingKind.RECURRING if text_of(item, "kind") == TimingKind.RECURRING else TimingKind.ONE_TIME,
        expression=text_of(item, "expression") or "",
        timezone=text_of(item, "timezone") or "UTC",
        created_at=text_of(item, "created_at") or "",
        updated_at=text_of(item, "updated_at") or "",
        fingerprint=text_of(item, "fingerprint"),
        user_id=json_of(item, "user_id"),
        action=text_of(item, "action") or None,
        request=request if isinstance(request, dict) else None,
        data_bytes=number_of(item, "data_bytes"),
        start_at=text_of(item, "start_at"),
        end_at=text_of(item, "end_at"),
        schedule_arn=text_of(item, "schedule_arn"),
        owner=text_of(item, "owner"),
        run_count=number_of(item, "run_count") or 0,
        last_run=json_of(item, "last_run"),
        expiration=number_of(item, "expiration"),
        scope=scope_of_pk(text_of(item, "pk") or ""),
        reason=text_of(item, "reason"),
    )


def run_record(item: Mapping[str, Any]) -> RunRecord:
    """The run record of a DynamoDB run item (as the callback writes it)."""
    duration = item.get("duration_ms", {}).get("N")
    return RunRecord(
        scheduled_time=text_of(item, "scheduled_time"),
        attempts=number_of(item, "attempts") or 0,
        outcome=text_of(item, "outcome"),
        status_code=number_of(item, "status_code"),
        first_started_at=text_of(item, "first_started_at"),
        last_started_at=text_of(item, "last_started_at"),
        finished_at=text_of(item, "finished_at"),
        duration_ms=float(duration) if duration is not None else None,
        final=flag_of(item, "final"),
        replays=number_of(item, "replays") or 0,
        result=json_of(item, "result"),
        result_bytes=number_of(item, "result_bytes"),
        result_preview=text_of(item, "result_preview"),
        error_type=text_of(item, "error_type"),
        error_message=text_of(item, "error_message"),
        status=text_of(item, "status"),
    )


class DynamoDBLedger:
    """The ledger table, for the scheduler API (a `TaskLedgerPort`)."""

    def __init__(self, client: Any, table_name: str, *, retention_seconds: int, retry_after_seconds: int = 1) -> None:
        self.client = client
        self.table_name = table_name
        self.retention_seconds = retention_seconds
        self.retry_after_seconds = retry_after_seconds

    # -- writes -------------------------------------------------------------------------------------------------------

    def claim(self, record: TaskRecord, now: datetime) -> TaskRecord | None:
        """Create the task item; None when created, else the live record that holds the id (nothing written)."""
        from botocore.exceptions import ClientError

        try:
            self._call(
                "put_item",
                TableName=self.table_name,
                Item=task_item(record),
                ConditionExpression="attribute_not_exists(pk) OR #expiration <= :now",  # as `expired` reads it
                ExpressionAttributeNames={"#expiration": "expiration"},
                ExpressionAttributeValues={":now": n(int(now.timestamp()))},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
                reraise=(ClientError,),
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise _unavailable("PutItem", exc, self.retry_after_seconds) from None
            held: Mapping[str, Any] = exc.response.get("Item") or {}  # type: ignore[assignment]  # botocore's TypedDict
            return task_record(held)
        return None

    def put(self, record: TaskRecord) -> None:
        """Write the task item as it is now (PATCH: the new request; the counters the callback keeps stay)."""
        update = Expression()
        item = task_item(record)
        for name, value in item.items():
            if name in ("created_at", "created_key"):
                update.set_default(name, value)
            elif name not in ("pk", "sk", "run_count", "last_run", "owner", "owner_key", "live_owner_key"):
                update.set(name, value)  # (a task keeps its owner: a PATCH by an admin does not take it)
        for optional in ("start_at", "end_at", "action", "schedule_arn", "data_bytes"):
            if optional not in item:  # what the new request no longer has (`{"end_at": null}`, cron -> run_at)
                update.remove(optional)
        self._update(record.task_id, update, scope=record.scope)

    def set_state(
        self, task_id: str, state: TaskState, now: datetime, *, scope: str | None = None, reason: str | None = None
    ) -> None:
        """Change the task's state (pause, resume, cancel); a final state starts its retention."""
        update = Expression().set("state", s(state)).set("state_key", s(state_key(state)))
        update.set("updated_at", s(timestamp(now)))
        if reason is not None:
            update.set("reason", s(reason))
        if state in FINAL_STATES:
            update.set("expiration", n(int(now.timestamp()) + self.retention_seconds))
            update.remove("live_owner_key").remove("due_shard").remove("due_at")  # off the quota and the sweep
        else:
            update.remove("expiration")
        self._update(task_id, update, scope=scope)

    def forget(self, task_id: str, fingerprint: str, *, scope: str | None = None) -> None:
        """Remove a task item this request claimed (its schedule could not be made), unless another request's."""
        from botocore.exceptions import ClientError

        try:
            self._call(
                "delete_item",
                TableName=self.table_name,
                Key=_task_key(task_id, scope),
                ConditionExpression="#fingerprint = :fingerprint",
                ExpressionAttributeNames={"#fingerprint": "fingerprint"},
                ExpressionAttributeValues={":fingerprint": s(fingerprint)},
                reraise=(ClientError,),
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise _unavailable("DeleteItem", exc, self.retry_after_seconds) from None

    def _update(self, task_id: str, update: Expression, *, scope: str | None) -> None:
        self._call(
            "update_item",
            TableName=self.table_name,
            Key=_task_key(task_id, scope),
            UpdateExpression=update.update(),
            **update.placeholders(),
        )

    # -- reads --------------------------------------------------------------------------------------------------------

    def read(
        self, task_id: str, *, runs: int, now: datetime, scope: str | None = None
    ) -> tuple[TaskRecord | None, list[RunRecord]]:
        """The task (in `scope`'s namespace) and its `runs` latest runs, in one Query (strongly consistent)."""
        response = self._call(
            "query",
            TableName=self.table_name,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": s(task_pk(task_id, scope))},
            ScanIndexForward=False,
            Limit=1 + runs,
            ConsistentRead=True,
        )
        items = [item for item in response.get("Items", []) if not expired(item, int(now.timestamp()))]
        task = next((task_record(i) for i in items if text_of(i, "sk") == TASK_SK), None)
        found = [run_record(i) for i in items if (text_of(i, "sk") or "").startswith(RUN_PREFIX)]
        return task, found[:runs]

    def runs(
        self, task_id: str, *, limit: int, start: Position | None, now: datetime, scope: str | None = None
    ) -> Page:
        """A page of the task's runs (RunRecord), newest first."""
        params: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :run)",
            "ExpressionAttributeValues": {":pk": s(task_pk(task_id, scope)), ":run": s(RUN_PREFIX)},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if start is not None:
            params["ExclusiveStartKey"] = start
        response = self._call("query", **params)
        items = [item for item in response.get("Items", []) if not expired(item, int(now.timestamp()))]
        return Page([run_record(i) for i in items], response.get("LastEvaluatedKey"))

    def page(self, wanted: ListFilter, *, limit: int, start: Position | None, now: datetime) -> Page:
        """One page of tasks (TaskRecord), newest first: one Query of `ByUser` (a user) or `ByState` (a state)."""
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        if wanted.owner is not None:
            index, key, partition = BY_OWNER_INDEX, "owner_key", owner_key(wanted.owner)
        elif wanted.user_id is not None:
            index, key, partition = BY_USER_INDEX, "user_key", user_key(wanted.user_id)
        elif wanted.state is not None:
            index, key, partition = BY_STATE_INDEX, "state_key", state_key(wanted.state)
        else:
            raise InvalidSchedule("a listing names a user_id or a status")
        names["#key"] = key
        values[":partition"] = s(partition)
        filters = _filters(wanted, names, values, skip_state=index == BY_STATE_INDEX, by_owner=index == BY_OWNER_INDEX)
        values[":now"] = n(int(now.timestamp()))
        names["#expiration"] = "expiration"
        filters.append("(attribute_not_exists(#expiration) OR #expiration > :now)")
        params: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": index,
            "KeyConditionExpression": "#key = :partition",
            "FilterExpression": " AND ".join(filters),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if start is not None:
            params["ExclusiveStartKey"] = start
        response = self._call("query", **params)
        return Page([task_record(item) for item in response.get("Items", [])], response.get("LastEvaluatedKey"))

    def count_live(self, owner: str, *, up_to: int) -> int:
        """How many live tasks (scheduled or paused) `owner` has, counting at most `up_to`.

        A Query of the sparse, keys-only `LiveByOwner` index (`Select=COUNT`): it reads only the
        owner's live tasks' keys, never the table, and stops at `up_to`.
        """
        counted, start = 0, None
        while counted < up_to:
            params: dict[str, Any] = {
                "TableName": self.table_name,
                "IndexName": LIVE_BY_OWNER_INDEX,
                "KeyConditionExpression": "live_owner_key = :owner",
                "ExpressionAttributeValues": {":owner": s(owner_key(owner))},
                "Select": "COUNT",
                "Limit": up_to - counted,
            }
            if start is not None:
                params["ExclusiveStartKey"] = start
            response = self._call("query", **params)
            counted += int(response.get("Count", 0))
            start = response.get("LastEvaluatedKey")
            if start is None:
                break
        return counted

    def _call(self, operation: str, *, reraise: tuple[type[Exception], ...] = (), **params: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, operation)(**params)
        except reraise:
            raise
        except ClientError as exc:
            raise _unavailable(_operation(operation), exc, self.retry_after_seconds) from None
        except BotoCoreError as exc:
            raise UpstreamError(f"the task ledger is unreachable ({type(exc).__name__}); retry") from None


def _filters(
    wanted: ListFilter, names: dict[str, str], values: dict[str, Any], *, skip_state: bool, by_owner: bool
) -> list[str]:
    filters: list[str] = []
    if by_owner and wanted.user_id is not None:
        names["#user_key"] = "user_key"
        values[":user_key"] = s(user_key(wanted.user_id))
        filters.append("#user_key = :user_key")
    if wanted.state is not None and not skip_state:
        names["#state"] = "state"
        values[":state"] = s(wanted.state)
        filters.append("#state = :state")
    if wanted.action is not None:
        names["#action"] = "action"
        values[":action"] = s(wanted.action)
        filters.append("#action = :action")
    if wanted.prefix is not None:
        names["#task_id"] = "task_id"
        values[":prefix"] = s(wanted.prefix)
        filters.append("begins_with(#task_id, :prefix)")
    return filters


def _task_key(task_id: str, scope: str | None) -> dict[str, Any]:
    return {"pk": s(task_pk(task_id, scope)), "sk": s(TASK_SK)}


#: DynamoDB's words for "too many requests": answered 429 with Retry-After, as the scheduler's own throttling.
THROTTLING_CODES = frozenset({"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"})


def _unavailable(operation: str, exc: Any, retry_after_seconds: int) -> SchedulerError:
    """A ledger failure in AWS's terms (its error code, never its message, which can name the account)."""
    code = exc.response.get("Error", {}).get("Code", "error")
    if code in THROTTLING_CODES:
        return Throttled(
            f"the task ledger is throttling {operation} ({code}); retry later", retry_after_seconds=retry_after_seconds
        )
    return UpstreamError(f"the task ledger failed {operation} ({code}); retry later")


def _operation(method: str) -> str:
    return "".join(part.capitalize() for part in method.split("_"))
