"""The guide's callback, kept as its code calls it: its request and response models, and its dict body.

"The guide" is the user's original guide to this pattern (README: "Where it came from"). Its
`generate_lambda_proxy_payload()` put the body into the proxy event as an *object*, where Mangum
needs a JSON string (a dict raises `AttributeError: 'dict' object has no attribute 'encode'`).
Schedules created by the guide's code must still run, so such a body is encoded here before Mangum
sees the event. (Mangum's `custom_handlers` could take it instead, but the entry point must also
measure the body and read the task from it before Mangum runs, so one repair up front is simpler.)
What else differs from the guide is listed in docs/guide-compatibility.md.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field

from taskcore.envelope import TaskEnvelope


class TaskCallbackRequest(TaskEnvelope):
    """The guide's callback request: `task_id`, `user_id`, `action`, `data`."""


class TaskCallbackResponse(BaseModel):
    """The guide's callback response, plus whether it was a replay and what the action returned."""

    success: bool
    message: str
    task_id: str
    duplicate: bool = Field(default=False, description="True when this delivery replayed an earlier result")
    result: dict[str, Any] | None = None


def repair_guide_body(event: dict[str, Any]) -> dict[str, Any]:
    """The guide's dict (or list) body as the JSON string Mangum needs; other events are returned as they are."""
    body = event.get("body")
    if not isinstance(body, (dict, list)):
        return event
    headers: Mapping[str, Any] = event.get("headers") or {}
    repaired = {**event, "body": json.dumps(body, ensure_ascii=False), "isBase64Encoded": False}
    if not any(str(k).lower() == "content-type" for k in headers):
        repaired["headers"] = {**headers, "content-type": "application/json"}
    return repaired
