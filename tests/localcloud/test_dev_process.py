"""`make dev` as a developer runs it: a real process on free ports, real time, Ctrl-C to stop."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import httpx
import pytest

from localcloud.template import ROOT

pytestmark = pytest.mark.integration


class DevProcess:
    """`python -m localcloud.dev` with its stdout read line by line."""

    def __init__(self, state_file: Path, *extra: str) -> None:
        self.state_file = state_file
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
            [sys.executable, "-m", "localcloud.dev", "--port", "0", "--state-file", str(state_file), *extra],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        assert self.process.stdout is not None
        self._reader = threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True)
        self._reader.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put(line.rstrip("\n"))

    def state(self, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.state_file.exists():
                loaded: dict[str, Any] = json.loads(self.state_file.read_text())
                return loaded
            assert self.process.poll() is None, self.drain()
            time.sleep(0.05)
        raise AssertionError(f"no state file after {timeout} s: {self.drain()}")

    def wait_for(self, predicate: Any, timeout: float) -> dict[str, Any]:
        """The first JSON line satisfying `predicate` within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            self.seen.append(line)
            if line.startswith("{"):
                record = json.loads(line)
                if predicate(record):
                    return dict(record)
        raise AssertionError("not seen in time; output:\n" + "\n".join(self.seen))

    def drain(self) -> str:
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return "\n".join(self.seen)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)
        self._reader.join(timeout=10)
        assert self.process.stdout is not None
        self.process.stdout.close()


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[DevProcess]:
    process = DevProcess(tmp_path / "state.json")
    yield process
    process.stop()


def listeners(port: int) -> set[int]:
    """The pids of the processes listening on loopback TCP `port` (Linux: /proc/net/tcp and each process's fds)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":  # 0A: LISTEN
            inodes.add(f"socket:[{fields[9]}]")
    pids = set()
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        try:
            if any(os.readlink(fd) in inodes for fd in fd_dir.iterdir()):
                pids.add(int(fd_dir.parent.name))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return pids


def port_of(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None
    return port


def dead_letter_listing(state_file: Path) -> subprocess.CompletedProcess[str]:
    """`make dlq` against the local cloud that `state_file` names."""
    return subprocess.run(  # noqa: S603 - this interpreter, fixed arguments
        [sys.executable, "-m", "localcloud.dlq", "list", "--state-file", str(state_file)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def assert_a_task_scheduled_over_http_runs(dev: DevProcess, api: str) -> dict[str, Any]:
    """Schedule a task 2 s ahead through the API and see it run; the execution environment's start line."""
    assert httpx.get(f"{api}/docs", timeout=10).status_code == 200

    created = httpx.post(
        f"{api}/api/v1/schedules",
        json={"task_id": "dev-e2e-1", "user_id": 1, "action": "send_notification", "data": {}, "delay_seconds": 2},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    # The first invocation starts an execution environment (a cold start) whose log lines are on our stdout.
    outcome = dev.wait_for(lambda r: r.get("message") == "task outcome" and r.get("task_id") == "dev-e2e-1", 20)

    assert outcome["outcome"] == "succeeded"
    assert outcome["scheduled_time"] == created.json()["next_run_at"]
    assert outcome["correlation_id"] == "dev-e2e-1"
    return assert_the_log_shows_the_delivery_and_one_cold_start(dev)


def assert_the_log_shows_the_delivery_and_one_cold_start(dev: DevProcess) -> dict[str, Any]:
    """The dispatcher's delivery line, one environment start (returned) and no metric lines (no --metrics)."""
    delivered = [json.loads(x) for x in dev.seen if '"delivered"' in x and "RecorderSweep" not in x]
    assert delivered
    assert delivered[0]["late_ms"] >= 0
    environments = [json.loads(x) for x in dev.seen if "execution environment started" in x]
    # The callback's one; the recorder's too once its sweep (every minute) has come due.
    (started,) = [e for e in environments if e["function"] == "CallbackFunction"]
    assert not [x for x in dev.seen if x.startswith('{"_aws"')]  # metric lines hidden without --metrics
    return dict(started)


def assert_ctrl_c_stops_the_local_cloud_and_its_environment(
    dev: DevProcess, state: dict[str, Any], started: dict[str, Any]
) -> None:
    api = state["api_url"]
    assert dev.process.pid in listeners(port_of(api))  # (so the check after the stop can see a listener)
    dev.process.send_signal(signal.SIGINT)
    assert dev.process.wait(timeout=15) == 0
    assert not dev.state_file.exists()
    assert not Path(f"/proc/{started['pid']}").exists()  # the execution environment stopped with it
    for url in (api, state["moto_url"]):  # nothing of the local cloud listens any more (another test may, since)
        assert not listeners(port_of(url)) & {dev.process.pid, started["pid"]}


def test_make_dev_runs_a_task_scheduled_over_http_and_stops_cleanly_on_ctrl_c(dev: DevProcess) -> None:
    state = dev.state()
    started = assert_a_task_scheduled_over_http_runs(dev, state["api_url"])

    listing = dead_letter_listing(dev.state_file)
    assert listing.returncode == 0, listing.stderr
    assert "No dead-lettered tasks." in listing.stdout

    assert_ctrl_c_stops_the_local_cloud_and_its_environment(dev, state, started)

    after = dead_letter_listing(dev.state_file)
    assert after.returncode == 2
    assert "no local cloud is running" in after.stderr
