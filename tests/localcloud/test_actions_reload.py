"""The watch on the action files and what a change does (the whole of it, in `make dev`: test_action_reload.py)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from localcloud.actions_reload import ActionReloader, ActionWatcher, add_action_directories, snapshot
from tests.unit.test_registry_reload import Package, package

__all__ = ["package"]


def test_the_watcher_sees_a_file_added_changed_and_removed_and_nothing_else(tmp_path: Path) -> None:
    changes: list[int] = []
    watcher = ActionWatcher([tmp_path], lambda: changes.append(1))
    action = tmp_path / "greet.py"

    assert watcher.poll() is False
    action.write_text("x = 1\n")
    assert watcher.poll() is True
    assert watcher.poll() is False
    (tmp_path / "notes.txt").write_text("not an action")
    assert watcher.poll() is False
    action.write_text("x = 22\n")
    os.utime(action, ns=(1, 1))  # a changed size alone is a change too
    assert watcher.poll() is True
    action.unlink()
    assert watcher.poll() is True
    assert len(changes) == 3


def test_the_watcher_thread_calls_back_on_a_change_and_stops(tmp_path: Path) -> None:
    import threading

    seen = threading.Event()
    watcher = ActionWatcher([tmp_path], seen.set, interval=0.05).start()
    try:
        (tmp_path / "greet.py").write_text("x = 1\n")
        assert seen.wait(5)
    finally:
        watcher.close()
    assert snapshot([tmp_path]) == watcher._seen


def test_a_reload_forgets_what_was_built_from_the_actions_and_recycles_the_environments(package: Package) -> None:
    package.write("greet", "greet", 1)
    package.registry.names()
    logs: list[dict[str, Any]] = []
    forgotten: list[str] = []
    reloader = ActionReloader(
        recycle=lambda: 2, forget=[lambda: forgotten.append("openapi")], log=logs.append, registry=package.registry
    )

    package.write("wave", "wave", 1)
    reloader.reload()

    assert forgotten == ["openapi"]
    assert [(r["message"], r["actions"], r["environments_recycled"]) for r in logs] == [
        ("actions reloaded", ["greet", "wave"], 2)
    ]


def test_a_file_that_does_not_import_is_logged_and_changes_nothing(package: Package) -> None:
    package.write("greet", "greet", 1)
    package.registry.names()
    logs: list[dict[str, Any]] = []
    recycled: list[int] = []

    def recycle() -> int:
        recycled.append(1)
        return 1

    reloader = ActionReloader(recycle=recycle, log=logs.append, registry=package.registry)

    (package.directory / "wave.py").write_text("def half(:\n")
    reloader.reload()

    (record,) = logs
    assert record["level"] == "ERROR"
    assert record["message"].startswith("actions not reloaded")
    assert "SyntaxError" in record["error"]
    assert "wave.py" in record["error"]
    assert recycled == []
    assert package.registry.names() == ["greet"]


def test_added_action_directories_are_taken_out_again(tmp_path: Path) -> None:
    import taskcore.actions

    before = list(taskcore.actions.__path__)
    remove = add_action_directories([tmp_path, tmp_path])

    assert taskcore.actions.__path__ == [*before, str(tmp_path.resolve())]
    remove()
    assert taskcore.actions.__path__ == before
