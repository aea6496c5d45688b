"""The task ledger's layout, shared by the two functions that write it: keys, shards, bounded values.

The ledger is one DynamoDB table (`TaskLedgerTable`) with one partition per task, three items describing the task
and one per occurrence (docs/architecture.md, "The task ledger", draws it and gives the arithmetic):

    pk = "TASK#<task_id>"   sk = "TASK"                     the request as written (create, PATCH): up to 64 KiB of data
                            sk = "TALLY"                    what a run changes: run count, last run (small)
                            sk = "STATE"                    the listing row: state, timing, owner, the index keys,
                                                            the owner's quota slot (small)
                            sk = "RUN#<scheduled time>"     one item per occurrence: attempts, outcome, result, error
                            sk = "RUN#direct"               the occurrence of an invocation without a scheduled time

so one Query (newest first: TASK, TALLY, STATE, then the runs) reads a task and its latest runs, a run writes
only small items whatever the task's data, and a run of a recurring task rewrites no index entry (the indexes
are on STATE, whose projected attributes a run does not change). Items written by the layout before this one
(one `TASK` item holding everything) still read: the STATE and TALLY attributes are then read from the TASK item
(`make migrate-ledger` rewrites them into this layout; docs/operating.md).

Under `Isolation=owner` each owner has its own task ids: its tasks' partitions are `TASK#<scope>#<task_id>`,
the scope derived from the owner (scheduler_app.namespaces), and the schedule's event carries the scope
(`X-Task-Scope`) so that the callback writes to the same partition. A task id has no `#`, so the two forms
never meet.

Sparse global secondary indexes hold only STATE items, newest first: `ByUser` (`user_key`, `created_key`),
`ByState` (`state_key`, `created_key`) and `ByOwner` (`owner_key`, `created_key`). A key that a whole
population shares is sharded: `STATE#<state>#<shard>` and `OWNER#<owner>#<shard>`, INDEX_SHARDS of each, the
shard a hash of the task's partition, so no key takes more than 1/INDEX_SHARDS of a burst; a listing reads
the shards and merges them (scheduler_app.adapters.listing). A user's key is one user's tasks: not sharded.
Values that come from the user (`data`, `user_id`, an action's result) are stored as JSON text, so every JSON
value round-trips exactly (DynamoDB numbers would turn 1.5 into Decimal and refuse NaN; its maps stop at 32
levels of nesting).

The scheduler writes TASK and STATE (scheduler_app.adapters.dynamodb_ledger), the callback writes runs, the
TALLY and a STATE that a run ends (callback_app.ledger). The owner's quota is counted in counter items
(taskcore.quota) in the same transactions.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from taskcore.states import FINAL_STATES, LIVE_STATES, TaskState

TASK_PREFIX = "TASK#"
TASK_SK = "TASK"
#: The small items beside it: the listing row and index keys (STATE), and what runs change (TALLY).
STATE_SK = "STATE"
TALLY_SK = "TALLY"
RUN_PREFIX = "RUN#"
DIRECT_OCCURRENCE = "direct"

BY_USER_INDEX = "ByUser"
BY_STATE_INDEX = "ByState"
#: An owner's tasks (`owner_key`).
BY_OWNER_INDEX = "ByOwner"
#: How many partition key values an owner's tasks, and the tasks in one state, are spread over
#: (docs/architecture.md: 5,000 creates/s and 10,000 runs/s from one owner stay under 1,000 writes/s a key).
INDEX_SHARDS = 32

# A task's state (taskcore.states names them). `scheduled` and `paused` have a schedule; the others are
# final and expire with the retention period. (`ended` is also derived when read, until the sweep stores it.)
SCHEDULED = TaskState.SCHEDULED
PAUSED = TaskState.PAUSED
SUCCEEDED = TaskState.SUCCEEDED
FAILED = TaskState.FAILED
MISSED = TaskState.MISSED
REJECTED = TaskState.REJECTED
CANCELLED = TaskState.CANCELLED
ENDED = TaskState.ENDED
#: What a state filter can name: the stored states.
STATES = (*LIVE_STATES, *FINAL_STATES)

#: What a listing row shows of a STATE item: the attributes the three indexes project (template.yaml must match).
#: `run_count` and `last_run` are projected too but live on the TALLY item (a run does not rewrite an index entry):
#: a listing reads them with one BatchGetItem per page.
LISTED_ATTRIBUTES = (
    "task_id",
    "user_id",
    "user_key",
    "action",
    "kind",
    "expression",
    "timezone",
    "start_at",
    "end_at",
    "state",
    "schedule_arn",
    "owner",
    "created_at",
    "updated_at",
    "run_count",
    "last_run",
    "expiration",
)

# A run's outcome (the callback's outcome line says the same, plus `duplicate` for a replay).
OUTCOMES = (SUCCEEDED, FAILED, REJECTED)

#: The largest `data` (as JSON text) a task item keeps; a larger one stays in the schedule's Input only.
MAX_STORED_DATA_BYTES = 65_536
#: The largest action result (as JSON text) a run item keeps; a larger one is cut to a preview.
MAX_STORED_RESULT_BYTES = 16_384
#: How much of a result that is too large is kept, as text.
RESULT_PREVIEW_BYTES = 1_024
#: An error message is kept to this many characters (already redacted by the callback).
MAX_ERROR_CHARACTERS = 500


#: An owner's scope, as the scheduler API derives it from the owner's principal: 16 of base32's alphabet.
SCOPE_PATTERN = r"^[a-z2-7]{16}$"


def task_pk(task_id: str, scope: str | None = None) -> str:
    """The partition of a task and its runs: in the shared namespace, or (`scope`) in its owner's."""
    return f"{TASK_PREFIX}{scope}#{task_id}" if scope else f"{TASK_PREFIX}{task_id}"


def scope_of_pk(pk: str) -> str | None:
    """The owner scope a task's partition key names (None: the shared namespace)."""
    rest = pk.removeprefix(TASK_PREFIX)
    return rest.split("#", 1)[0] if "#" in rest else None


def run_sk(scheduled_time: str | None) -> str:
    """The sort key of an occurrence's run: its scheduled time (`2026-12-01T09:00:00Z`), or `direct`."""
    return f"{RUN_PREFIX}{scheduled_time or DIRECT_OCCURRENCE}"


def user_key(user_id: Any) -> str:
    """`ByUser`'s partition: the user id as text, so 456 and "456" are one user."""
    return f"USER#{user_id}"


def index_shard(pk: str) -> int:
    """The index shard of a task's partition: a stable hash, so a task always lands on the same one."""
    digest = hashlib.sha256(pk.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % INDEX_SHARDS


def owner_key(owner: str, shard: int) -> str:
    """`ByOwner`'s partition: the owner's IAM principal and the task's shard."""
    return f"OWNER#{owner}#{shard}"


def state_key(state: str, shard: int) -> str:
    """`ByState`'s partition: the state and the task's shard."""
    return f"STATE#{state}#{shard}"


def owner_keys(owner: str) -> list[str]:
    """Every shard of an owner's tasks, in order (what an owner's listing reads)."""
    return [owner_key(owner, shard) for shard in range(INDEX_SHARDS)]


def state_keys(state: str) -> list[str]:
    """Every shard of a state's tasks, in order."""
    return [state_key(state, shard) for shard in range(INDEX_SHARDS)]


def created_key(created_at: str, task_id: str, scope: str | None = None) -> str:
    """The indexes' sort key: creation time, then the task's address (unique, and newest first when read backwards).

    Under `Isolation=owner` two owners' tasks may share an id: the scope keeps their keys apart, so a listing's
    cursor (`before` one key) never cuts between two entries with the same key.
    """
    return f"{created_at}#{scope}#{task_id}" if scope else f"{created_at}#{task_id}"


def to_json(value: Any) -> str:
    """Compact JSON text, non-ASCII kept as is."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


@dataclass(frozen=True)
class Bounded:
    """A JSON value as stored: its text when it fits, else a preview; and its full size in bytes."""

    text: str | None
    size: int
    preview: str | None = None

    @property
    def truncated(self) -> bool:
        return self.text is None


def bounded(value: Any, limit: int, *, preview: int = 0) -> Bounded:
    """`value` as JSON text if it takes at most `limit` bytes; otherwise the first `preview` bytes of it."""
    text = to_json(value)
    size = len(text.encode("utf-8"))
    if size <= limit:
        return Bounded(text, size)
    cut = text.encode("utf-8")[:preview].decode("utf-8", "ignore") if preview else None
    return Bounded(None, size, cut)


# -- DynamoDB attribute values (the low-level client's format) ------------------------------------------------------


def s(value: str) -> dict[str, str]:
    return {"S": value}


def n(value: int | float) -> dict[str, str]:
    return {"N": str(value)}


def text_of(item: Mapping[str, Any], name: str) -> str | None:
    """A string attribute, or None."""
    value = item.get(name)
    return str(value["S"]) if isinstance(value, Mapping) and "S" in value else None


def number_of(item: Mapping[str, Any], name: str) -> int | None:
    """A number attribute as an int, or None."""
    value = item.get(name)
    return int(float(value["N"])) if isinstance(value, Mapping) and "N" in value else None


def json_of(item: Mapping[str, Any], name: str) -> Any:
    """A JSON-text attribute, decoded; None when absent."""
    text = text_of(item, name)
    return None if text is None else json.loads(text)


def flag_of(item: Mapping[str, Any], name: str) -> bool:
    value = item.get(name)
    return bool(value.get("BOOL")) if isinstance(value, Mapping) else False


class Expression:
    """An update or condition expression with every name and value as a placeholder.

    DynamoDB reserves hundreds of words (`action`, `state`, `data`, `final`, `duration`...); naming
    every attribute `#name` means none of them ever collides.
    """

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, Any] = {}
        self._sets: list[str] = []
        self._adds: list[str] = []
        self._removes: list[str] = []

    def name(self, attribute: str) -> str:
        placeholder = f"#{attribute}"
        self.names[placeholder] = attribute
        return placeholder

    def value(self, value: Any) -> str:
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = value
        return placeholder

    def set(self, attribute: str, value: Any) -> Expression:
        self._sets.append(f"{self.name(attribute)} = {self.value(value)}")
        return self

    def set_default(self, attribute: str, value: Any) -> Expression:
        """Set only when the item has no such attribute yet."""
        placeholder = self.name(attribute)
        self._sets.append(f"{placeholder} = if_not_exists({placeholder}, {self.value(value)})")
        return self

    def add(self, attribute: str, amount: int) -> Expression:
        self._adds.append(f"{self.name(attribute)} {self.value(n(amount))}")
        return self

    def remove(self, attribute: str) -> Expression:
        self._removes.append(self.name(attribute))
        return self

    def update(self) -> str:
        parts = [
            f"{verb} {', '.join(clauses)}"
            for verb, clauses in (("SET", self._sets), ("ADD", self._adds), ("REMOVE", self._removes))
            if clauses
        ]
        return " ".join(parts)

    def placeholders(self) -> dict[str, Any]:
        """`ExpressionAttributeNames` and, when there are any, `ExpressionAttributeValues`."""
        found: dict[str, Any] = {"ExpressionAttributeNames": self.names}
        if self.values:
            found["ExpressionAttributeValues"] = self.values
        return found


def expired(item: Mapping[str, Any], now_epoch: int) -> bool:
    """Whether the item's `expiration` has passed: TTL deletes it within days, so reads skip it meanwhile."""
    expiration = number_of(item, "expiration")
    return expiration is not None and expiration <= now_epoch


__all__ = [
    "BY_OWNER_INDEX",
    "BY_STATE_INDEX",
    "BY_USER_INDEX",
    "CANCELLED",
    "DIRECT_OCCURRENCE",
    "ENDED",
    "FAILED",
    "FINAL_STATES",
    "INDEX_SHARDS",
    "LISTED_ATTRIBUTES",
    "LIVE_STATES",
    "MAX_ERROR_CHARACTERS",
    "MAX_STORED_DATA_BYTES",
    "MAX_STORED_RESULT_BYTES",
    "MISSED",
    "OUTCOMES",
    "PAUSED",
    "REJECTED",
    "REQUEST_PREFIX",
    "REQUEST_SK",
    "RESULT_PREVIEW_BYTES",
    "RUN_PREFIX",
    "SCHEDULED",
    "SCOPE_PATTERN",
    "STATES",
    "STATE_SK",
    "SUCCEEDED",
    "TALLY_SK",
    "TASK_SK",
    "Bounded",
    "Expression",
    "bounded",
    "created_key",
    "expired",
    "flag_of",
    "index_shard",
    "json_of",
    "n",
    "number_of",
    "owner_key",
    "owner_keys",
    "request_pointer_item",
    "request_pointer_key",
    "run_sk",
    "s",
    "scope_of_pk",
    "state_key",
    "state_keys",
    "task_pk",
    "text_of",
    "to_json",
    "user_key",
]


# -- The request pointer: from Lambda's request id to the run it invoked ---------------------------------------------

#: A small item per Lambda request (`REQUEST#<aws_request_id>`, sk `REQUEST`) naming the task partition and the run
#: that request invoked, with an expiry: a failure record whose payload Lambda dropped (too large for the
#: destination) still says `requestContext.requestId`, and the recorder and `make redrive` find the run through it.
#: The callback's start write puts it (the same request id on every retry of an asynchronous invocation).
REQUEST_PREFIX = "REQUEST#"
REQUEST_SK = "REQUEST"


def request_pointer_key(request_id: str) -> dict[str, dict[str, str]]:
    """The key of the pointer item of a Lambda request."""
    return {"pk": s(f"{REQUEST_PREFIX}{request_id}"), "sk": s(REQUEST_SK)}


def request_pointer_item(
    request_id: str, *, task_pk: str, run_sk: str, kind: str | None, expiration: int
) -> dict[str, Any]:
    """The pointer item itself (DynamoDB's format), for a Put in the start write."""
    item = request_pointer_key(request_id) | {
        "task_pk": s(task_pk),
        "run_sk": s(run_sk),
        "expiration": n(expiration),
    }
    return item | ({"kind": s(kind)} if kind else {})
