"""`make dlq` and `make redrive`: three kinds of kept tasks, and a letter is deleted only when its replay succeeded.

A replay that is rejected (4xx) or fails keeps its letter, says why, and makes the exit status
non-zero; a replayed duplicate (2xx) is a success. Rejected tasks (RejectedTaskQueue) are listed and
replayed like the dead letters of Lambda and Scheduler.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from localcloud import dlq
from localcloud.runstate import RunState, write_state
from localcloud.taskkit import TaskCloud
from taskcore.proxy import build_target_input
from tests.callback.helpers import ActionSpy, reject
from tests.localcloud.helpers import create_schedule, queue_messages

pytestmark = pytest.mark.integration


def succeed(data: Any, task: Any) -> dict[str, Any]:
    return {"ok": True}


def fail(data: Any, task: Any) -> None:
    raise RuntimeError("downstream unavailable")


@pytest.fixture
def cloud(task_cloud: TaskCloud, spy_action: ActionSpy, tmp_path: Path) -> tuple[TaskCloud, Path]:
    """The local cloud on the kit's virtual clock (the spy action lives in this interpreter), and the state file
    `make dlq` / `make redrive` read."""
    running = task_cloud.cloud
    state_file = tmp_path / "state.json"
    write_state(
        state_file,
        RunState(pid=os.getpid(), api_url=running.api_url, moto_url=running.moto_url, environment=running.environment),
    )
    return task_cloud, state_file


def schedule(cloud: TaskCloud, task_id: str) -> None:
    body = {"task_id": task_id, "user_id": 1, "action": "spy", "data": {}, "delay_seconds": 1}
    assert httpx.post(f"{cloud.cloud.api_url}/api/v1/schedules", json=body).status_code == 201
    cloud.advance(minutes=5)  # the delivery, and Lambda's two retries a minute and two minutes later


def run(state_file: Path, *args: str) -> int:
    return dlq.run(dlq.parse_args([*args, "--state-file", str(state_file)]))


def listed(state_file: Path, capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    capsys.readouterr()
    assert run(state_file, "list", "--json") == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_a_letter_whose_replay_is_rejected_is_kept_reported_and_fails_the_command(
    cloud: tuple[TaskCloud, Path], spy_action: ActionSpy, capsys: pytest.CaptureFixture[str]
) -> None:
    running, state_file = cloud
    spy_action.behaviour = fail
    schedule(running, "redrive-1")
    spy_action.behaviour = reject  # the replay is rejected: the cause is not fixed
    capsys.readouterr()

    assert run(state_file, "redrive") == 1

    out = capsys.readouterr().out
    assert "rejected, message kept: task redrive-1" in out
    assert "422" in out
    assert "the payment was already refunded" in out
    assert "redrive: 0 succeeded, 1 rejected, 0 failed (kept in their queues)" in out
    assert [(x["task_id"], x["kind"]) for x in listed(state_file, capsys)] == [("redrive-1", "invocation")]


def test_a_letter_whose_replay_succeeds_or_is_a_duplicate_is_deleted(
    cloud: tuple[TaskCloud, Path], spy_action: ActionSpy, capsys: pytest.CaptureFixture[str]
) -> None:
    running, state_file = cloud
    spy_action.behaviour = fail
    schedule(running, "redrive-2")
    spy_action.behaviour = succeed
    capsys.readouterr()

    assert run(state_file, "redrive") == 0

    assert "redrive: 1 succeeded, 0 rejected, 0 failed" in capsys.readouterr().out
    assert listed(state_file, capsys) == []


def test_a_letter_whose_replay_fails_again_is_kept(
    cloud: tuple[TaskCloud, Path], spy_action: ActionSpy, capsys: pytest.CaptureFixture[str]
) -> None:
    running, state_file = cloud
    spy_action.behaviour = fail
    schedule(running, "redrive-3")
    capsys.readouterr()

    assert run(state_file, "redrive") == 1

    assert "redrive: 0 succeeded, 0 rejected, 1 failed" in capsys.readouterr().out
    assert len(listed(state_file, capsys)) == 1


def test_a_rejected_task_is_listed_with_its_reason_and_replayed_once_fixed(
    cloud: tuple[TaskCloud, Path], spy_action: ActionSpy, capsys: pytest.CaptureFixture[str]
) -> None:
    running, state_file = cloud
    spy_action.behaviour = reject
    schedule(running, "rejected-1")

    (letter,) = listed(state_file, capsys)
    assert (letter["task_id"], letter["kind"], letter["queue"]) == ("rejected-1", "rejected", "RejectedTaskQueue")
    assert "422" in letter["error"]
    assert "the payment was already refunded" in letter["error"]
    assert run(state_file, "list") == 0
    assert "rejected by the callback (422)" in capsys.readouterr().out

    spy_action.behaviour = succeed
    assert run(state_file, "redrive") == 0
    assert listed(state_file, capsys) == []
    assert len(spy_action.runs) == 2


def test_a_rejected_replay_adds_no_second_copy_of_the_letter(
    cloud: tuple[TaskCloud, Path], spy_action: ActionSpy, capsys: pytest.CaptureFixture[str]
) -> None:
    running, state_file = cloud
    spy_action.behaviour = reject
    schedule(running, "rejected-2")

    assert run(state_file, "redrive") == 1
    assert run(state_file, "redrive") == 1

    assert [x["task_id"] for x in listed(state_file, capsys)] == ["rejected-2"]


def test_a_delivery_letter_answered_404_is_kept(
    cloud: tuple[TaskCloud, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    running, state_file = cloud
    resources = running.cloud.endpoint.resources if running.cloud.endpoint is not None else None
    assert resources is not None
    event = json.loads(build_target_input(_envelope("lost-1")))
    event["path"] = event["resource"] = "/api/v1/tasks/nowhere"
    # A role the invoke role is not: Scheduler cannot deliver it, and dead-letters the event.
    create_schedule(
        boto3.client("scheduler"),
        resources,
        "lost-1",
        f"at({(running.now + timedelta(seconds=1)).strftime('%Y-%m-%dT%H:%M:%S')})",
        role_arn="arn:aws:iam::123456789012:role/SomeoneElse",
        input_text=json.dumps(event),
    )
    running.advance(seconds=5)
    assert len(queue_messages(boto3.client("sqs"), resources.queue_urls["ScheduleDeliveryDLQ"])) == 1
    capsys.readouterr()

    assert run(state_file, "redrive") == 1

    assert "rejected, message kept: task lost-1" in capsys.readouterr().out
    assert [x["kind"] for x in listed(state_file, capsys)] == ["delivery"]


def test_redrive_prints_no_tracebacks_and_no_metric_lines(
    cloud: tuple[TaskCloud, Path], spy_action: ActionSpy, capfd: pytest.CaptureFixture[str]
) -> None:
    running, state_file = cloud
    spy_action.behaviour = fail
    schedule(running, "quiet-1")
    capfd.readouterr()

    assert run(state_file, "redrive") == 1

    captured = capfd.readouterr()
    assert "Traceback" not in captured.out + captured.err
    assert '{"_aws"' not in captured.out


def _envelope(task_id: str) -> Any:
    from taskcore.envelope import TaskEnvelope

    return TaskEnvelope.model_construct(task_id=task_id, user_id=1, action="spy", data={})
