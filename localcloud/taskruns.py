"""What the test kit returns of each invocation (`localcloud.taskkit.TaskCloud.advance`): a `TaskRun`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from taskcore.proxy import task_fields


@dataclass(frozen=True)
class TaskRun:
    """One invocation of the callback, as it ran in virtual time."""

    task_id: str | None
    action: str | None
    #: The occurrence's scheduled time (None for an event without one).
    scheduled_time: datetime | None
    #: Lambda's attempt of this event: 1, then 2 and 3 for its retries (a redrive is an attempt 1 of its own).
    attempt: int
    started_at: datetime
    finished_at: datetime
    #: succeeded | duplicate (a stored result replayed) | rejected (4xx) | failed | timed_out
    outcome: str
    status_code: int | None = None
    result: Any = None
    error: str | None = None
    redrive: bool = False


def outcome_of(response: Any) -> tuple[str, int | None, Any, str | None]:
    """(outcome, status, result, error) of a response the callback returned (2xx or 4xx)."""
    status = int(response.get("statusCode", 200)) if isinstance(response, dict) else None
    try:
        body = json.loads(response.get("body") or "{}") if isinstance(response, dict) else {}
    except ValueError:
        body = {}
    if status is not None and status >= 400:
        detail = body.get("detail") if isinstance(body, dict) else None
        return "rejected", status, None, detail if isinstance(detail, str) else json.dumps(detail)
    if not isinstance(body, dict):
        return "succeeded", status, None, None
    return ("duplicate" if body.get("duplicate") else "succeeded"), status, body.get("result"), None


@dataclass
class RunStart:
    """What is known of a run when it starts."""

    event: Any
    attempt: int
    started_at: datetime
    redrive: bool = False
    fields: Any = field(init=False)

    def __post_init__(self) -> None:
        self.fields = task_fields(self.event)

    def ended(
        self, at: datetime, outcome: str, *, status: int | None = None, result: Any = None, error: str | None = None
    ) -> TaskRun:
        scheduled = self.fields.scheduled_time
        return TaskRun(
            task_id=self.fields.task_id,
            action=self.fields.action,
            scheduled_time=datetime.fromisoformat(scheduled.replace("Z", "+00:00")) if scheduled else None,
            attempt=self.attempt,
            started_at=self.started_at,
            finished_at=at,
            outcome=outcome,
            status_code=status,
            result=result,
            error=error,
            redrive=self.redrive,
        )


__all__ = ["RunStart", "TaskRun", "outcome_of"]
