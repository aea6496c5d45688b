"""Where a running local cloud says how to reach it, so that `make dlq` / `make redrive` find it."""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from localcloud.template import ROOT

DEFAULT_STATE_FILE = ROOT / ".localcloud" / "state.json"


class NotRunning(RuntimeError):
    """Raise when no local cloud answers at the address its state file gives."""


@dataclass(frozen=True)
class RunState:
    """What `make dev` / `make api` publish while they run."""

    pid: int
    api_url: str
    moto_url: str
    environment: dict[str, str]
    queues: dict[str, str] = field(default_factory=dict)
    persist: str | None = None
    dispatcher: bool = True
    #: CallbackFunction as the cloud runs it in execution environments (a FunctionSpec's fields: its Handler,
    #: Timeout, ...), so that `make redrive` replays under the same limits; None: in process (a test's cloud).
    callback: dict[str, Any] | None = None


def write_state(path: Path, state: RunState) -> None:
    """Publish `state` (atomically: readers never see half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(state), indent=2), encoding="utf-8")
    tmp.replace(path)


def clear_state(path: Path, pid: int) -> None:
    """Remove the state file if it is this process's."""
    try:
        current = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if current.get("pid") == pid:
        path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_state(path: Path = DEFAULT_STATE_FILE) -> RunState:
    """The running local cloud's state; raises NotRunning with what to do when there is none."""
    hint = "start it with `make dev` (or `make api`) in another terminal"
    try:
        raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        state = RunState(**raw)
    except FileNotFoundError:
        raise NotRunning(f"no local cloud is running ({path} does not exist): {hint}") from None
    except (OSError, ValueError, TypeError) as exc:
        raise NotRunning(f"cannot read {path} ({exc}): {hint}") from None
    if not _alive(state.pid):
        raise NotRunning(f"the local cloud recorded in {path} (pid {state.pid}) is not running: {hint}")
    parsed = urlsplit(state.moto_url)
    try:
        socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 80), timeout=5).close()
    except OSError as exc:
        raise NotRunning(f"the local cloud's AWS endpoint {state.moto_url} does not answer ({exc}): {hint}") from None
    return state
