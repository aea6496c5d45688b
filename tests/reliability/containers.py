"""One Lambda container of the callback, in its own process: the body of the concurrent-delivery test.

Kept out of the test module: a spawned child (where fork is missing) imports only this.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any


def slow_action_run(runs_dir: str, seconds: float) -> Any:
    """An action that takes `seconds` and leaves one file per run in `runs_dir`."""

    def run(data: Any, task: Any) -> dict[str, Any]:
        marker = Path(runs_dir) / f"{os.getpid()}-{uuid.uuid4().hex}"
        marker.write_text(task.task_id, encoding="utf-8")
        time.sleep(seconds)
        return {"ran_in": os.getpid()}

    return run


def container(
    environment: dict[str, str],
    events: list[dict[str, Any]],
    runs_dir: str,
    action_seconds: float,
    start: Any,
    finished: Any,
    results: Any,
) -> None:
    """Deliver `events[0]` when every container is ready; if that fails, wait until some delivery finished and
    deliver `events[1]` (Lambda's retry). Report each answer: `("ok", duplicate, result)` or `("failed", message)`.
    """
    os.environ.update(environment)
    from pydantic import BaseModel, ConfigDict

    from callback_app.handler import lambda_handler
    from callback_app.ledger import get_run_ledger
    from callback_app.service import get_dynamodb_client, get_task_runner
    from callback_app.settings import get_settings
    from localcloud.lambda_context import LocalLambdaContext
    from taskcore.registry import registry

    class AnyData(BaseModel):
        model_config = ConfigDict(extra="allow")

    get_settings.cache_clear()  # a forked container must read its own environment, not the parent's cache
    for cached in (get_dynamodb_client, get_task_runner, get_run_ledger):
        cached.cache_clear()
    registry.unregister("slow_spy")
    registry.action("slow_spy", AnyData)(slow_action_run(runs_dir, action_seconds))

    answers: list[tuple[Any, ...]] = []
    start.wait(60)
    for attempt, event in enumerate(events):
        if attempt > 0:
            finished.wait(60)
        try:
            response = lambda_handler(event, LocalLambdaContext(timeout_seconds=30))
        except Exception as exc:  # the invocation failed: Lambda would retry it
            answers.append(("failed", f"{type(exc).__name__}: {exc}"))
            continue
        body = json.loads(response["body"])
        answers.append(("ok", body["duplicate"], body["result"]))
        finished.set()
        break
    results.put(answers)
