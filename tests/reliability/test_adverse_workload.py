"""The reliability suite under AWS's adverse behaviour (issue 19, item 6): a workload of every kind of task, through
the real entry points (the scheduler API over HTTP, the Scheduler and Lambda emulators, the real callback, the real
recorder reading its inboxes through the event source mappings, the sweep on its template schedule), with the
adverse preset on: duplicates from Scheduler and Lambda, delivery anywhere in the minute, Lambda's 1- and 2-minute
retries, DynamoDB's per-key throughput scaled down until it throttles, Scheduler's invocation rate, the Timeout.

The clock is virtual (hours of AWS time in seconds); the probe action counts its external effects. Claimed and
checked: 0 lost, 0 effects twice, the ledger agreeing with the effects, every ending recorded.
`ADVERSE_TASKS=2000 make reliability-adverse` is the long run (docs/reliability.md, "Under AWS's adverse behaviour").
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from localcloud import dynamo_throughput
from localcloud.adverse import Adversity
from localcloud.clock import FakeClock
from localcloud.cloud import CloudOptions, LocalCloud
from localcloud.virtual_time import virtual_time
from taskcore.registry import registry
from tests.callback.helpers import AnyData
from tests.reliability.figures import Figures
from tests.reliability.workload import (
    CALLBACK_TIMEOUT,
    RECURRING_END,
    RECURRING_RATE,
    SEED,
    START,
    TASKS,
    Probe,
    due_at,
    plan,
    undeliverable,
)

pytestmark = pytest.mark.integration

#: DynamoDB per partition key (per virtual second), scaled down from 1,000 / 3,000 so that this workload is
#: throttled (`ADVERSE_WCU=10` throttles harder: docs/reliability.md says what it finds).
WCU_PER_KEY = float(os.environ.get("ADVERSE_WCU", "25"))
RCU_PER_KEY = 3 * WCU_PER_KEY
#: Scheduler's invocations per (virtual) second, scaled down from 1,000 so that a minute's burst waits.
INVOCATIONS_PER_SECOND = 5.0
#: Duplicates raised from the preset's 1 % so that a bounded run sees several.
DUPLICATE_RATE = 0.1


@dataclass
class Run:
    """The workload's cloud, client, probe and what it did."""

    cloud: LocalCloud
    client: Any
    clock: FakeClock
    probe: Probe
    logs: list[dict[str, Any]] = field(default_factory=list)
    throttled: Counter[str] = field(default_factory=Counter)
    kinds: dict[str, str] = field(default_factory=dict)
    cancelled_after: dict[str, int] = field(default_factory=dict)

    def step_until(self, until: Any, step: timedelta = timedelta(seconds=30)) -> None:
        """Live through time in steps; between two, cancel each cancel_retrying task whose first attempt failed."""
        while self.clock.now() < until:
            self.cloud.run_until(min(until, self.clock.now() + step))
            for task_id, kind in self.kinds.items():
                if kind == "cancel_retrying" and task_id not in self.cancelled_after:
                    starts = self.probe.starts_of(task_id)
                    if starts:
                        self.client.cancel(task_id)  # 204: the retries must not start the action
                        self.cancelled_after[task_id] = starts


def count_throttles(monkeypatch: pytest.MonkeyPatch, throttled: Counter[str]) -> None:
    """Count each DynamoDB request the adverse mode throttles (a key over its units per second), reads and writes."""
    over = dynamo_throughput._over

    def counted(buckets: Any, charges: Any, operation: str) -> list[str]:
        names: list[str] = over(buckets, charges, operation)
        if names:
            throttled[f"dynamodb_{operation.lower()}s_throttled"] += 1
        return names

    monkeypatch.setattr(dynamo_throughput, "_over", counted)


@pytest.fixture
def workload(monkeypatch: pytest.MonkeyPatch) -> Iterator[Run]:
    from callback_app.handler import lambda_handler as callback
    from callback_app.recorder import lambda_handler as recorder
    from taskclient import TaskClient

    probe = Probe()
    throttled: Counter[str] = Counter()
    count_throttles(monkeypatch, throttled)
    registry.action("probe", AnyData)(probe)
    clock = FakeClock(START)
    adversity = Adversity.preset(
        seed=SEED,
        scheduler_duplicate_rate=DUPLICATE_RATE,
        lambda_duplicate_rate=DUPLICATE_RATE,
        dynamodb_wcu_per_key=WCU_PER_KEY,
        dynamodb_rcu_per_key=RCU_PER_KEY,
        scheduler_invocations_per_second=INVOCATIONS_PER_SECOND,
    )
    options = CloudOptions(port=0, access_log=False, adversity=adversity, callback_timeout=CALLBACK_TIMEOUT)
    logs: list[dict[str, Any]] = []
    try:
        with (
            virtual_time(clock.now),
            LocalCloud(
                options,
                clock=clock,
                log=logs.append,
                fault=undeliverable,
                callback_handler=callback,
                function_handlers={"RecorderFunction": recorder},
            ) as cloud,
            TaskClient(
                cloud.api_url,
                sign=False,
                sleep=lambda s: cloud.run_until(clock.now() + timedelta(seconds=s)),
                max_retries=8,
            ) as client,
        ):
            yield Run(cloud, client, clock, probe, logs, throttled)
    finally:
        registry.unregister("probe")


def schedule_all(run: Run) -> None:
    """Create every task of the plan through the API (the client retries a throttled create with the same id),
    a few each virtual second, as callers would (all within the first 100 s)."""
    pause = timedelta(seconds=min(0.2, 100 / TASKS))
    for index, (task_id, kind) in enumerate(plan(TASKS)):
        run.cloud.run_until(run.clock.now() + pause)
        run.kinds[task_id] = kind
        data = {"kind": kind}
        if kind == "recurring":
            start = START + timedelta(minutes=2)
            run.client.schedule(
                "probe", user_id=f"u{index % 25}", task_id=task_id, data=data, rate=RECURRING_RATE,
                start_at=start, end_at=RECURRING_END,
            )  # fmt: skip
        else:
            run.client.schedule("probe", user_id=f"u{index % 25}", task_id=task_id, data=data, at=due_at(index))
        if kind == "paused":
            run.client.pause(task_id)


#: What each kind must end as: (task status, the outcome of its one run, or None for no run).
EXPECTED: dict[str, tuple[str, str | None]] = {
    "once": ("succeeded", "succeeded"),
    "transient": ("succeeded", "succeeded"),
    "slow_once": ("succeeded", "succeeded"),
    "failing": ("failed", "failed"),
    "slow": ("failed", "timed_out"),
    "rejected": ("rejected", "rejected"),
    "cancel_retrying": ("cancelled", None),
    "undeliverable": ("failed", "undelivered"),
    "paused": ("missed", None),
}
#: Kinds whose every occurrence must have exactly one effect (the others: none).
WITH_EFFECT = {"once", "transient", "slow_once", "recurring"}


def check_task(run: Run, task_id: str, kind: str, counts: Counter[str], problems: list[str]) -> None:
    """Compare one task's ledger (through the API) with the probe's effects; note each disagreement."""
    task = run.client.get(task_id)
    runs = list(run.client.runs(task_id))
    effects = run.probe.effects_of(task_id)
    counts[f"status_{task.status}"] += 1
    counts["effects"] += sum(effects.values())
    counts["starts"] += run.probe.starts_of(task_id)
    counts["ledger_attempts"] += sum(r.attempts for r in runs)
    check_ledger_against_probe(run, task_id, kind, runs, problems)
    check_effects(task_id, kind, effects, problems)
    if kind == "recurring":
        check_recurring(task_id, task, runs, effects, problems)
    else:
        check_ending(run, task_id, kind, task, runs, problems)


def check_effects(task_id: str, kind: str, effects: dict[str, int], problems: list[str]) -> None:
    """No effect twice; one per occurrence of a kind that succeeds (none lost); none for the others."""
    if any(n > 1 for n in effects.values()):
        problems.append(f"{task_id} ({kind}): an effect twice {effects}")
    if kind in WITH_EFFECT and (not effects or set(effects.values()) != {1}):
        problems.append(f"{task_id} ({kind}): lost: effects {effects}")
    if kind not in WITH_EFFECT and any(effects.values()):
        problems.append(f"{task_id} ({kind}): an effect that should not be {effects}")


def check_ending(run: Run, task_id: str, kind: str, task: Any, runs: list[Any], problems: list[str]) -> None:
    """A one-time task ends as the state machine says for its kind, its run final, with a reason for a failure."""
    status, outcome = EXPECTED[kind]
    if task.status != status:
        problems.append(f"{task_id} ({kind}): status {task.status}, expected {status} (reason {task.reason})")
    outcomes = [r.outcome for r in runs]
    if outcome is not None and outcomes != [outcome]:
        problems.append(f"{task_id} ({kind}): runs {outcomes}, expected [{outcome}]")
    if any(not r.final for r in runs):
        problems.append(f"{task_id} ({kind}): a run not final {[(r.outcome, r.attempts) for r in runs]}")
    if status == "failed" and not task.reason:
        problems.append(f"{task_id} ({kind}): failed without a reason")
    if kind == "cancel_retrying" and run.probe.starts_of(task_id) != run.cancelled_after.get(task_id):
        problems.append(f"{task_id}: the action started after the cancel answered 204")


def check_ledger_against_probe(run: Run, task_id: str, kind: str, runs: list[Any], problems: list[str]) -> None:
    """Each attempt the ledger counts started the action or replayed a stored result (a skipped one neither);
    each occurrence with an effect is a run of the ledger, succeeded, at the same scheduled time."""
    starts, replays = run.probe.starts_of(task_id), sum(r.replays for r in runs)
    attempts = sum(r.attempts for r in runs)
    skipped = any(r.outcome == "skipped" for r in runs)
    if attempts != starts + replays and not (skipped and attempts > starts + replays):
        problems.append(f"{task_id} ({kind}): the ledger counts {attempts} attempts, the action started {starts}"
                        f" times and {replays} replays")  # fmt: skip
    succeeded = {r.scheduled_time for r in runs if r.outcome == "succeeded"}
    with_effect = {run.probe.scheduled[key] for key, n in run.probe.effects_of(task_id).items() if n}
    if succeeded != with_effect:
        problems.append(f"{task_id} ({kind}): succeeded runs at {succeeded}, effects at {with_effect}")


def check_recurring(task_id: str, task: Any, runs: list[Any], effects: dict[str, int], problems: list[str]) -> None:
    """Every occurrence from start to end ran once and succeeded; the task ended after its end."""
    times = sorted(r.scheduled_time for r in runs if r.scheduled_time is not None)
    expected = [START + timedelta(minutes=2 + 5 * k) for k in range(5)]
    if times != expected or len(effects) != len(expected):
        problems.append(f"{task_id}: occurrences {times} with {len(effects)} effects, expected {expected}")
    if any(r.outcome != "succeeded" for r in runs):
        problems.append(f"{task_id}: runs {[r.outcome for r in runs]}")
    if task.status != "ended":
        problems.append(f"{task_id}: status {task.status} after its end")


def report(run: Run, figures: Figures, counts: Counter[str], problems: list[str]) -> tuple[dict[str, Any], Any]:
    """The run's counts into the reliability figures and on stdout; the local cloud's counts and lateness."""
    stats = run.cloud.stats()
    late = stats["fire_lateness_seconds"]
    adverse = {k: v for k, v in stats.get("counts", {}).items() if v} | dict(run.throttled)
    for name, value in {**counts, **adverse}.items():
        figures.count("adverse", name, int(value))
    figures.count("adverse", "tasks", TASKS)
    figures.count("adverse", "delivery_lateness_p50_s", round(late["p50"]))
    figures.count("adverse", "delivery_lateness_max_s", round(late["max"]))
    figures.count("adverse", "problems", len(problems))
    print(
        f"adverse workload: {TASKS} tasks, {dict(sorted(counts.items()))}, local cloud {adverse},"
        f" delivery lateness p50 {late['p50']:.1f} s, max {late['max']:.1f} s; problems {len(problems)}"
    )
    for problem in problems[:40]:
        print("problem:", problem)
    return adverse, late


@pytest.mark.timeout(300 + 3 * TASKS)  # ~40 s for the bounded 60 tasks alone; more on a loaded CI machine
def test_under_awss_adverse_behaviour_nothing_is_lost_nothing_runs_twice_and_every_ending_is_recorded(
    workload: Run, figures: Figures
) -> None:
    started = time.monotonic()
    schedule_all(workload)
    scheduled = time.monotonic()
    workload.step_until(START + timedelta(minutes=30))
    problems: list[str] = []
    for task_id, kind in workload.kinds.items():
        if kind == "paused":
            try:
                workload.client.resume(task_id)  # past its time: missed
            except Exception as error:  # noted, and the rest is still checked
                problems.append(f"{task_id} (paused): resume answered {type(error).__name__}: {error}")
    workload.step_until(START + timedelta(minutes=34))
    lived = time.monotonic()

    counts: Counter[str] = Counter()
    for task_id, kind in workload.kinds.items():
        counts[f"kind_{kind}"] += 1
        check_task(workload, task_id, kind, counts, problems)
    adverse, late = report(workload, figures, counts, problems)
    print(
        f"scheduled in {scheduled - started:.1f} s, lived through 34 minutes in {lived - scheduled:.1f} s,"
        f" checked in {time.monotonic() - lived:.1f} s"
    )

    assert problems == []
    # The adverse mode did its part: both kinds of duplicates, DynamoDB throttling, lateness within the minute.
    assert adverse["delivery_duplicates"] > 0
    assert adverse["lambda_duplicates"] > 0
    assert adverse["dynamodb_writes_throttled"] > 0
    assert 30 < late["max"] < 60 + 60  # anywhere in the minute, and the invocation rate's wait on top
