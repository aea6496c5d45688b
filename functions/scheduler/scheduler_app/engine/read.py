"""Reads: a task (GET), its runs, and listings of tasks, a page at a time behind sealed cursors.

validate (the cursor) -> policy (whose tasks) -> ledger (one Query a page) -> view. A schedule the ledger
does not know (made before it, or by the guide's code, and not run yet) is read from the schedules instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scheduler_app.cursors import FOREIGN_CURSOR
from scheduler_app.engine.context import Context
from scheduler_app.engine.create import RECENT_RUNS
from scheduler_app.errors import InvalidSchedule, ScheduleNotFound
from scheduler_app.planning import status_filter
from scheduler_app.principals import Caller
from scheduler_app.records import ListFilter, Position
from scheduler_app.responses import RunPage, SchedulePage, ScheduleSummary, ScheduleView
from scheduler_app.views import run_view, schedule_view, summary
from taskcore.states import LIVE_STATES

#: What GET takes from the ledger when the task's own fields come from its schedule.
LEDGER_FIELDS = ("status", "reason", "run_count", "last_run", "runs")


def get(ctx: Context, task_id: str) -> ScheduleView:
    """The task, for its whole life: one Query of the ledger (task and latest runs).

    A schedule the ledger does not know is read from EventBridge Scheduler instead, as is `data` too large
    for the ledger.
    """
    # Another owner's task, or a schedule older than the ledger (no owner) for a non-admin: the 404 of none.
    address, record, runs = ctx.owners.locate(task_id, runs=RECENT_RUNS, now=ctx.now)
    if record is None:
        return schedule_view(ctx.schedules.get(address.schedule_name, task_id=task_id), ctx.now)
    view = ctx.task_view(record, runs)
    if record.state in LIVE_STATES and (record.request is None or record.data_bytes is not None):
        try:
            live = schedule_view(ctx.schedules.get(address.schedule_name, task_id=task_id), ctx.now)
        except ScheduleNotFound:
            return view
        return live.model_copy(update={name: getattr(view, name) for name in LEDGER_FIELDS})
    return view


def runs(ctx: Context, task_id: str, *, limit: int = 20, cursor: str | None = None) -> RunPage:
    """The task's runs, newest first, a page at a time; raise ScheduleNotFound for a task the ledger lacks."""
    scope = ctx.address(task_id).scope
    binding: dict[str, Any] = {"task": task_id} | ({"scope": scope} if scope is not None else {})
    start = ctx.decode_cursor(cursor, binding) if cursor is not None else None
    page = ctx.ledger.runs(task_id, limit=limit, start=start, now=ctx.now, scope=scope)
    if not page.items and cursor is None and ctx.ledger.read(task_id, runs=0, now=ctx.now, scope=scope)[0] is None:
        raise ScheduleNotFound(f"no task {task_id!r} in the task ledger (never created, or its records expired)")
    return RunPage(
        items=[run_view(run) for run in page.items],
        cursor=ctx.encode_cursor(page.following, binding) if page.following else None,
    )


@dataclass(frozen=True)
class Listing:
    """What a listing asks for (the query's filters)."""

    state: str | None = None
    prefix: str | None = None
    status: str | None = None
    user_id: int | str | None = None
    action: str | None = None

    def binding(self, caller: Caller) -> dict[str, Any]:
        """What its cursors are bound to: the filters, and the owner whose tasks they list."""
        status = status_filter(self.state, self.status)
        binding = {"user_id": None if self.user_id is None else str(self.user_id), "status": status}
        binding |= {"action": self.action, "prefix": self.prefix}
        if not caller.sees_all:  # an owner's listing (or an admin's of one owner): for that owner only
            binding["owner"] = caller.principal
        return binding

    def filters(self, caller: Caller) -> list[ListFilter]:
        """The Queries of the listing, in order, each one index partition.

        One user: one Query of ByUser. Otherwise one state's ByState partition at a time: the live tasks
        (scheduled, then paused) unless a status is named. Under owner isolation the same, on the caller's
        ByOwner partition.
        """
        status = status_filter(self.state, self.status)
        states: list[str | None] = [status] if status is not None else list(LIVE_STATES)
        if self.user_id is not None and status is None:
            states = [None]  # every state of the user's (ByUser holds them all, as does ByOwner)
        if not caller.sees_all:
            owner = caller.principal or ""
            return [
                ListFilter(owner=owner, user_id=self.user_id, state=one, action=self.action, prefix=self.prefix)
                for one in states
            ]
        if self.user_id is not None:
            return [ListFilter(user_id=self.user_id, state=status, action=self.action, prefix=self.prefix)]
        return [ListFilter(state=one, action=self.action, prefix=self.prefix) for one in states]


def list_tasks(ctx: Context, listing: Listing, *, limit: int = 50, cursor: str | None = None) -> SchedulePage:
    """A page of tasks from the ledger, newest first, by user and/or status (live tasks when neither)."""
    binding = listing.binding(ctx.caller)
    position: Position = ctx.decode_cursor(cursor, binding) if cursor is not None else {"i": 0}
    filters = listing.filters(ctx.caller)
    index, start = position.get("i", 0), position.get("k") or None
    if not isinstance(index, int) or not 0 <= index < len(filters) or not isinstance(start, dict | None):
        raise InvalidSchedule(FOREIGN_CURSOR)
    items, following = _walk(ctx, filters, index, start, limit)
    return SchedulePage(items=items, cursor=ctx.encode_cursor(following, binding) if following else None)


def _walk(
    ctx: Context, filters: list[ListFilter], index: int, start: Position | None, limit: int
) -> tuple[list[ScheduleSummary], Position | None]:
    """Up to `limit` tasks from `filters[index]` on (from `start`), and where the next page starts."""
    group, arn_of = ctx.schedules.group, ctx.schedules.arn_of
    items: list[ScheduleSummary] = []
    while True:
        page = ctx.ledger.page(filters[index], limit=limit - len(items), start=start, now=ctx.now)
        items += [summary(r, group=group, arn=arn_of(r.address.schedule_name), now=ctx.now) for r in page.items]
        if page.following is not None:
            return items, {"i": index, "k": page.following}
        if index + 1 >= len(filters):
            return items, None
        index, start = index + 1, None  # this state is exhausted: on to the next
        if len(items) >= limit:
            return items, {"i": index}
