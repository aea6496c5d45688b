"""The system's words are named once (taskcore.states), and a container's caches are forgotten by one reset."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

from taskcore import ledger
from taskcore.caches import container_cache, registered_caches, reset_container_caches
from taskcore.states import (
    DELIVERED_STATES,
    FINAL_STATES,
    LIVE_STATES,
    SCHEDULE_STATE_OF_TASK,
    TASK_STATE_OF_SCHEDULE,
    RunOutcome,
    ScheduleState,
    TaskState,
    TimingKind,
    timestamp,
)


def test_each_state_is_its_own_word_in_json_logs_and_the_ledger() -> None:
    assert json.dumps({"status": TaskState.SCHEDULED, "kind": TimingKind.ONE_TIME}) == (
        '{"status": "scheduled", "kind": "one-time"}'
    )
    assert f"{RunOutcome.DUPLICATE}" == "duplicate"
    assert ScheduleState("ENABLED") is ScheduleState.ENABLED


def test_a_task_is_live_delivered_or_final_never_two_of_them() -> None:
    assert set(LIVE_STATES).isdisjoint(FINAL_STATES)
    assert set(DELIVERED_STATES).isdisjoint((*LIVE_STATES, *FINAL_STATES))
    assert {*LIVE_STATES, *DELIVERED_STATES, *FINAL_STATES} == set(TaskState)
    assert {s for s in TaskState if s.live} == set(LIVE_STATES)
    assert {s for s in TaskState if s.final} == set(FINAL_STATES)
    assert TaskState.ENDED.final  # the sweep stores it (and the API derives it until then)


def test_the_ledgers_names_are_the_states_themselves() -> None:
    assert ledger.SCHEDULED is TaskState.SCHEDULED
    assert ledger.CANCELLED == "cancelled"
    assert (*LIVE_STATES, *FINAL_STATES) == ledger.STATES


def test_schedule_states_map_to_task_states_and_back() -> None:
    assert TASK_STATE_OF_SCHEDULE[ScheduleState.DISABLED] is TaskState.PAUSED
    assert {SCHEDULE_STATE_OF_TASK[t] for t in LIVE_STATES} == set(ScheduleState)


def test_one_timestamp_format_utc_milliseconds_cut_and_z() -> None:
    seoul = timezone(timedelta(hours=9))
    assert timestamp(datetime(2026, 12, 7, 21, 51, 51, 828_999, tzinfo=seoul)) == "2026-12-07T12:51:51.828Z"
    assert timestamp(datetime(2026, 12, 7, tzinfo=UTC)) == "2026-12-07T00:00:00.000Z"


def test_one_reset_forgets_every_container_cache_and_a_new_cache_is_registered_by_being_one() -> None:
    made: list[int] = []

    @container_cache
    def factory() -> int:
        made.append(1)
        return len(made)

    assert factory in registered_caches()
    assert (factory(), factory()) == (1, 1)

    assert reset_container_caches() >= 1

    assert factory() == 2
