"""How the local cloud is run: its options (the command line of `python -m localcloud.dev`), and what whoever
assembles it may hand in: the console, which the local cloud mounts at /console without importing it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from localcloud.adverse import Adversity
from localcloud.apiserver import Handler
from localcloud.environments import FunctionSpec
from localcloud.lambda_service import DEFAULT_RETRY_DELAYS

__all__ = ["Adversity", "CloudOptions", "ConsoleFactory", "MountedConsole"]


@dataclass(frozen=True)
class CloudOptions:
    """How to run the local cloud (the command line of `python -m localcloud.dev`)."""

    host: str = "127.0.0.1"
    port: int = 3000
    moto_port: int = 0
    api_only: bool = False
    poll_interval: float = 0.25
    lambda_retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS
    delivery_retry_base: float = 1.0
    persist: Path | None = None
    access_log: bool = True
    #: Execution environments CallbackFunction may run at once (Lambda: one per concurrent invocation).
    concurrency: int = 10
    #: The callback's entry point as an import path; None: template.yaml's Handler (tests name their own).
    callback_handler_path: str | None = None
    #: Seconds before an invocation is stopped; None: the function's Timeout in template.yaml.
    callback_timeout: float | None = None
    #: Print the callback's CloudWatch EMF metric lines too (`--metrics`).
    metrics: bool = False
    #: Re-import the actions when their files change, without a restart (`make dev`; `--no-reload` turns it off).
    reload_actions: bool = False
    #: More directories of action modules, as if in layers/shared/taskcore/actions (`--actions-dir`).
    action_dirs: tuple[Path, ...] = ()
    #: AWS as it really behaves (`--adverse`: `Adversity.preset()`; each knob settable on its own). Default: kind.
    adversity: Adversity = field(default_factory=Adversity)


class MountedConsole(Protocol):
    """What the local cloud serves at /console: a Lambda entry point for its proxy events, and how to end it."""

    handler: Handler

    def forget_actions(self) -> None:
        """Forget what was built from the actions (they were reloaded)."""
        ...

    def close(self) -> None:
        """Stop what it runs."""
        ...


class ConsoleFactory(Protocol):
    """Builds the console for a running cloud: its API's URL, its environment, and the callback as a replay of
    a dead letter runs it (None: in this process). `console.local.LocalConsole` is one."""

    def __call__(
        self, api_url: Callable[[], str], environment: Mapping[str, str], *, callback: FunctionSpec | None
    ) -> MountedConsole: ...
