"""One request, as the use cases see it: the two ports, the settings, the caller and ONE reading of the clock.

Every use case takes a `Context` and reads `ctx.now`, never a clock: the plan, the records, the checks
and the view of one request agree on the moment (a create reads it in the ledger's millisecond precision).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from scheduler_app.cursors import CursorSeal, caller_digest, decode_cursor, encode_cursor
from scheduler_app.errors import ConfigurationError
from scheduler_app.namespaces import TaskAddress
from scheduler_app.policy import Ownership
from scheduler_app.ports import SchedulesPort, TaskLedgerPort
from scheduler_app.principals import Caller
from scheduler_app.records import Position, RunRecord, TaskRecord
from scheduler_app.responses import ScheduleView
from scheduler_app.settings import SchedulerSettings
from scheduler_app.specs import Limits
from scheduler_app.views import task_view


@dataclass(frozen=True)
class Context:
    """The ports, settings and caller of one request, and the one moment it reads."""

    ledger: TaskLedgerPort
    schedules: SchedulesPort
    settings: SchedulerSettings
    caller: Caller
    now: datetime
    #: The listing cursors' seal (the stack's key, read on first use); None: listings cannot page.
    cursors: Callable[[], CursorSeal] | None = None

    @property
    def owners(self) -> Ownership:
        """Which task the request addresses, in whose namespace, and whether its caller may act on it."""
        return Ownership(self.caller, self.ledger, self.schedules)

    @property
    def limits(self) -> Limits:
        return Limits.of(self.settings)

    def address(self, task_id: str) -> TaskAddress:
        """Where the caller's task is; under owner isolation one it does not own does not exist for it (404)."""
        return self.owners.address(task_id, self.now)

    def task_view(self, record: TaskRecord, runs: list[RunRecord]) -> ScheduleView:
        """The task as the ledger holds it, as of this request's moment."""
        return task_view(
            record,
            runs,
            group=self.schedules.group,
            arn=self.schedules.arn_of(record.address.schedule_name),
            limits=self.limits,
            now=self.now,
        )

    def encode_cursor(self, position: Position, binding: dict[str, object]) -> str:
        return encode_cursor(position, binding, seal=self._seal(), caller=caller_digest(self.caller.principal))

    def decode_cursor(self, cursor: str, binding: dict[str, object]) -> Position:
        return decode_cursor(cursor, binding, seal=self._seal(), caller=caller_digest(self.caller.principal))

    def _seal(self) -> CursorSeal:
        if self.cursors is None:
            raise ConfigurationError("no key for the listing cursors: CURSOR_SECRET_ID (template.yaml sets it)")
        return self.cursors()
