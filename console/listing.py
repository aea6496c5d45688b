"""The task list: what each status filter covers, and a page of tasks gathered from the API's listings.

The API lists the live tasks (scheduled, then paused) unless a status or a user is named, one status at a time
otherwise. "Any status" is therefore walked here: the live tasks first, then each final status the API's own
OpenAPI document names (succeeded, failed, rejected, cancelled), a page at a time, with the API's cursor.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from console.api import ApiError, SchedulerApi
from taskcore.states import (
    DELIVERED_STATES,
    FINAL_STATES,
    LIVE_STATES,
    SCHEDULE_STATE_OF_TASK,
    TASK_STATE_OF_SCHEDULE,
    TaskState,
)

ANY = ""
LIVE = "live"
ENDED_STATUS = TaskState.ENDED.value
LIVE_STATUSES = tuple(state.value for state in LIVE_STATES)
#: Derived by the API, never a filter of its listing.
DELIVERED = tuple(state.value for state in DELIVERED_STATES)
#: The statuses the ledger's API filters on (used when an API does not say).
#: (`ended` and `missed` are newer: an API that does not say has neither stored.)
API_STATUSES = (
    *LIVE_STATUSES,
    *(state.value for state in FINAL_STATES if state not in (TaskState.ENDED, TaskState.MISSED)),
)
#: The schedule state an API from before the ledger filters on, for a live status, and back.
STATE_OF = {task.value: schedule.value for task, schedule in SCHEDULE_STATE_OF_TASK.items()}
STATUS_OF = {schedule.value: task.value for schedule, task in TASK_STATE_OF_SCHEDULE.items()}
#: At most this many API calls for one page of the console (a walk over statuses that are all empty stops here).
MAX_CALLS = 10


@dataclass(frozen=True)
class StatusChoice:
    """One choice of the status filter: its value, its label, and the statuses it covers."""

    value: str
    label: str
    covers: tuple[str, ...]


def api_statuses(openapi: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The statuses the API's listing filters on (its `status` parameter's enum); None when it has no such filter."""
    operation = openapi.get("paths", {}).get("/api/v1/schedules", {}).get("get", {})
    for parameter in operation.get("parameters", []):
        if parameter.get("name") == "status":
            schema = parameter.get("schema", {})
            for option in [schema, *schema.get("anyOf", [])]:
                if option.get("enum"):
                    return tuple(str(value) for value in option["enum"])
    return None


def status_choices(statuses: tuple[str, ...] | None) -> list[StatusChoice]:
    """The status filter's choices, each saying what it covers."""
    finals = tuple(s for s in (statuses or API_STATUSES) if s not in (*LIVE_STATUSES, ENDED_STATUS, *DELIVERED))
    everything = (*LIVE_STATUSES, ENDED_STATUS, *finals)
    return [
        StatusChoice(ANY, "any status", everything),
        StatusChoice(LIVE, "live: scheduled or paused", LIVE_STATUSES),
        *(StatusChoice(s, s, (s,)) for s in LIVE_STATUSES),
        StatusChoice(ENDED_STATUS, "ended: recurring, past its end", (ENDED_STATUS,)),
        *(StatusChoice(s, s, (s,)) for s in finals),
    ]


def status_of(row: Mapping[str, Any]) -> str | None:
    """The ledger's status, else what today's API's state says (ENABLED: scheduled, DISABLED: paused)."""
    status = row.get("status")
    return str(status) if status else STATUS_OF.get(str(row.get("state")))


def phases(status: str, user_id: str, statuses: tuple[str, ...] | None) -> list[str | None]:
    """The API listings one filter walks, in order: a status to name, or None for the API's default listing."""
    if statuses is None:  # an API without a status filter: one listing, filtered on the page
        return [status] if status in API_STATUSES else [None]
    if status in statuses:
        return [status]
    if status == ANY and not user_id:  # the default listing is the live tasks: then every final status
        return [None, *(s for s in statuses if s not in LIVE_STATUSES)]
    return [None]  # live, ended, or any of one user's (the API lists all of a user's by default)


def matches(row: Mapping[str, Any], filters: Mapping[str, str], choice: StatusChoice) -> bool:
    """The filters applied on the page too (a no-op where the API already filtered; an older API does not)."""
    for key in ("user_id", "action"):
        if filters.get(key) and key in row and str(row[key]) != filters[key]:
            return False
    return choice.value == ANY or status_of(row) in (None, *choice.covers)


@dataclass
class Page:
    """One page of the console's list, and where the next one starts (None: this was the last)."""

    rows: list[dict[str, Any]]
    following: tuple[int, str | None] | None


def _params(filters: Mapping[str, str], status: str | None, cursor: str | None, limit: int) -> dict[str, str]:
    params = {"limit": str(limit)}
    if filters.get("q"):
        params["prefix"] = filters["q"]
    if status is not None:
        params["status"] = status
        if status in STATE_OF:  # what an API from before the ledger filters on
            params["state"] = STATE_OF[status]
    params.update({key: filters[key] for key in ("user_id", "action") if filters.get(key)})
    if cursor:
        params["cursor"] = cursor
    return params


#: The owner a row's task is addressed by (`?owner=`, console.web.owner_to_name), or None: the caller's own.
OwnerOf = Callable[[Mapping[str, Any]], str | None]


def _enriched(api: SchedulerApi, item: dict[str, Any], owner_of: OwnerOf) -> dict[str, Any]:
    """A list item with the task's timing (read from the task itself when the list does not give it), and the owner
    its links name (`link_owner`)."""
    owner = owner_of(item)
    if "kind" in item or not item.get("task_id"):
        return {**item, "link_owner": owner}
    try:
        return {**item, **api.task(str(item["task_id"]), owner), "link_owner": owner}
    except ApiError:
        return {**item, "link_owner": owner}


def list_page(
    api: SchedulerApi,
    filters: Mapping[str, str],
    choice: StatusChoice,
    walk: list[str | None],
    start: tuple[int, str | None],
    size: int,
    owner_of: OwnerOf = lambda row: None,
) -> Page:
    """Up to `size` tasks from `walk[start[0]]` on (at cursor `start[1]`), each with the owner its links name
    (`owner_of`); raises ApiError."""
    phase, cursor = start
    rows: list[dict[str, Any]] = []
    calls = 0
    while phase < len(walk) and len(rows) < size and calls < MAX_CALLS:
        found = api.list_tasks(_params(filters, walk[phase], cursor, size - len(rows)))
        calls += 1
        items = (_enriched(api, item, owner_of) for item in found.get("items", []))
        rows += [row for row in items if matches(row, filters, choice)]
        cursor = found.get("cursor")
        if not cursor:
            phase, cursor = phase + 1, None
    for row in rows:
        row["status_shown"] = status_of(row)
    return Page(rows, (phase, cursor) if phase < len(walk) else None)
