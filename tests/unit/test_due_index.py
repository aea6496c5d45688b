"""The sweep's index (taskcore.due): which live tasks are in it, when they are due, and on which shard."""

from __future__ import annotations

from collections import Counter

from taskcore.due import DUE_SHARDS, due_keys, due_shard, due_time, shards


def test_a_one_time_task_is_due_at_its_time_in_utc_plus_its_flexible_window() -> None:
    due = due_time(
        recurring=False, expression="at(2030-01-01T09:00:00)", timezone="Asia/Seoul", end_at=None, window_minutes=15
    )

    assert due == "2030-01-01T00:15:00.000Z"


def test_a_recurring_task_is_due_at_its_end_and_never_without_one() -> None:
    ended = due_time(
        recurring=True, expression="rate(1 hour)", timezone="UTC", end_at="2030-01-01T00:00:00Z", window_minutes=None
    )
    endless = due_time(recurring=True, expression="rate(1 hour)", timezone="UTC", end_at=None, window_minutes=None)

    assert (ended, endless) == ("2030-01-01T00:00:00.000Z", None)


def test_an_expression_that_is_not_a_one_time_moment_is_never_due() -> None:
    for expression in ("rate(1 hour)", "not an expression", "at(2030-03-10T02:30:00)"):
        assert (
            due_time(
                recurring=False, expression=expression, timezone="America/New_York", end_at=None, window_minutes=None
            )
            is None
        )  # a rate, garbage, and a wall time the zone skips (spring forward)


def test_a_task_keeps_its_shard_and_the_shards_share_the_tasks() -> None:
    counts = Counter(due_shard(f"TASK#task-{n}") for n in range(16_000))

    assert due_shard("TASK#a") == due_shard("TASK#a")
    assert set(counts) == set(shards())
    assert len(shards()) == DUE_SHARDS
    assert max(counts.values()) < 1.2 * 16_000 / DUE_SHARDS


def test_the_keys_are_written_only_for_a_task_that_will_be_due() -> None:
    keys = due_keys(
        "TASK#x",
        recurring=False,
        expression="at(2030-01-01T00:00:00)",
        timezone="UTC",
        end_at=None,
        window_minutes=None,
    )
    none = due_keys(
        "TASK#x", recurring=True, expression="rate(1 day)", timezone="UTC", end_at=None, window_minutes=None
    )

    assert keys == {"due_shard": {"S": due_shard("TASK#x")}, "due_at": {"S": "2030-01-01T00:00:00.000Z"}}
    assert none == {}
