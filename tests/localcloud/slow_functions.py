"""A Lambda entry point for the local cloud's real-time tests: it sleeps, crashes, and says where it ran.

Named by import path (`tests.localcloud.slow_functions.lambda_handler`), so it runs in the local
Lambda's execution environments (child processes) the way `make dev` runs the callback. It is not
the callback: no Mangum, no DynamoDB, so a cold start costs little. The task's `data` says what to do:

- `seconds`: how long to sleep;
- `log`: a JSON-lines file; each invocation appends a `start` line (task, pid, time, the context's
  remaining time) and, if it gets that far, an `end` line;
- `exit_code`: end the process with this status instead of returning (a crashed runtime).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any


def record(path: str | None, **fields: Any) -> None:
    """Append one JSON line to `path` (one write: lines of concurrent invocations never interleave)."""
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"pid": os.getpid(), "at": time.time(), **fields}) + "\n")


def read_records(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The lines `record` wrote, in order ([] before the first)."""
    try:
        with open(path, encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]
    except FileNotFoundError:
        return []


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Do what the task's data says; answer 200."""
    task = json.loads(event["body"])
    data = task.get("data") or {}
    log = data.get("log")
    record(log, task=task["task_id"], phase="start", remaining_ms=context.get_remaining_time_in_millis())
    time.sleep(float(data.get("seconds", 0)))
    if "exit_code" in data:
        os._exit(int(data["exit_code"]))
    record(log, task=task["task_id"], phase="end")
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": "{}"}
