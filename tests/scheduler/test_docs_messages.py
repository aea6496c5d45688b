"""docs/api.md shows the API's own messages: each row of its validation table is what the API answers.

The table's inputs are sent as written here; a changed message fails this test until the docs say it.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

import pytest

from localcloud.template import ROOT
from taskcore.registry import registry
from tests.scheduler.helpers import Clock, task


def nested(depth: int) -> Any:
    """A JSON value `depth` lists deep."""
    value: Any = []
    for _ in range(depth - 1):
        value = [value]
    return value


TOO_LARGE = {**task("t-doc", delay_minutes=5), "action": "generate_daily_report"}
TOO_LARGE["data"] = {"recipients": ["r" * 12_000] * 100}
FORM = {"content-type": "application/x-www-form-urlencoded"}
JSON = {"content-type": "application/json"}

ROW = re.compile(r"^\| (?P<label>[^|]+?) \| `(?P<detail>.+)` \|$")

#: Table label -> (request body or raw bytes, extra headers, status).
REQUESTS: dict[str, tuple[Any, dict[str, str], int]] = {
    "no timing, or two": (task("t-doc", delay_minutes=5, cron="cron(0 9 * * ? *)"), {}, 422),
    "cron grammar": (task("t-doc", cron="cron(0 9 * * * *)"), {}, 422),
    "rate grammar": (task("t-doc", rate="rate(2 weeks)"), {}, 422),
    "time zone": (task("t-doc", cron="cron(0 9 * * ? *)", timezone="Mars/Olympus"), {}, 422),
    "a recurring option on a one-time task": (task("t-doc", delay_minutes=5, timezone="Asia/Seoul"), {}, 422),
    "a time in the past": (task("t-doc", run_at="2030-03-14T10:00:00+09:00"), {}, 422),
    "a recurrence that never fires": (task("t-doc", cron="cron(0 9 * * ? 2029)"), {}, 422),
    "unknown action": ({**task("t-doc", delay_minutes=5), "action": "send_notfication"}, {}, 422),
    "invalid data": ({**task("t-doc", delay_minutes=5), "data": {"channel": "pigeon"}}, {}, 422),
    "an unknown field": (task("t-doc", delay_minutes=5, priority="high"), {}, 422),
    "a boolean id": ({**task("t-doc", delay_minutes=5), "user_id": True}, {}, 422),
    "a number in a string": (task("t-doc", delay_minutes="5"), {}, 422),
    "an epoch number for a time": (task("t-doc", run_at=1796200000), {}, 422),
    "a task id made only of dots": (task("..", delay_minutes=5), {}, 422),
    "event too large (**413**)": (
        {
            **task("t-doc", delay_minutes=5),
            "action": "generate_daily_report",
            "data": {"recipients": ["r" * 12_000] * 100},
        },
        {},
        413,
    ),
    "`data` nested deeper than 32 levels": (
        {
            **task("t-doc", delay_minutes=5),
            "data": {"a": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]},
        },
        {},
        422,
    ),
    "JSON with a syntax error": (b'{"user_id": 1,\n "action" "x"}', {"content-type": "application/json"}, 422),
    "a body that is not UTF-8": (b'{"user_id": "\xff"}', {"content-type": "application/json"}, 422),
    "JSON sent as another content type": (
        b'{"user_id": 1}',
        {"content-type": "application/x-www-form-urlencoded"},
        422,
    ),
}


def documented_rows() -> dict[str, str]:
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    section = text.split("### Validation", 1)[1].split("\n## ", 1)[0]
    return {m["label"]: m["detail"] for line in section.splitlines() if (m := ROW.match(line))}


@pytest.fixture(autouse=True)
def _frozen(clock: Clock, fixed_now: datetime) -> None:
    clock.set(fixed_now)


def test_every_documented_row_has_a_request_here() -> None:
    assert sorted(documented_rows()) == sorted(REQUESTS)


@pytest.mark.parametrize("label", sorted(REQUESTS))
def test_the_documented_message_is_the_one_the_api_answers(api: Any, schedules: Any, label: str) -> None:
    body, headers, status = REQUESTS[label]
    if isinstance(body, bytes):
        response = api.post("/api/v1/schedules", content=body, headers=headers)
    else:
        response = api.post("/api/v1/schedules", json=body, headers=headers)

    assert response.status_code == status, response.text
    documented, answered = documented_rows()[label], response.json()["detail"]
    if label == "unknown action":  # the docs list the shipped actions; a deployment may have more
        prefix, names = documented.split("registered actions: ")
        assert answered == f"{prefix}registered actions: {', '.join(registry.names())}"
        assert set(names.split(", ")) <= set(registry.names())
    else:
        assert answered == documented
    assert schedules() == []


def test_the_documented_422_body_is_the_one_the_api_answers(api: Any, schedules: Any) -> None:
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    documented = json.loads(text.split("A `delay_seconds` of 99999999:\n\n```json\n", 1)[1].split("```", 1)[0])

    response = api.post("/api/v1/schedules", json=task("t-doc", delay_seconds=99999999))

    assert response.status_code == 422
    assert response.json() == documented
    assert schedules() == []
