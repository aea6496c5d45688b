"""The merge of a listing's shards (scheduler_app.adapters.listing): newest first, nothing shown twice or skipped,
whatever the skew between shards, behind a one-value cursor."""

from __future__ import annotations

import random
from typing import Any

from scheduler_app.adapters.listing import ShardRead, before_of, merge, per_shard


def entry(key: str) -> dict[str, Any]:
    return {"created_key": {"S": key}}


def read_shard(keys: list[str], before: str | None, limit: int) -> ShardRead:
    """One shard's Query: its newest `limit` keys below `before`, and where it stopped if it has more."""
    below = sorted((key for key in keys if before is None or key < before), reverse=True)
    taken = below[:limit]
    return ShardRead([entry(key) for key in taken], taken[-1] if len(below) > limit else None)


def walk(shards: list[list[str]], limit: int) -> tuple[list[str], int]:
    """Every page of a listing over `shards`: the keys shown, in order, and the number of pages."""
    shown: list[str] = []
    before: str | None = None
    pages = 0
    while True:
        pages += 1
        reads = [read_shard(keys, before, per_shard(limit, len(shards))) for keys in shards]
        page, following = merge(reads, limit)
        assert len(page) <= limit
        shown += [item["created_key"]["S"] for item in page]
        if following is None:
            return shown, pages
        before = before_of(following)
        assert pages < 10_000


def test_every_entry_is_shown_once_newest_first_over_even_shards() -> None:
    keys = [f"2030-01-01T00:00:{second:02d}.000Z#t-{second}" for second in range(60)]
    shards = [keys[index::32] for index in range(32)]

    shown, pages = walk(shards, limit=7)

    assert shown == sorted(keys, reverse=True)
    assert pages <= 60 // 7 + 4  # a short page now and then, no more


def test_a_skewed_shard_holding_all_the_newest_entries_is_walked_whole() -> None:
    hot = [f"2030-01-02T{index:05d}" for index in range(100)]
    cold = [[f"2030-01-01T{shard:02d}{index:03d}" for index in range(3)] for shard in range(31)]

    shown, _ = walk([hot, *cold], limit=10)

    assert shown == sorted(hot + [key for keys in cold for key in keys], reverse=True)


def test_random_shards_and_page_sizes_never_lose_or_repeat_an_entry() -> None:
    rng = random.Random(20)
    for _ in range(30):
        keys = [f"k{rng.randrange(10**9):09d}#{index}" for index in range(rng.randrange(0, 200))]
        shards: list[list[str]] = [[] for _ in range(rng.choice((1, 2, 32)))]
        for key in keys:
            shards[rng.randrange(len(shards))].append(key)

        shown, _ = walk(shards, limit=rng.randrange(1, 60))

        assert shown == sorted(keys, reverse=True)


def test_a_cursor_of_the_layout_before_still_says_where_it_stopped() -> None:
    legacy = {"pk": {"S": "TASK#t-1"}, "sk": {"S": "TASK"}, "created_key": {"S": "2030-01-01#t-1"}}

    assert before_of(legacy) == "2030-01-01#t-1"
    assert before_of({"before": "2030-01-02#t-2"}) == "2030-01-02#t-2"
    assert before_of(None) is None
    assert before_of({"before": 5}) is None
