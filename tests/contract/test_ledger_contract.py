"""The task ledger's contract (scheduler_app.ports.TaskLedgerPort): every test runs on DynamoDB (moto, the
table from template.yaml) and on the in-memory twin, so the engine's fast tests and the test kit stand on
a twin that behaves as the real ledger does."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from scheduler_app.errors import InvalidSchedule, QuotaExceeded
from scheduler_app.records import ListFilter, Page, TaskRecord
from taskcore.ledger import MAX_STORED_DATA_BYTES
from taskcore.states import TaskState, TimingKind, timestamp
from tests.contract.helpers import NOW, OWNER, RETENTION_SECONDS, LedgerCase, run, task

EPOCH = int(NOW.timestamp())


def every_page(case: LedgerCase, wanted: ListFilter, *, limit: int) -> tuple[list[str], int]:
    """Every task id a listing returns, page after page (and how many pages it took)."""
    found: list[str] = []
    start, pages = None, 0
    while True:
        page: Page = case.ledger.page(wanted, limit=limit, start=start, now=NOW)
        pages += 1
        assert len(page.items) <= limit
        found += [record.task_id for record in page.items]
        if page.following is None:
            return found, pages
        start = page.following


# -- claim -----------------------------------------------------------------------------------------------------------


def test_a_claim_creates_the_task_and_a_second_claim_gets_the_holder_back(ledger_case: LedgerCase) -> None:
    first = task("t-1", owner=OWNER)

    assert ledger_case.ledger.claim(first, NOW) is None
    held = ledger_case.ledger.claim(task("t-1", fingerprint="b" * 64), NOW)

    assert held is not None
    assert (held.fingerprint, held.owner, held.request, held.state) == (
        "a" * 64,
        OWNER,
        first.request,
        TaskState.SCHEDULED,
    )


def test_an_expired_task_holds_nothing_and_reads_as_gone(ledger_case: LedgerCase) -> None:
    ledger_case.ledger.claim(task("t-1", state=TaskState.CANCELLED, expiration=EPOCH), NOW)

    assert ledger_case.ledger.read("t-1", runs=5, now=NOW) == (None, [])
    assert ledger_case.ledger.claim(task("t-1", fingerprint="b" * 64), NOW) is None
    record, _ = ledger_case.ledger.read("t-1", runs=0, now=NOW)
    assert record is not None
    assert record.fingerprint == "b" * 64


def test_tasks_of_two_namespaces_with_one_id_are_two_tasks(ledger_case: LedgerCase) -> None:
    assert ledger_case.ledger.claim(task("t-1"), NOW) is None
    assert ledger_case.ledger.claim(task("t-1", scope="abcdefghijklmnop", fingerprint="b" * 64), NOW) is None

    shared, _ = ledger_case.ledger.read("t-1", runs=0, now=NOW)
    scoped, _ = ledger_case.ledger.read("t-1", runs=0, now=NOW, scope="abcdefghijklmnop")
    assert (shared.scope, shared.fingerprint) == (None, "a" * 64)  # type: ignore[union-attr]
    assert (scoped.scope, scoped.fingerprint) == ("abcdefghijklmnop", "b" * 64)  # type: ignore[union-attr]


# -- what is kept ----------------------------------------------------------------------------------------------------


def test_user_values_come_back_as_json_says_them(ledger_case: LedgerCase) -> None:
    data = {"ratio": 1.5, "nested": {"list": [1, "two", None]}, "unicode": "서울"}
    request = {"task_id": "t-1", "user_id": "u-1", "action": "a", "data": data}
    ledger_case.ledger.claim(task("t-1", user_id="u-1", request=request, last_run=None), NOW)

    record, _ = ledger_case.ledger.read("t-1", runs=0, now=NOW)

    assert record is not None
    assert (record.user_id, record.data, record.data_bytes) == ("u-1", data, None)


def test_data_too_large_for_the_ledger_is_dropped_and_its_size_kept(ledger_case: LedgerCase) -> None:
    data = {"blob": "x" * MAX_STORED_DATA_BYTES}
    ledger_case.ledger.claim(task("t-1", request={"task_id": "t-1", "data": data}), NOW)

    record, _ = ledger_case.ledger.read("t-1", runs=0, now=NOW)

    assert record is not None
    assert (record.request, record.data_bytes) == ({"task_id": "t-1"}, len('{"blob":""}') + MAX_STORED_DATA_BYTES)


# -- put, set_state, forget ------------------------------------------------------------------------------------------


def test_put_writes_the_new_request_and_keeps_creation_counters_and_owner(ledger_case: LedgerCase) -> None:
    ledger_case.ledger.claim(task("t-1", owner=OWNER, end_at="2030-05-01T00:00:00.000Z"), NOW, quota=10)
    later = NOW + timedelta(minutes=5)
    changed = task(
        "t-1",
        created=later,
        kind=TimingKind.RECURRING,
        expression="rate(1 hour)",
        state=TaskState.PAUSED,
        fingerprint="c" * 64,
        request={"task_id": "t-1", "rate": "rate(1 hour)"},
    )

    ledger_case.ledger.put(changed)
    record, _ = ledger_case.ledger.read("t-1", runs=0, now=later)

    assert record is not None
    assert (record.created_at, record.updated_at) == (timestamp(NOW), timestamp(later))
    assert (record.kind, record.expression, record.state, record.fingerprint) == (
        TimingKind.RECURRING,
        "rate(1 hour)",
        TaskState.PAUSED,
        "c" * 64,
    )
    assert (record.owner, record.run_count, record.end_at, record.request) == (OWNER, 0, None, changed.request)
    assert ledger_case.ledger.count_live(OWNER, up_to=10) == 1


def test_put_creates_a_task_the_ledger_lacks_without_an_owner(ledger_case: LedgerCase) -> None:
    ledger_case.ledger.put(task("t-1", owner=OWNER))

    record, _ = ledger_case.ledger.read("t-1", runs=0, now=NOW)

    assert record is not None
    assert (record.task_id, record.owner, record.fingerprint) == ("t-1", None, "a" * 64)
    assert ledger_case.ledger.count_live(OWNER, up_to=10) == 0


def test_a_final_state_starts_the_retention_and_frees_the_owners_slot(ledger_case: LedgerCase) -> None:
    ledger_case.ledger.claim(task("t-1", owner=OWNER), NOW, quota=10)
    ledger_case.ledger.claim(task("t-2", owner=OWNER), NOW, quota=10)
    assert ledger_case.ledger.count_live(OWNER, up_to=10) == 2

    ledger_case.ledger.set_state("t-1", TaskState.PAUSED, NOW)
    paused, _ = ledger_case.ledger.read("t-1", runs=0, now=NOW)
    ledger_case.ledger.set_state("t-1", TaskState.CANCELLED, NOW)
    cancelled, _ = ledger_case.ledger.read("t-1", runs=0, now=NOW)

    assert paused is not None
    assert (paused.state, paused.expiration, paused.updated_at) == (TaskState.PAUSED, None, timestamp(NOW))
    assert cancelled is not None
    assert (cancelled.state, cancelled.expiration) == (TaskState.CANCELLED, EPOCH + RETENTION_SECONDS)
    assert ledger_case.ledger.count_live(OWNER, up_to=10) == 1
    assert ledger_case.ledger.read("t-1", runs=0, now=NOW + timedelta(seconds=RETENTION_SECONDS)) == (None, [])


def test_a_state_set_on_a_task_the_ledger_lacks_leaves_a_bare_record_in_no_listing(ledger_case: LedgerCase) -> None:
    ledger_case.ledger.set_state("t-1", TaskState.CANCELLED, NOW)

    record, _ = ledger_case.ledger.read("t-1", runs=0, now=NOW)

    assert record is not None
    assert (record.task_id, record.state, record.created_at, record.request) == ("", TaskState.CANCELLED, "", None)
    assert every_page(ledger_case, ListFilter(state=TaskState.CANCELLED), limit=10)[0] == []


def test_forget_removes_only_the_claim_of_the_same_request(ledger_case: LedgerCase) -> None:
    ledger_case.ledger.claim(task("t-1"), NOW)

    ledger_case.ledger.forget("t-1", "b" * 64)
    kept, _ = ledger_case.ledger.read("t-1", runs=0, now=NOW)
    ledger_case.ledger.forget("t-1", "a" * 64)
    ledger_case.ledger.forget("t-never", "a" * 64)

    assert kept is not None
    assert ledger_case.ledger.read("t-1", runs=0, now=NOW) == (None, [])


def test_the_live_count_stops_at_what_it_is_asked_for(ledger_case: LedgerCase) -> None:
    for index in range(4):
        ledger_case.ledger.claim(task(f"t-{index}", owner=OWNER), NOW, quota=10)
    ledger_case.ledger.claim(task("t-other", owner="arn:aws:iam::123456789012:role/other"), NOW, quota=10)

    assert ledger_case.ledger.count_live(OWNER, up_to=3) == 3
    assert ledger_case.ledger.count_live(OWNER, up_to=10) == 4
    assert ledger_case.ledger.count_live("arn:aws:iam::123456789012:role/nobody", up_to=10) == 0


def test_a_claim_under_a_quota_takes_a_slot_and_is_refused_when_none_is_free(ledger_case: LedgerCase) -> None:
    for index in range(3):
        assert ledger_case.ledger.claim(task(f"t-{index}", owner=OWNER), NOW, quota=3) is None

    with pytest.raises(QuotaExceeded, match="already has 3 active schedules"):
        ledger_case.ledger.claim(task("t-3", owner=OWNER), NOW, quota=3)
    held = ledger_case.ledger.claim(task("t-0", owner=OWNER), NOW, quota=3)  # the same id: its holder, not a 429

    assert held is not None
    assert held.task_id == "t-0"
    assert ledger_case.ledger.read("t-3", runs=0, now=NOW) == (None, [])  # nothing written
    assert ledger_case.ledger.count_live(OWNER, up_to=10) == 3


def test_a_slot_comes_back_once_when_a_task_ends_or_is_forgotten(ledger_case: LedgerCase) -> None:
    for index in range(2):
        ledger_case.ledger.claim(task(f"t-{index}", owner=OWNER), NOW, quota=2)

    ledger_case.ledger.set_state("t-0", TaskState.CANCELLED, NOW)
    ledger_case.ledger.set_state("t-0", TaskState.CANCELLED, NOW)  # ended twice: given back once
    ledger_case.ledger.forget("t-1", "a" * 64)
    assert ledger_case.ledger.count_live(OWNER, up_to=10) == 0

    for index in range(2, 4):
        assert ledger_case.ledger.claim(task(f"t-{index}", owner=OWNER), NOW, quota=2) is None
    with pytest.raises(QuotaExceeded):
        ledger_case.ledger.claim(task("t-4", owner=OWNER), NOW, quota=2)


def test_an_owners_quota_holds_exactly_under_concurrent_claims(ledger_case: LedgerCase) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from localcloud import moto_transactions

    moto_transactions.install()  # moto's writes atomic per item, as DynamoDB's are (its module says why)

    def claim(index: int) -> str:
        try:
            return "held" if ledger_case.ledger.claim(task(f"t-{index}", owner=OWNER), NOW, quota=5) else "created"
        except QuotaExceeded:
            return "refused"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(claim, range(20)))

    assert outcomes.count("created") == 5
    assert outcomes.count("refused") == 15
    assert ledger_case.ledger.count_live(OWNER, up_to=100) == 5


def test_a_claim_without_an_owner_takes_no_slot(ledger_case: LedgerCase) -> None:
    for index in range(3):
        assert ledger_case.ledger.claim(task(f"t-{index}"), NOW, quota=1) is None


# -- runs ------------------------------------------------------------------------------------------------------------


def test_a_read_gives_the_task_and_its_latest_runs_newest_first(ledger_case: LedgerCase) -> None:
    ledger_case.ledger.claim(task("t-1", kind=TimingKind.RECURRING), NOW)
    for hour in range(3):
        ledger_case.record_run("t-1", run(f"2030-03-14T0{hour}:00:00Z"), None, None)
    ledger_case.record_run("t-1", run(None, outcome="failed", final=False), None, None)

    record, runs = ledger_case.ledger.read("t-1", runs=2, now=NOW)

    assert record is not None
    assert [r.scheduled_time for r in runs] == [None, "2030-03-14T02:00:00Z"]  # `RUN#direct` sorts last of all
    latest = runs[1]
    assert (latest.attempts, latest.outcome, latest.final, latest.duration_ms, latest.result) == (
        1,
        "succeeded",
        True,
        200.5,
        {"sent": True, "ratio": 1.5},
    )


def test_runs_come_a_page_at_a_time_newest_first_without_the_expired(ledger_case: LedgerCase) -> None:
    ledger_case.ledger.claim(task("t-1", kind=TimingKind.RECURRING), NOW)
    for day in range(1, 6):
        expiration = EPOCH - 1 if day == 3 else None
        ledger_case.record_run("t-1", run(f"2030-03-0{day}T09:00:00Z"), None, expiration)

    seen: list[str | None] = []
    start: Any = None
    for _ in range(10):
        page = ledger_case.ledger.runs("t-1", limit=2, start=start, now=NOW)
        assert len(page.items) <= 2
        seen += [r.scheduled_time for r in page.items]
        if page.following is None:
            break
        start = page.following

    assert seen == ["2030-03-05T09:00:00Z", "2030-03-04T09:00:00Z", "2030-03-02T09:00:00Z", "2030-03-01T09:00:00Z"]
    assert ledger_case.ledger.runs("t-none", limit=2, start=None, now=NOW) == Page([], None)


# -- listings --------------------------------------------------------------------------------------------------------


def seed(case: LedgerCase, count: int, **fields: Any) -> list[str]:
    """`count` tasks created a second apart; their ids, newest first."""
    ids = [f"t-{index:02d}" for index in range(count)]
    for index, task_id in enumerate(ids):
        case.ledger.claim(task(task_id, created=NOW + timedelta(seconds=index), **fields), NOW)
    return ids[::-1]


def test_a_state_listing_walks_every_task_once_newest_first(ledger_case: LedgerCase) -> None:
    newest_first = seed(ledger_case, 5)

    found, pages = every_page(ledger_case, ListFilter(state=TaskState.SCHEDULED), limit=2)

    assert found == newest_first
    assert pages >= 3


def test_a_listing_row_is_what_the_index_projects_no_request_no_fingerprint(ledger_case: LedgerCase) -> None:
    ledger_case.ledger.claim(task("t-1", owner=OWNER, run_count=0), NOW)

    row = ledger_case.ledger.page(ListFilter(state=TaskState.SCHEDULED), limit=10, start=None, now=NOW).items[0]

    assert isinstance(row, TaskRecord)
    assert (row.request, row.fingerprint, row.data_bytes) == (None, None, None)
    assert (row.task_id, row.owner, row.user_id, row.action, row.schedule_arn) == (
        "t-1",
        OWNER,
        456,
        "send_notification",
        task("t-1").schedule_arn,
    )


def test_a_users_listing_holds_every_state_and_counts_456_and_the_text_456_as_one_user(
    ledger_case: LedgerCase,
) -> None:
    ledger_case.ledger.claim(task("t-int", user_id=456), NOW)
    ledger_case.ledger.claim(task("t-text", user_id="456", created=NOW + timedelta(seconds=1)), NOW)
    ledger_case.ledger.claim(task("t-other", user_id=7), NOW)
    ledger_case.ledger.set_state("t-int", TaskState.CANCELLED, NOW)

    everything, _ = every_page(ledger_case, ListFilter(user_id=456), limit=10)
    cancelled, _ = every_page(ledger_case, ListFilter(user_id="456", state=TaskState.CANCELLED), limit=10)

    assert everything == ["t-text", "t-int"]
    assert cancelled == ["t-int"]


def test_an_owners_listing_filters_by_user_state_action_and_prefix(ledger_case: LedgerCase) -> None:
    seed(ledger_case, 3, owner=OWNER)
    ledger_case.ledger.claim(task("x-1", owner=OWNER, action="other", user_id=7), NOW)
    ledger_case.ledger.claim(task("t-theirs", owner="arn:aws:iam::123456789012:role/other"), NOW)

    assert sorted(every_page(ledger_case, ListFilter(owner=OWNER), limit=10)[0]) == ["t-00", "t-01", "t-02", "x-1"]
    assert every_page(ledger_case, ListFilter(owner=OWNER, user_id=7), limit=2)[0] == ["x-1"]
    assert every_page(ledger_case, ListFilter(owner=OWNER, action="other"), limit=2)[0] == ["x-1"]
    assert every_page(ledger_case, ListFilter(owner=OWNER, prefix="t-0", state=TaskState.SCHEDULED), limit=2)[0] == [
        "t-02",
        "t-01",
        "t-00",
    ]
    assert every_page(ledger_case, ListFilter(owner=OWNER, state=TaskState.PAUSED), limit=2)[0] == []


def test_an_owners_listing_over_every_shard_walks_each_task_once_newest_first(ledger_case: LedgerCase) -> None:
    newest_first = seed(ledger_case, 45, owner=OWNER)

    for limit in (1, 7, 50):
        found, _pages = every_page(ledger_case, ListFilter(owner=OWNER), limit=limit)
        assert found == newest_first, limit
    assert every_page(ledger_case, ListFilter(state=TaskState.SCHEDULED), limit=10)[0] == newest_first


def test_a_listing_skips_what_expired_and_refuses_to_read_without_a_partition(ledger_case: LedgerCase) -> None:
    seed(ledger_case, 2)
    ledger_case.ledger.claim(replace(task("t-gone"), state=TaskState.CANCELLED, expiration=EPOCH), NOW)

    assert every_page(ledger_case, ListFilter(state=TaskState.CANCELLED), limit=5)[0] == []
    with pytest.raises(InvalidSchedule, match="a listing names a user_id or a status"):
        ledger_case.ledger.page(ListFilter(action="a"), limit=5, start=None, now=NOW)
