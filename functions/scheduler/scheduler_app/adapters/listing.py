"""A listing over sharded index partitions: every shard read at once, merged newest first, behind one cursor.

An index partition key that a population shares is spread over INDEX_SHARDS keys (taskcore.ledger), so a
listing of an owner's tasks, or of a state, reads every shard and merges them. A page is:

- one Query per shard (in parallel, at most SHARD_READERS at a time), each for the `per_shard` newest entries
  older than the cursor: ceil(2 * limit / shards) + 2, so that a page reads about twice what it shows whatever
  the number of shards;
- the entries merged by the indexes' sort key (`created_key`: creation time, then task id: unique), newest first,
  kept only down to the *watermark*: the oldest entry any shard that has more stopped at. Below it a shard may
  hold entries not read yet, so nothing below it is shown; a page can hold fewer than `limit` (the cursor says
  where to go on);
- one BatchGetItem for the page's TALLY items (run count and last run: what a run changes is not in the index).

The cursor is one value: `{"before": <created_key>}`, the sort key of the last entry shown (or the watermark), so
the next page reads each shard below it. A cursor of the layout before (a Query's LastEvaluatedKey) still works:
its `created_key` is where it stopped. So a page is at most `shards` Queries and one BatchGetItem.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from scheduler_app.records import ListFilter, Position
from taskcore.ledger import TALLY_SK, s, text_of, user_key

#: Shards read at once by one listing (threads of the API's container; boto3's clients are thread-safe).
SHARD_READERS = 8
#: Keys one BatchGetItem may name (DynamoDB's limit).
BATCH_GET_KEYS = 100


@dataclass(frozen=True)
class ShardRead:
    """What one shard's Query returned: its entries (newest first) and where it stopped, if it has more."""

    items: list[dict[str, Any]]
    stopped_at: str | None


def before_of(start: Position | None) -> str | None:
    """The sort key a page starts below: the cursor's `before`, or an old cursor's `created_key`."""
    if start is None:
        return None
    before = start.get("before")
    if isinstance(before, str):
        return before
    legacy = start.get("created_key")
    if isinstance(legacy, Mapping) and isinstance(legacy.get("S"), str):
        return str(legacy["S"])
    return None


def per_shard(limit: int, shards: int) -> int:
    """How many entries each shard is asked for."""
    return limit if shards == 1 else math.ceil(2 * limit / shards) + 2


def merge(reads: list[ShardRead], limit: int) -> tuple[list[dict[str, Any]], Position | None]:
    """The page's entries (newest first, at most `limit`) and the cursor of the next page (None: no more)."""
    stops = [read.stopped_at for read in reads if read.stopped_at is not None]
    watermark = max(stops, default="")  # "" sorts below every key: nothing held back
    entries = sorted((item for read in reads for item in read.items), key=_sort_key, reverse=True)
    safe = [item for item in entries if _sort_key(item) >= watermark]
    page = safe[:limit]
    if len(safe) > limit or (page and len(page) == limit and stops):
        return page, {"before": _sort_key(page[-1])}
    return page, ({"before": watermark} if stops else None)


def read_shards(query: Callable[[str], ShardRead], partitions: list[str]) -> list[ShardRead]:
    """Each partition's Query, in parallel when there are several."""
    if len(partitions) == 1:
        return [query(partitions[0])]
    with ThreadPoolExecutor(max_workers=min(SHARD_READERS, len(partitions)), thread_name_prefix="shard") as pool:
        return list(pool.map(query, partitions))


def tallies(client: Any, table: str, pks: list[str]) -> dict[str, dict[str, Any]]:
    """The TALLY items of the tasks `pks` (by partition key), with one BatchGetItem per 100 (unprocessed: again)."""
    found: dict[str, dict[str, Any]] = {}
    for first in range(0, len(pks), BATCH_GET_KEYS):
        keys = [{"pk": s(pk), "sk": s(TALLY_SK)} for pk in pks[first : first + BATCH_GET_KEYS]]
        request: dict[str, Any] = {table: {"Keys": keys}}
        for _ in range(4):  # what DynamoDB left unprocessed (throttled), a few times
            response = client.batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(table, []):
                found[text_of(item, "pk") or ""] = item
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
    return found


def filters_of(
    wanted: ListFilter, names: dict[str, str], values: dict[str, Any], *, skip_state: bool, by_owner: bool
) -> list[str]:
    """The listing's filters on an index entry, as a FilterExpression's terms (the partition's own key excepted)."""
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


def _sort_key(item: Mapping[str, Any]) -> str:
    return text_of(item, "created_key") or ""


__all__ = [
    "BATCH_GET_KEYS",
    "SHARD_READERS",
    "ShardRead",
    "before_of",
    "filters_of",
    "merge",
    "per_shard",
    "read_shards",
    "tallies",
]
