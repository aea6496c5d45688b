"""The 09:00 burst (issue 20, item 6): one service role has scheduled a reminder for each of its users at the same
minute; under DynamoDB's per-key limits (the adverse mode's `dynamodb_*_per_key`, counted in virtual seconds), the
burst completes with every action run once, every run recorded once, none failed, and no table or index key over
its limit.

Everything goes through the real entry points (the test kit's local cloud: the scheduler API over HTTP, the
Scheduler emulator at its invocation rate, Lambda with its retries a minute and two later, the real callback),
and the check reads only outcomes: the API's answers, the action's effects, and the throughput model's figures per
key (`localcloud.dynamo_throughput.usage()`), whatever item or index holds what.

The arithmetic, at 1/50 of AWS's figures so that this machine drives it in well under a minute:

- Scheduler delivers 1,000 invocations a second, here `RATE` = 20 (20 at once, then one every 0.05 s: about 40
  runs in the burst's first second, 20 a second after). DynamoDB serves 1,000 write and 3,000 read units a second
  per partition key, here `WCU` = 20 and `RCU` = 60.
- A run writes the task's listing row in a transaction at least once (its ending): at least 2 write units
  (2 per KB) on every index key the row carries. ONE key shared by the whole burst (the owner's, or the state's)
  is asked for at least 2 x 20 = 40 units a second, 2 x 40 = 80 in the first: two to four times its 20. Throttled.
- 32 shards of that key: 40 / 32 = 1.25 units a second each on average; a shard passes 20 only if 11 of the 40
  first-second runs hash to it (binomial(40, 1/32): about 1 in 10^8 a shard). Within the limit, whatever the hash.
- A run's own partition (the task's) takes about 8 units in one virtual instant (its start and end writes):
  under 20, so a layout that spreads the burst is not throttled by the run itself.
- The role creates its reminders beforehand at `CREATES_PER_SECOND` = 5 (250 a second at AWS's scale): 2 units
  each on a key, 10 a second even on one shared key. The creates are not what is tested; the burst is.

`BURST_TASKS` sets the burst's size (`make reliability-burst BURST_TASKS=1000` for a longer run); docs/reliability.md
("The 09:00 burst") gives the figures it prints.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from localcloud import dynamo_throughput
from localcloud.adverse import Adversity
from localcloud.taskkit import TaskCloud
from taskcore.registry import TaskContext, registry
from tests.callback.helpers import AnyData
from tests.reliability.figures import Figures

pytestmark = pytest.mark.integration

#: How many reminders fall due at 09:00 (the test's default keeps `make test` well under a minute).
TASKS = int(os.environ.get("BURST_TASKS", "150"))
#: AWS's figures at 1/50 (the module's docstring has the arithmetic).
RATE = 20.0
WCU = 20.0
RCU = 3 * WCU
CREATES_PER_SECOND = 5.0
#: The one principal that creates every task: a backend's service role (API Gateway's verified caller; the local
#: cloud reads it from `X-Local-Principal`).
SERVICE_ROLE = "arn:aws:iam::123456789012:role/reminders-service"
DUE = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
#: The creates end before 09:00.
START = DUE - timedelta(seconds=TASKS / CREATES_PER_SECOND + 30)
#: Through the burst and Lambda's two retries (about 1 and 2 minutes after a failed attempt).
UNTIL = DUE + timedelta(minutes=6)


class Reminders:
    """The burst's action: one effect (a reminder sent) per call that completes, counted per task."""

    def __init__(self) -> None:
        self.sent: Counter[str] = Counter()

    def __call__(self, data: AnyData, task: TaskContext) -> dict[str, Any]:
        self.sent[task.task_id] += 1
        return {"sent": True}


@pytest.fixture
def reminders() -> Iterator[Reminders]:
    action = Reminders()
    registry.action("send_reminder", AnyData)(action)
    try:
        yield action
    finally:
        registry.unregister("send_reminder")


def task_ids() -> list[str]:
    return [f"reminder-{n:05d}" for n in range(TASKS)]


def create_all(task_cloud: TaskCloud) -> Any:
    """The service role schedules each user's reminder for 09:00, CREATES_PER_SECOND a (virtual) second; its client
    (retries in virtual time) for the checks."""
    from taskclient import TaskClient

    def wait(seconds: float) -> None:  # a retry's backoff passes in virtual time; what falls due meanwhile runs
        task_cloud.advance(seconds=seconds)

    client = TaskClient(
        task_cloud.cloud.api_url, sign=False, headers={"x-local-principal": SERVICE_ROLE}, sleep=wait, max_retries=8
    )
    for n, task_id in enumerate(task_ids()):
        client.schedule("send_reminder", user_id=f"user-{n}", task_id=task_id, data={"n": n}, at=DUE)
        task_cloud.advance(seconds=1 / CREATES_PER_SECOND)
    return client


def ledger_problems(client: Any, figures: Figures) -> list[str]:
    """Each task as the API shows it: succeeded, owned by the role, one run recorded, succeeded and final."""
    problems: list[str] = []
    succeeded = {task.task_id: task for task in client.list(status="succeeded")}
    figures.count("burst", "tasks_succeeded", len(succeeded))
    for task_id in task_ids():
        summary = succeeded.get(task_id)
        if summary is None:
            task = client.get(task_id)
            figures.count("burst", f"tasks_{task.status}")
            problems.append(f"{task_id}: {task.status} ({task.reason})")
            continue
        if summary.owner != SERVICE_ROLE:
            problems.append(f"{task_id}: owned by {summary.owner}")
        runs = [(run.outcome, run.final) for run in client.runs(task_id)]
        if runs != [("succeeded", True)]:
            problems.append(f"{task_id}: runs {runs}")
    return problems


def report(figures: Figures, uses: list[dynamo_throughput.KeyUse], invocations: Counter[str]) -> str:
    """The burst's figures (the reliability summary, stdout) and one line naming its hottest key."""
    hottest = dynamo_throughput.hottest(uses)
    throttled = sum(use.throttled for use in uses)
    line = f"hottest key: {hottest.describe(WCU, RCU) if hottest else None}"
    figures.count("burst", "tasks", TASKS)
    figures.count("burst", "dynamodb_keys", len(uses))
    figures.count("burst", "dynamodb_keys_over_limit", len(dynamo_throughput.over_limit(uses)))
    figures.count("burst", "dynamodb_requests_throttled", throttled)
    for outcome, count in invocations.items():
        figures.count("burst", f"invocations_{outcome}", count)
    figures.note("burst", line)
    for use in dynamo_throughput.over_limit(uses)[1:6]:
        figures.note("burst", f"also over its limit: {use.describe(WCU, RCU)}")
    print(f"burst of {TASKS}: invocations {dict(invocations)}, {throttled} DynamoDB requests throttled; {line}")
    return line


@pytest.mark.timeout(120 + TASKS)
@pytest.mark.task_cloud(
    start=START,
    adversity=Adversity(
        dynamodb_wcu_per_key=WCU, dynamodb_rcu_per_key=RCU, scheduler_invocations_per_second=RATE, seed=20
    ),
)
def test_the_0900_burst_of_one_service_role_runs_each_reminder_once_and_no_key_passes_its_limit(
    task_cloud: TaskCloud, reminders: Reminders, figures: Figures
) -> None:
    started = time.monotonic()
    client = create_all(task_cloud)
    created = time.monotonic()

    task_cloud.advance(UNTIL - task_cloud.now)
    uses = dynamo_throughput.usage()  # the burst's figures, before the checks read anything
    invocations = Counter(run.outcome for run in task_cloud.runs)
    hottest = report(figures, uses, invocations)
    figures.count("burst", "reminders_sent", sum(reminders.sent.values()))
    figures.count("burst", "reminders_sent_once", sum(1 for n in reminders.sent.values() if n == 1))
    lived = time.monotonic()
    with client:
        problems = ledger_problems(client, figures)
    figures.note(
        "burst",
        f"created in {created - started:.1f} s, lived through the burst in {lived - created:.1f} s,"
        f" checked in {time.monotonic() - lived:.1f} s (wall)",
    )

    assert dynamo_throughput.over_limit(uses) == [], hottest
    assert sum(use.throttled for use in uses) == 0, hottest
    assert invocations == Counter({"succeeded": TASKS}), hottest  # each delivered once, none failed or retried
    assert reminders.sent == Counter(dict.fromkeys(task_ids(), 1)), hottest  # each reminder sent once
    assert problems == [], f"{hottest}; {len(problems)} tasks wrong, e.g. {problems[:5]}"
    assert task_cloud.dead_letters() == []
