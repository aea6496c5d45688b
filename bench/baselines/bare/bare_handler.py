"""The floor: no framework, no validation, no logging. Parse the body, answer a proxy response."""

from __future__ import annotations

import json
from typing import Any


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Answer what the callback answers, without doing any of its work."""
    task = json.loads(event["body"])
    body = {"success": True, "message": f"Task {task['task_id']} processed successfully", "task_id": task["task_id"]}
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}
