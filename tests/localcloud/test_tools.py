"""The commands around the local cloud: `make dev`'s entry point, `make dlq` / `make redrive`, --persist, the clocks."""

from __future__ import annotations

import io
import json
import os
import signal
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from callback_app.handler import lambda_handler
from localcloud import dev, dlq
from localcloud.clock import FakeClock, SystemClock
from localcloud.cloud import CloudOptions, LocalCloud
from localcloud.runstate import NotRunning, RunState, read_state, write_state
from taskcore.registry import TaskContext
from tests.callback.helpers import ActionSpy, AnyData


def test_fake_clock_moves_only_forward_and_wait_jumps_unless_woken() -> None:
    clock = FakeClock(datetime(2026, 12, 1, tzinfo=UTC))
    wake = threading.Event()

    assert clock.wait(wake, 30) is False
    assert clock.now() == datetime(2026, 12, 1, 0, 0, 30, tzinfo=UTC)
    wake.set()
    assert clock.wait(wake, 30) is True
    assert clock.now() == datetime(2026, 12, 1, 0, 0, 30, tzinfo=UTC)
    with pytest.raises(ValueError, match="cannot go back"):
        clock.set(datetime(2026, 11, 30, tzinfo=UTC))
    with pytest.raises(ValueError, match="aware"):
        FakeClock(datetime(2026, 12, 1))


def test_system_clock_is_aware_utc_and_wakes_early_when_told() -> None:
    clock = SystemClock()
    wake = threading.Event()
    wake.set()
    started = time.monotonic()

    assert clock.wait(wake, 5) is True
    assert time.monotonic() - started < 1
    assert clock.now().tzinfo is UTC


def test_state_file_missing_or_stale_means_not_running(tmp_path: Path) -> None:
    with pytest.raises(NotRunning, match="no local cloud is running"):
        read_state(tmp_path / "state.json")
    write_state(tmp_path / "state.json", RunState(pid=2**22 + 12345, api_url="", moto_url="", environment={}))
    with pytest.raises(NotRunning, match="is not running"):
        read_state(tmp_path / "state.json")


def test_dlq_commands_say_when_no_local_cloud_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert dlq.run(dlq.parse_args(["list", "--state-file", str(tmp_path / "none.json")])) == 2
    assert "make dev" in capsys.readouterr().err


@pytest.mark.integration
def test_dev_entry_point_serves_until_ctrl_c_and_cleans_up(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state_file = tmp_path / "state.json"
    seen: dict[str, int] = {}

    def developer() -> None:
        deadline = time.monotonic() + 30
        while not state_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        try:
            api = json.loads(state_file.read_text())["api_url"]
            seen["docs"] = httpx.get(f"{api}/docs", timeout=10).status_code
            seen["stats"] = httpx.get(f"{api}/_localcloud/stats", timeout=10).status_code
        finally:
            os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=developer, daemon=True).start()
    code = dev.run(dev.parse_args(["--port", "0", "--state-file", str(state_file), "--quiet"]))

    assert code == 0
    assert seen == {"docs": 200, "stats": 200}
    assert not state_file.exists()
    out = capsys.readouterr().out
    assert "Local cloud ready" in out
    assert "up to 10 execution environments (--concurrency), Timeout 30 s" in out  # template.yaml's Timeout
    assert "delay_seconds" in out  # the example curl


def test_dev_rejects_bad_retry_delays() -> None:
    with pytest.raises(SystemExit):
        dev.parse_args(["--lambda-retry-delays", "soon"])
    assert dev.parse_args(["--lambda-retry-delays", "0.5,1"]).lambda_retry_delays == (0.5, 1.0)


@pytest.mark.parametrize("bad", ["0", "-1", "many"])
def test_dev_takes_a_concurrency_of_at_least_one(bad: str) -> None:
    assert dev.parse_args([]).concurrency == 10
    assert dev.parse_args(["--concurrency", "3"]).concurrency == 3
    with pytest.raises(SystemExit):
        dev.parse_args(["--concurrency", bad])


@pytest.mark.integration
def test_make_dlq_lists_and_make_redrive_replays_dead_letters(
    tmp_path: Path, spy_action: ActionSpy, capsys: pytest.CaptureFixture[str]
) -> None:
    def fail_three_times(data: AnyData, task: TaskContext) -> None:
        if len(spy_action.runs) <= 3:
            raise RuntimeError("downstream unavailable")

    spy_action.behaviour = fail_three_times
    clock = FakeClock(datetime.now(UTC))
    with LocalCloud(CloudOptions(port=0), clock=clock, log=lambda line: None, callback_handler=lambda_handler) as cloud:
        clock.set(datetime.now(UTC))
        created = httpx.post(
            f"{cloud.api_url}/api/v1/schedules",
            json={"task_id": "dlq-1", "user_id": 1, "action": "spy", "data": {}, "delay_seconds": 1},
        )
        assert created.status_code == 201
        assert cloud.dispatcher is not None
        cloud.run_until(clock.now() + timedelta(seconds=10))
        state_file = tmp_path / "state.json"
        write_state(
            state_file,
            RunState(pid=os.getpid(), api_url=cloud.api_url, moto_url=cloud.moto_url, environment=cloud.environment),
        )
        capsys.readouterr()

        assert_make_dlq_lists_the_task_and_make_redrive_replays_it(state_file, capsys)
    assert len(spy_action.runs) == 4


def assert_make_dlq_lists_the_task_and_make_redrive_replays_it(
    state_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """dlq-1 is listed (as text and as JSON), then replayed, then the queues are empty."""
    assert dlq.run(dlq.parse_args(["list", "--state-file", str(state_file)])) == 0
    listing = capsys.readouterr().out
    assert "task dlq-1 (spy)" in listing
    assert "after 3 attempt(s) [RetriesExhausted]" in listing
    assert dlq.run(dlq.parse_args(["list", "--json", "--state-file", str(state_file)])) == 0
    (as_json,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (as_json["task_id"], as_json["queue"]) == ("dlq-1", "CallbackFailureQueue")

    assert dlq.run(dlq.parse_args(["redrive", "--state-file", str(state_file)])) == 0
    assert "1 succeeded, 0 rejected, 0 failed" in capsys.readouterr().out
    assert dlq.run(dlq.parse_args(["list", "--state-file", str(state_file)])) == 0
    assert "No dead-lettered tasks." in capsys.readouterr().out


@pytest.mark.integration
def test_persisted_state_survives_a_restart(tmp_path: Path) -> None:
    recording = tmp_path / "aws.jsonl"
    body = {"task_id": "keep-1", "user_id": 1, "action": "send_notification", "data": {}, "cron": "cron(0 9 * * ? *)"}
    with LocalCloud(CloudOptions(port=0, persist=recording, api_only=True), log=lambda line: None) as cloud:
        assert httpx.post(f"{cloud.api_url}/api/v1/schedules", json=body).status_code == 201

    with LocalCloud(CloudOptions(port=0, persist=recording, api_only=True), log=lambda line: None) as cloud:
        assert httpx.get(f"{cloud.api_url}/api/v1/schedules/keep-1").status_code == 200

    with LocalCloud(CloudOptions(port=0, api_only=True), log=lambda line: None) as cloud:  # in memory by default
        assert httpx.get(f"{cloud.api_url}/api/v1/schedules/keep-1").status_code == 404


def test_metric_lines_are_kept_out_of_the_dev_output() -> None:
    out = io.StringIO()
    filtered = dev.MetricLineFilter(out)

    filtered.write('{"level":"INFO","message":"task outcome"}\n{"_aws":{"Timestamp":1}}\n')
    filtered.write("a line in")
    filtered.write(" two writes\n")

    assert out.getvalue() == '{"level":"INFO","message":"task outcome"}\na line in two writes\n'


@pytest.mark.integration
def test_a_port_in_use_is_named_with_what_to_do(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        code = dev.run(dev.parse_args(["--port", str(port), "--state-file", str(tmp_path / "s.json"), "--quiet"]))

    assert code == 1
    err = capsys.readouterr().err
    assert f"cannot start the local cloud: 127.0.0.1:{port} is already in use" in err
    assert f"make dev PORT={port + 1}" in err
