"""The action registry: a name, a pydantic model for its `data`, and the function that runs it.

Both functions use the same registry, so the scheduler refuses an unknown action or invalid
data when the task is scheduled, not hours later when it runs.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import pkgutil
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from taskcore.clock import utcnow

DataT = TypeVar("DataT", bound=BaseModel)
ActionResult = Mapping[str, Any] | None

#: How many times Lambda invokes one event at most: 1 + the callback's MaximumRetryAttempts (template.yaml).
MAX_INVOCATIONS = 3
#: The callback function's Timeout in seconds (template.yaml); an action's own `timeout` must be shorter.
FUNCTION_TIMEOUT_SECONDS = 30


class UnknownActionError(LookupError):
    """Raise when a task names an action that is not registered."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        self.known = known
        super().__init__(f"unknown action {name!r}; registered actions: {', '.join(known) or '(none)'}")


class TaskRejected(Exception):
    """Raise from an action when the task can never succeed; it is answered 422 and not retried."""


@dataclass(frozen=True)
class TaskContext:
    """What an action knows about the occurrence it runs for."""

    task_id: str
    user_id: int | str
    action: str
    scheduled_time: datetime | None = None
    attempt: int | None = None
    schedule_arn: str | None = None
    execution_id: str | None = None
    #: Stable for the occurrence: the same on every attempt, duplicate delivery and redrive of it, different
    #: for every other occurrence (and for another owner's task of the same id). Hand it to a downstream API
    #: as its idempotency key: an action killed by its timeout runs again in full (docs/adding-an-action.md).
    idempotency_key: str | None = None
    #: The process's clock (`taskcore.clock`): the wall clock in Lambda, the virtual one under the test kit.
    clock: Callable[[], datetime] = field(default=utcnow, repr=False, compare=False)
    #: Seconds the invocation has left before the function's timeout (None: not known, e.g. a direct call).
    remaining: Callable[[], float | None] = field(default=lambda: None, repr=False, compare=False)

    def now(self) -> datetime:
        """The current time (aware UTC) as the system that runs the action sees it: a test moves it."""
        return self.clock()

    def time_left(self) -> float | None:
        """Seconds left before the function times out (Lambda's remaining time), or None when it is not known."""
        return self.remaining()


def occurrence_key(occurrence: Mapping[str, str | None]) -> str:
    """The idempotency key an action is given for an occurrence (task id, scheduled time, owner's scope).

    A digest of the canonical JSON of those fields, so it is the same wherever it is computed and says
    nothing about the task: `occ_` and 32 hex digits.
    """
    canonical = json.dumps(dict(occurrence), sort_keys=True, separators=(",", ":"))
    return "occ_" + hashlib.sha256(canonical.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Action(Generic[DataT]):
    """A registered action: `run(data, task)` is called with `data` parsed by `model`."""

    name: str
    model: type[DataT]
    run: Callable[[DataT, TaskContext], ActionResult]
    description: str = ""
    #: Seconds an attempt of this action may take (None: until the function's own deadline); enforced.
    timeout: float | None = None
    #: Attempts of one occurrence that may run this action (None: all of Lambda's); one past it does not run.
    max_attempts: int | None = None

    def parse(self, data: Mapping[str, Any]) -> DataT:
        """Validate `data` against this action's model; raise pydantic's ValidationError."""
        return self.model.model_validate(data)


def check_limits(name: str, timeout: float | None, max_attempts: int | None) -> None:
    """Raise ValueError for a `timeout` or `max_attempts` the callback function could not keep."""
    if timeout is not None and not 0 < timeout < FUNCTION_TIMEOUT_SECONDS:
        raise ValueError(
            f"action {name!r}: timeout must be more than 0 and less than the function's Timeout "
            f"({FUNCTION_TIMEOUT_SECONDS} s), got {timeout!r}"
        )
    if max_attempts is not None and not (isinstance(max_attempts, int) and 1 <= max_attempts <= MAX_INVOCATIONS):
        raise ValueError(
            f"action {name!r}: max_attempts must be 1 to {MAX_INVOCATIONS} (Lambda's), got {max_attempts!r}"
        )


@dataclass
class ActionRegistry:
    """Named actions. Modules in `package` are imported on first use, so one file adds one action."""

    package: str | None = None
    _actions: dict[str, Action[Any]] = field(default_factory=dict)
    _loaded: bool = False
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    #: Where registrations go while `reload` imports the modules afresh (readers keep the old actions meanwhile).
    _staging: dict[str, Action[Any]] | None = field(default=None, repr=False)

    def action(
        self,
        name: str,
        model: type[DataT],
        *,
        description: str = "",
        timeout: float | None = None,
        max_attempts: int | None = None,
    ) -> Callable[[Callable[[DataT, TaskContext], ActionResult]], Callable[[DataT, TaskContext], ActionResult]]:
        """Register the decorated function as action `name` whose `data` is validated by `model`.

        `timeout` (seconds, below the function's Timeout) and `max_attempts` (1 to Lambda's 3) bound each
        attempt and the occurrence's retries (docs/adding-an-action.md, "Timeouts and retries").
        """
        check_limits(name, timeout, max_attempts)

        def decorate(fn: Callable[[DataT, TaskContext], ActionResult]) -> Callable[[DataT, TaskContext], ActionResult]:
            actions = self._actions if self._staging is None else self._staging
            existing = actions.get(name)
            if existing is not None and existing.run is not fn:
                raise ValueError(f"action {name!r} is registered twice ({existing.run.__module__} and {fn.__module__})")
            summary = description or (fn.__doc__ or "").strip().split("\n", 1)[0]
            actions[name] = Action(name, model, fn, summary, timeout=timeout, max_attempts=max_attempts)
            return fn

        return decorate

    def unregister(self, name: str) -> None:
        """Remove action `name` (tests register throwaway actions and remove them afterwards)."""
        self._actions.pop(name, None)

    def _load(self) -> None:
        if self._loaded or self.package is None:
            return
        # The batch endpoint's threads may all arrive here first: only one imports, the others wait.
        with self._lock:
            if self._loaded:
                return
            self._import_modules(self.package)
            self._loaded = True

    @staticmethod
    def _import_modules(package: str) -> None:
        pkg = importlib.import_module(package)
        for module in pkgutil.iter_modules(pkg.__path__):
            if not module.name.startswith("_"):
                importlib.import_module(f"{package}.{module.name}")

    def reload(self) -> None:
        """Import the package's modules afresh: added, changed and removed files take effect.

        The local cloud calls it when an action file changes (on Lambda, a deployment starts new containers).
        Readers see the old actions until all the new ones are imported; when an import fails, it raises and
        nothing changes.
        """
        if self.package is None:
            return
        prefix = f"{self.package}."
        with self._lock:
            self._load()
            previous = {name: module for name, module in sys.modules.items() if name.startswith(prefix)}
            for name in previous:
                del sys.modules[name]
            importlib.invalidate_caches()  # a file added since the last import is found
            # Actions registered from elsewhere (not by the package's modules) stay.
            self._staging = {n: a for n, a in self._actions.items() if not a.run.__module__.startswith(prefix)}
            try:
                self._import_modules(self.package)
            except BaseException:
                for name in [name for name in sys.modules if name.startswith(prefix)]:
                    del sys.modules[name]
                sys.modules.update(previous)
                raise
            else:
                self._actions = self._staging
            finally:
                self._staging = None

    def names(self) -> list[str]:
        """Registered action names, sorted."""
        self._load()
        return sorted(self._actions)

    def get(self, name: str) -> Action[Any]:
        """Return the action called `name`; raise UnknownActionError."""
        self._load()
        try:
            return self._actions[name]
        except KeyError:
            raise UnknownActionError(name, self.names()) from None

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._actions


#: The registry both functions use; actions live in `taskcore.actions`, one module each.
registry = ActionRegistry(package="taskcore.actions")
action = registry.action

__all__ = [
    "FUNCTION_TIMEOUT_SECONDS",
    "MAX_INVOCATIONS",
    "Action",
    "ActionRegistry",
    "ActionResult",
    "TaskContext",
    "TaskRejected",
    "UnknownActionError",
    "ValidationError",
    "action",
    "check_limits",
    "occurrence_key",
    "registry",
]
