"""`make dev` picks up a new or changed action without a restart (and so without losing its in-memory state).

A thread polls the action directories (`taskcore.actions.__path__`: layers/shared/taskcore/actions, plus any
`--actions-dir`) for `*.py` files added, changed or removed. On a change, `ActionReloader.reload`:

1. re-imports the action modules in this process (`registry.reload()`), where the scheduler API validates a
   task's action and data, and forgets the OpenAPI document built from them (the API's, and the console's);
2. recycles the callback's execution environments: idle ones are stopped, busy ones finish their invocation
   and are then stopped, so every later invocation starts in an environment that imports the new code (on
   AWS, a deployment does the same: new invocations get new environments).

A file that does not import (a save in the middle of an edit) changes nothing: the error is logged, the old
actions stay, and the next save is tried again. moto's state, the schedules and the queues are not touched.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from localcloud.stats import LogSink, log_record, stdout_sink

#: Seconds between two looks at the directories (a stat of each action file: a few files, microseconds).
POLL_INTERVAL = 0.5

if TYPE_CHECKING:
    from taskcore.registry import ActionRegistry

Snapshot = dict[str, tuple[int, int]]


def snapshot(directories: Iterable[Path]) -> Snapshot:
    """Each `*.py` file in the directories, with its modification time and size."""
    files: Snapshot = {}
    for directory in directories:
        for path in sorted(directory.glob("*.py")):
            try:
                stat = path.stat()
            except FileNotFoundError:  # removed between the listing and the stat
                continue
            files[str(path)] = (stat.st_mtime_ns, stat.st_size)
    return files


def action_directories() -> list[Path]:
    """Where the registry imports actions from (the layer's package, plus what `--actions-dir` added)."""
    import taskcore.actions

    return [Path(path) for path in taskcore.actions.__path__]


def add_action_directories(directories: Sequence[Path]) -> Callable[[], None]:
    """Make `directories` part of the action package in this process; returns what takes them out again."""
    import taskcore.actions

    resolved = dict.fromkeys(str(directory.resolve()) for directory in directories)
    added = [path for path in resolved if path not in taskcore.actions.__path__]
    taskcore.actions.__path__.extend(added)

    def remove() -> None:
        for path in added:
            if path in taskcore.actions.__path__:
                taskcore.actions.__path__.remove(path)

    return remove


class ActionWatcher:
    """Calls `on_change` (from its own thread) whenever the `*.py` files of `directories` change."""

    def __init__(
        self, directories: Sequence[Path], on_change: Callable[[], None], *, interval: float = POLL_INTERVAL
    ) -> None:
        self.directories = list(directories)
        self._on_change = on_change
        self._interval = interval
        self._stop = threading.Event()
        self._seen = snapshot(self.directories)
        self._thread = threading.Thread(target=self._watch, name="localcloud-actions", daemon=True)

    def start(self) -> ActionWatcher:
        """Start watching."""
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop watching."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def poll(self) -> bool:
        """Look once; call `on_change` and answer True when something changed since the last look."""
        now = snapshot(self.directories)
        if now == self._seen:
            return False
        self._seen = now
        self._on_change()
        return True

    def _watch(self) -> None:
        while not self._stop.wait(self._interval):
            self.poll()


class ActionReloader:
    """What a change of the action files does to the running local cloud (see the module's docstring)."""

    def __init__(
        self,
        *,
        recycle: Callable[[], int] | None = None,
        forget: Sequence[Callable[[], None]] = (),
        log: LogSink = stdout_sink,
        registry: ActionRegistry | None = None,
    ) -> None:
        if registry is None:
            from taskcore.registry import registry as shared

            registry = shared
        self._registry: ActionRegistry = registry
        self._recycle = recycle
        self._forget = list(forget)
        self._log = log

    def reload(self) -> None:
        """Re-import the actions here, then recycle the environments; on an import error, keep everything."""
        registry = self._registry
        try:
            registry.reload()
        except Exception as exc:  # the file being edited: say where, keep the actions that work
            self._log(
                log_record(
                    "actions",
                    "actions not reloaded: a module does not import (the previous actions stay)",
                    level="ERROR",
                    error=f"{type(exc).__name__}: {exc}",
                )
            )
            return
        for forget in self._forget:
            forget()
        recycled = self._recycle() if self._recycle is not None else None
        fields: dict[str, Any] = {"actions": registry.names(), "environments_recycled": recycled}
        self._log(log_record("actions", "actions reloaded", **fields))


def forget_scheduler_openapi() -> None:
    """The scheduler app builds its OpenAPI document (with the actions) once: build it again on the next request."""
    from scheduler_app.main import app

    app.openapi_schema = None
