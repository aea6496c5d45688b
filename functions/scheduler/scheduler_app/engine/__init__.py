"""The schedule engine: task requests in, schedules out, and back again. Knows nothing of HTTP or boto3.

`Engine` is what the routes call. It holds the two ports (scheduler_app.ports: the task ledger and the
schedules), the settings and the caller; each call reads the clock once into a `Context` and hands it
to one use case, a way through the rooms in order: validate -> plan (pure: scheduler_app.planning,
specs) -> policy (scheduler_app.policy: ownership, quotas) -> ledger -> schedules -> view
(scheduler_app.views). Every failure is one of the domain errors of scheduler_app.errors.

A task's schedule is named after its task id, in the stack's schedule group, so scheduling it twice
cannot make two schedules. The task itself lives in the task ledger for its whole life, with the
fingerprint of the request that created it: the same request again is answered with the task as it is
now (also after it ran), a different one is a conflict, until the task's records expire.
"""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from scheduler_app.cursors import CursorSeal
from scheduler_app.engine import cancel, change, read
from scheduler_app.engine.batch import Backoff, Batch, BatchOutcome
from scheduler_app.engine.context import Context
from scheduler_app.engine.create import Created, create
from scheduler_app.engine.read import Listing
from scheduler_app.models import ScheduleRequest
from scheduler_app.planning import milliseconds
from scheduler_app.policy import acting_for
from scheduler_app.ports import SchedulesPort, TaskLedgerPort
from scheduler_app.principals import Caller
from scheduler_app.responses import RunPage, SchedulePage, ScheduleView
from scheduler_app.settings import SchedulerSettings
from taskcore.clock import utcnow


class Engine:
    """Creates, reads, changes and cancels the tasks of one stack, for one caller."""

    def __init__(
        self,
        ledger: TaskLedgerPort,
        schedules: SchedulesPort,
        settings: SchedulerSettings,
        *,
        caller: Caller | None = None,
        cursors: Callable[[], CursorSeal] | None = None,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.ledger = ledger
        self.schedules = schedules
        self.settings = settings
        self.caller = caller or Caller()
        #: The listing cursors' seal (the stack's key, read on first use); None: listings cannot page.
        self.cursors = cursors
        self._clock = clock
        self._sleep = sleep
        self._jitter = jitter
        self.backoff = Backoff(
            max_attempts=settings.batch_max_attempts,
            base_seconds=settings.batch_backoff_base_seconds,
            max_seconds=settings.batch_backoff_max_seconds,
        )

    def acting_for(self, owner: str) -> Engine:
        """This engine for the tasks of `owner` (`?owner=`: an admin's; anyone else may name only itself)."""
        addressed = copy.copy(self)
        addressed.caller = acting_for(self.caller, owner)
        return addressed

    def context(self, now: datetime | None = None) -> Context:
        """One request's context: the clock read once (or `now`, when the caller read it)."""
        return Context(
            ledger=self.ledger,
            schedules=self.schedules,
            settings=self.settings,
            caller=self.caller,
            now=self._clock() if now is None else now,
            cursors=self.cursors,
        )

    def create(self, request: ScheduleRequest) -> Created:
        """Schedule the task (`Created.created`: this request scheduled it; False: the same request again)."""
        # One reading, in the ledger's precision (milliseconds): the plan, the record and the view agree on it.
        return create(self.context(milliseconds(self._clock())), request)

    def create_batch(self, items: Sequence[Any]) -> list[BatchOutcome]:
        """Create every item, a bounded number at a time; throttled items back off and retry."""
        batch = Batch(
            create=self.create,
            concurrency=self.settings.batch_concurrency,
            backoff=self.backoff,
            sleep=self._sleep,
            jitter=self._jitter,
        )
        return batch.run(items)

    def get(self, task_id: str) -> ScheduleView:
        """The task, for its whole life (from the ledger; from its schedule when the ledger does not know it)."""
        return read.get(self.context(), task_id)

    def runs(self, task_id: str, *, limit: int = 20, cursor: str | None = None) -> RunPage:
        """The task's runs, newest first, a page at a time."""
        return read.runs(self.context(), task_id, limit=limit, cursor=cursor)

    def list_schedules(
        self,
        *,
        state: str | None = None,
        prefix: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
        status: str | None = None,
        user_id: int | str | None = None,
        action: str | None = None,
    ) -> SchedulePage:
        """A page of tasks, newest first, by user and/or status (live tasks when neither)."""
        listing = Listing(state=state, prefix=prefix, status=status, user_id=user_id, action=action)
        return read.list_tasks(self.context(), listing, limit=limit, cursor=cursor)

    def update(self, task_id: str, patch: Any) -> ScheduleView:
        """Apply a JSON Merge Patch to the task's create request; the result is validated as a create."""
        return change.update(self.context(), task_id, patch)

    def pause(self, task_id: str) -> ScheduleView:
        """Disable the schedule: it keeps its settings and does not run until resumed."""
        return change.pause(self.context(), task_id)

    def resume(self, task_id: str) -> ScheduleView:
        """Enable the schedule again."""
        return change.resume(self.context(), task_id)

    def delete(self, task_id: str) -> None:
        """Cancel the task: schedule deleted, record kept as cancelled."""
        cancel.delete(self.context(), task_id)

    def delete_by_arn(self, schedule_arn: str) -> None:
        """Cancel a schedule given its ARN (the guide's cancel)."""
        cancel.delete_by_arn(self.context(), schedule_arn)


__all__ = ["Backoff", "BatchOutcome", "Context", "Created", "Engine", "utcnow"]
