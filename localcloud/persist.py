"""`--persist PATH`: the local cloud keeps its state across restarts (by default it lives in memory only).

The state file's format and its restoration. What writes it is `localcloud.journal`: every change journaled
(fsynced) before it is acknowledged, compacted into PATH (JSON), read back when the local cloud starts, after
the template's resources exist:

- every schedule, as GetSchedule describes it, re-created with its own creation and modification
  times: a rate() keeps its anchor, and the dispatcher knows what it has already seen;
- every item of every table (idempotency records, invocation counts), as DynamoDB returns it;
- every message of every queue, in flight or not, with its id, body and attributes: after a restart
  all are visible at once (whoever held one stopped with the old process), and a deleted one is gone;
- the dispatcher's record of the last occurrence it fired per schedule, so a restart runs only what is
  due and never an occurrence twice, and the events Lambda had accepted and not finished, which run
  again (the idempotency record turns a finished one into a replay).

Replaying moto's request log cannot do this: replayed ReceiveMessage/DeleteMessage calls with stale
receipt handles resurrect deleted messages and hide the rest for their visibility timeout, and a
replayed CreateSchedule is a new creation. Two facts are read from moto's own model, because no API
gives them: a schedule's creation/modification stamps and a queue's messages in flight
(`localcloud/schedules.py`, `tests/localcloud/test_moto_internals.py` checks both). Delete PATH to start
from nothing.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from localcloud.stats import LogSink, log_record
from localcloud.template import LOCAL_ACCOUNT, LOCAL_REGION

#: Written into every state file, so an older local cloud's request log is recognised and refused.
FORMAT = "localcloud-state"
VERSION = 1
#: GetSchedule's fields that CreateSchedule takes back.
SCHEDULE_FIELDS = (
    "ScheduleExpression",
    "ScheduleExpressionTimezone",
    "StartDate",
    "EndDate",
    "Description",
    "State",
    "KmsKeyArn",
    "Target",
    "FlexibleTimeWindow",
    "ActionAfterCompletion",
)


class StateFileError(ValueError):
    """Raise when PATH holds something that is not a local cloud's state."""


def read_state_file(path: Path) -> dict[str, Any] | None:
    """The saved state, or None when PATH does not exist or is empty; raise StateFileError for anything else."""
    if not path.exists() or path.stat().st_size == 0:
        return None
    text = path.read_text(encoding="utf-8")
    try:
        state = json.loads(text)
    except ValueError:
        state = None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise StateFileError(
            f"{path} is not a local cloud state file (it looks like the AWS request log an older local cloud "
            "recorded, which cannot restore queues or schedule times): delete it, or persist to another file"
        )
    if state.get("version") != VERSION:
        raise StateFileError(
            f"{path} has state format version {state.get('version')}; this local cloud reads {VERSION}"
        )
    return state


def write_state_file(path: Path, state: dict[str, Any]) -> None:
    """Write atomically: a reader (or a crash) never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(state, default=_json_default, indent=1), encoding="utf-8")
    tmp.replace(path)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return {"__bytes__": base64.b64encode(value).decode("ascii")}
    raise TypeError(f"cannot save {type(value).__name__}")


def _bytes_back(value: Any) -> Any:
    """Undo `_json_default` for DynamoDB's binary values (`{"B": ...}`, `{"BS": [...]}`)."""
    if isinstance(value, dict):
        if set(value) == {"__bytes__"}:
            return base64.b64decode(value["__bytes__"])
        return {k: _bytes_back(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_bytes_back(v) for v in value]
    return value


# -- capture ---------------------------------------------------------------------------------------------------


def restore(state: dict[str, Any], clients: Clients, *, log: LogSink) -> None:
    """Put the saved AWS state back (before the dispatcher starts: it then sees the schedules as they were)."""
    clients.restore_groups(state.get("schedule_groups", []))
    clients.restore_schedules(state.get("schedules", []))
    clients.restore_tables(state.get("tables", {}))
    clients.restore_queues(state.get("queues", {}))
    log(
        log_record(
            "persist",
            "restored the local cloud's state",
            saved_at=state.get("saved_at"),
            schedules=len(state.get("schedules", [])),
            items=sum(len(items) for items in state.get("tables", {}).values()),
            messages=sum(len(messages) for messages in state.get("queues", {}).values()),
        )
    )


@dataclass
class Clients:
    """The AWS state of the local cloud, read and written through boto3 (and moto's model where no API tells)."""

    scheduler: Any
    dynamodb: Any
    sqs: Any
    account: str = LOCAL_ACCOUNT
    region: str = LOCAL_REGION

    def schedule_groups(self) -> list[str]:
        """The names of the groups other than `default` (which always exists)."""
        names: list[str] = []
        for page in self.scheduler.get_paginator("list_schedule_groups").paginate():
            names.extend(g["Name"] for g in page["ScheduleGroups"] if g["Name"] != "default")
        return sorted(names)

    def schedules(self) -> list[dict[str, Any]]:
        """Every schedule as GetSchedule describes it, with moto's exact stamps."""
        from localcloud.schedules import moto_stamps

        found: list[dict[str, Any]] = []
        for page in self.scheduler.get_paginator("list_schedules").paginate():
            for summary in page["Schedules"]:
                name, group = summary["Name"], summary["GroupName"]
                try:
                    described = self.scheduler.get_schedule(Name=name, GroupName=group)
                except self.scheduler.exceptions.ResourceNotFoundException:
                    continue  # deleted meanwhile
                stamps = moto_stamps(group, name, account=self.account, region=self.region)
                if stamps is None:
                    continue
                kept = {key: described[key] for key in SCHEDULE_FIELDS if described.get(key) is not None}
                found.append({"Name": name, "GroupName": group, **kept, "_stamps": list(stamps)})
        return found

    def tables(self) -> dict[str, list[dict[str, Any]]]:
        """Every item of every table, as Scan returns it (typed attribute values)."""
        found: dict[str, list[dict[str, Any]]] = {}
        for table in self.dynamodb.list_tables()["TableNames"]:
            items: list[dict[str, Any]] = []
            for page in self.dynamodb.get_paginator("scan").paginate(TableName=table):
                items.extend(page["Items"])
            found[table] = items
        return found

    def queues(self) -> dict[str, list[dict[str, Any]]]:
        """Every message of every queue, visible or in flight."""
        from localcloud.queues import moto_messages

        return moto_messages(account=self.account, region=self.region)

    def restore_groups(self, names: list[str]) -> None:
        existing = set(self.schedule_groups())
        for name in names:
            if name not in existing:
                self.scheduler.create_schedule_group(Name=name)

    def restore_schedules(self, schedules: list[dict[str, Any]]) -> None:
        from localcloud.schedules import set_moto_stamps

        for saved in schedules:
            params = {key: value for key, value in saved.items() if not key.startswith("_")}
            for key in ("StartDate", "EndDate"):
                if isinstance(params.get(key), str):
                    params[key] = datetime.fromisoformat(params[key])
            self.scheduler.create_schedule(**params)
            created, modified = saved["_stamps"]
            set_moto_stamps(
                saved["GroupName"], saved["Name"], created, modified, account=self.account, region=self.region
            )

    def restore_tables(self, tables: dict[str, list[dict[str, Any]]]) -> None:
        existing = set(self.dynamodb.list_tables()["TableNames"])
        for table, items in tables.items():
            if table not in existing:
                continue  # not one of the template's tables any more
            for item in items:
                self.dynamodb.put_item(TableName=table, Item=_bytes_back(item))

    def restore_queues(self, queues: dict[str, list[dict[str, Any]]]) -> None:
        from localcloud.queues import add_moto_messages

        add_moto_messages(queues, account=self.account, region=self.region)
