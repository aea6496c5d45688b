"""The owner's quota counters as the scheduler's claim uses them (taskcore.quota holds the layout)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from scheduler_app.records import TaskRecord
from taskcore import quota as quotas
from taskcore.ledger import number_of, text_of


def with_slot(record: TaskRecord, owner: str | None, shard: int | None) -> TaskRecord:
    """The record holding the owner's slot `shard` (no slot without an owner or a shard)."""
    return replace(record, quota_key=quotas.slot(owner, shard) if owner and shard is not None else None)


def used_of(keys: list[dict[str, Any]], items: list[Mapping[str, Any]]) -> list[int]:
    """The slots taken of each counter `keys` names (0 for a counter never written), in the keys' order."""
    used = {text_of(item, "pk"): number_of(item, "used") or 0 for item in items}
    return [used.get(key["pk"]["S"], 0) for key in keys]


def shard_with_room(used: list[int], quota: int) -> int | None:
    """A shard, at random, whose counter has a free slot; None when every one is full."""
    free = [shard for shard, count in enumerate(used) if count < quotas.shard_cap(quota, shard)]
    return free[secrets.randbelow(len(free))] if free else None


__all__ = ["shard_with_room", "used_of", "with_slot"]
