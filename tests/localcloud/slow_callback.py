"""The callback's real entry point, plus a slow action, for the local cloud's real-time tests.

Named by import path (`tests.localcloud.slow_callback.lambda_handler`), so the local Lambda runs it
in its execution environments (child processes), where an action registered by a test at run time
would not exist. Importing this module is the environment's Init phase: it registers the `sleep`
action, builds the task runner (as the callback does under SnapStart, so that a short test timeout
measures the action and not the first DynamoDB client), and re-exports the callback's entry point.

`sleep` runs `seconds` long on the occurrence's first run and returns at once on later runs, and
appends a `start` and an `end` line per run to `log` (see `slow_functions.record`).
"""

from __future__ import annotations

import time

from pydantic import BaseModel

from callback_app.handler import lambda_handler
from callback_app.service import get_task_runner
from taskcore.registry import TaskContext, registry
from tests.localcloud.slow_functions import read_records, record


class SleepData(BaseModel):
    """How long the first run of an occurrence sleeps, and where runs are written down."""

    seconds: float = 0.0
    log: str | None = None


@registry.action("sleep", SleepData)
def sleep(data: SleepData, task: TaskContext) -> dict[str, int]:
    """Sleep on the occurrence's first run only."""
    earlier = (
        [r for r in read_records(data.log) if r["task"] == task.task_id and r["phase"] == "start"] if data.log else []
    )
    record(data.log, task=task.task_id, phase="start", run=len(earlier) + 1)
    if not earlier:
        time.sleep(data.seconds)
    record(data.log, task=task.task_id, phase="end", run=len(earlier) + 1)
    return {"run": len(earlier) + 1}


get_task_runner()

__all__ = ["lambda_handler"]
