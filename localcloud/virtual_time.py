"""Virtual time for everything the test kit runs in this process (`localcloud.taskkit`): one clock for all.

Our own code reads the process's clock (`taskcore.clock.utcnow`): the scheduler's plans, the callback's run
records, an action's `TaskContext.now()`. Two libraries read the wall clock themselves, and while the kit runs
they read the virtual one instead:

- moto's EventBridge Scheduler stamps each schedule's CreationDate / LastModificationDate (the dispatcher's
  revisions, and the anchor of a `rate()`), and checks a StartDate against "now";
- Powertools' idempotency reads "now" for a record's expiry and for an in-progress record's expiry (the
  Lambda's remaining time), so a timed-out attempt's record expires in virtual time and its retry runs.

Both are module attributes of those libraries (pinned in uv.lock); tests/kit/test_virtual_time.py
fails when they move. The Lambda context's remaining time counts on the virtual clock too.
"""

from __future__ import annotations

import datetime as dt
import importlib
import threading
import types
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any, Self

from localcloud.lambda_context import LocalLambdaContext
from taskcore.clock import use_clock, utcnow

#: Powertools' idempotency modules that read `dt.datetime.now()` (each does `import datetime as dt`).
POWERTOOLS_MODULES = (
    "aws_lambda_powertools.utilities.idempotency.base",
    "aws_lambda_powertools.utilities.idempotency.persistence.base",
    "aws_lambda_powertools.utilities.idempotency.persistence.datarecord",
    "aws_lambda_powertools.utilities.idempotency.persistence.dynamodb",
)
#: moto's scheduler model: its own references to moto.core.utils' clock functions.
MOTO_SCHEDULER = "moto.scheduler.models"


class VirtualDateTime(dt.datetime):
    """`datetime` whose `now()` is the process's clock (`taskcore.clock`), naive local or in `tz` as asked."""

    @classmethod
    def now(cls, tz: dt.tzinfo | None = None) -> Self:
        """The process's clock, as `datetime.now(tz)` would answer."""
        return cls.fromtimestamp(utcnow().timestamp(), tz)


def _datetime_module() -> types.ModuleType:
    """A stand-in for the `datetime` module: the same, but `datetime.now()` reads the process's clock."""
    shim = types.ModuleType("datetime")
    shim.__dict__.update({k: v for k, v in vars(dt).items() if not k.startswith("__")})
    shim.datetime = VirtualDateTime  # type: ignore[attr-defined]
    return shim


class _Stamps:
    """moto's schedule stamps on the virtual clock, strictly increasing: two changes made at one virtual
    instant still read as two revisions (the dispatcher notices a change by its stamp)."""

    def __init__(self, original: Callable[..., float]) -> None:
        self._original = original
        self._last = 0.0
        self._lock = threading.Lock()

    def naive_now(self) -> dt.datetime:
        """The virtual time, naive UTC (moto's `utcnow`)."""
        return utcnow().astimezone(dt.UTC).replace(tzinfo=None)

    def unix_time(self, moment: dt.datetime | None = None) -> float:
        """moto's `unix_time()`: now (virtual), a microsecond later than the last stamp at least."""
        if moment is not None:
            return self._original(moment)
        with self._lock:
            self._last = max(self._original(self.naive_now()), self._last + 1e-6)
            return self._last


def _patch(stack: ExitStack, module: Any, name: str, value: Any) -> None:
    """Set `module.name` for the life of `stack` (it must exist: a library that changed is caught here)."""
    original = getattr(module, name)
    setattr(module, name, value)
    stack.callback(setattr, module, name, original)


@contextmanager
def virtual_time(now: Callable[[], dt.datetime]) -> Iterator[None]:
    """`now` is the time of this process inside the block: ours, moto's Scheduler's and Powertools'."""
    with ExitStack() as stack:
        stack.enter_context(use_clock(now))
        shim = _datetime_module()
        for name in POWERTOOLS_MODULES:
            _patch(stack, importlib.import_module(name), "dt", shim)
        scheduler = importlib.import_module(MOTO_SCHEDULER)
        stamps = _Stamps(scheduler.unix_time)
        _patch(stack, scheduler, "unix_time", stamps.unix_time)
        _patch(stack, scheduler, "utcnow", stamps.naive_now)
        yield


@dataclass
class VirtualLambdaContext(LocalLambdaContext):
    """A Lambda context whose remaining time counts down on the process's clock (virtual under the kit)."""

    deadline: dt.datetime = field(default_factory=utcnow, repr=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.deadline = utcnow() + dt.timedelta(seconds=self.timeout_seconds)

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before this invocation times out, by the process's clock."""
        return max(0, int((self.deadline - utcnow()).total_seconds() * 1000))


__all__ = ["VirtualDateTime", "VirtualLambdaContext", "virtual_time"]
