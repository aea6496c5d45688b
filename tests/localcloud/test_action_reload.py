"""A running `make dev` takes a new or changed action file at once: no restart, and nothing it holds is lost.

The action is written into a directory the test owns (`--actions-dir`, a part of the action package as
layers/shared/taskcore/actions is), so nothing is written into the repository.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.localcloud.test_dev_process import DevProcess

pytestmark = pytest.mark.integration

ACTION = '''"""greet_on_the_fly: an action written while the local cloud runs."""

from pydantic import BaseModel

from taskcore import TaskContext, action


class GreetData(BaseModel):
    who: str


@action("greet_on_the_fly", GreetData)
def greet(data: GreetData, task: TaskContext) -> dict[str, str]:
    """Greet someone."""
    return {{"greeting": "{greeting}, " + data.who}}
'''


def write_action(directory: Path, greeting: str) -> None:
    """Write the action file whole (as an editor saves it), so the watcher never sees half of it."""
    partial = directory / ".greet_on_the_fly.partial"
    partial.write_text(ACTION.format(greeting=greeting))
    os.replace(partial, directory / "greet_on_the_fly.py")


@pytest.fixture
def actions(tmp_path: Path) -> Path:
    directory = tmp_path / "actions"
    directory.mkdir()
    return directory


@pytest.fixture
def dev(tmp_path: Path, actions: Path) -> Iterator[DevProcess]:
    process = DevProcess(tmp_path / "state.json", "--quiet", "--actions-dir", str(actions))
    yield process
    process.stop()


def greet_task(task_id: str) -> dict[str, Any]:
    return {"task_id": task_id, "user_id": 1, "action": "greet_on_the_fly", "data": {"who": "Ada"}, "delay_seconds": 1}


def run_result(api: str, task_id: str) -> Any:
    runs = httpx.get(f"{api}/api/v1/schedules/{task_id}/runs", timeout=10).json()["items"]
    return runs[0]["result"] if runs else None


def assert_the_new_action_is_registered_and_documented(dev: DevProcess, api: str) -> None:
    reloaded = dev.wait_for(lambda r: r.get("message") == "actions reloaded", 15)
    assert "greet_on_the_fly" in reloaded["actions"]
    assert "greet_on_the_fly" in httpx.get(f"{api}/health", timeout=10).json()["actions"]
    document = httpx.get(f"{api}/openapi.json", timeout=10).json()
    assert "ActionData.greet_on_the_fly" in document["components"]["schemas"]


def assert_a_greeting_task_runs(dev: DevProcess, api: str, task_id: str, result: dict[str, str]) -> None:
    """A task of the action is accepted, runs and returns `result`."""
    created = httpx.post(f"{api}/api/v1/schedules", json=greet_task(task_id), timeout=10)
    assert created.status_code == 201, created.text
    outcome = dev.wait_for(lambda r: r.get("message") == "task outcome" and r.get("task_id") == task_id, 30)
    assert outcome["outcome"] == "succeeded"
    assert run_result(api, task_id) == result


def test_a_new_then_changed_action_file_is_accepted_and_run_without_a_restart(dev: DevProcess, actions: Path) -> None:
    api = dev.state()["api_url"]
    before = httpx.post(f"{api}/api/v1/schedules", json=greet_task("fly-0"), timeout=10)
    assert before.status_code == 422
    assert "unknown action 'greet_on_the_fly'" in before.text

    write_action(actions, "Hello")
    assert_the_new_action_is_registered_and_documented(dev, api)
    assert_a_greeting_task_runs(dev, api, "fly-1", {"greeting": "Hello, Ada"})

    # Changed: the environment that ran the first version is warm, and must not run it again.
    write_action(actions, "Good evening")
    again = dev.wait_for(lambda r: r.get("message") == "actions reloaded", 15)
    # The callback's (and the recorder's, when its every-minute sweep has started one: they share the code).
    assert again["environments_recycled"] >= 1
    assert_a_greeting_task_runs(dev, api, "fly-2", {"greeting": "Good evening, Ada"})

    # Nothing was lost on the way: the local cloud kept its state.
    kept = httpx.get(f"{api}/api/v1/schedules/fly-1", timeout=10).json()
    assert kept["status"] == "succeeded"
    assert run_result(api, "fly-1") == {"greeting": "Hello, Ada"}
