"""The client's code in docs/client.md and the README works as printed, against `make dev`'s API."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from localcloud.template import ROOT
from taskclient import TaskClient

pytestmark = pytest.mark.integration


def python_block(path: str, first_line: str) -> str:
    """The ```python block of `path` that starts with `first_line`."""
    text = (ROOT / path).read_text(encoding="utf-8")
    found = re.search(rf"```python\n({re.escape(first_line)}.*?)```", text, re.S)
    assert found is not None, f"{path} has no python block starting with {first_line!r}"
    return found.group(1)


def run(source: str, name: str, namespace: dict[str, Any]) -> dict[str, Any]:
    exec(compile(source, name, "exec"), namespace)  # noqa: S102 - the documentation's own code
    return namespace


def test_the_fastapi_pattern_schedules_and_cancels_through_one_async_client(
    api_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TASKS_API_URL", api_url)
    app = run(python_block("docs/client.md", "# app.py"), "client.md", {"__name__": "app"})["app"]
    payment = uuid.uuid4().int % 10**9

    with TestClient(app) as backend, TaskClient(api_url) as tasks:
        created = backend.post(f"/payments/{payment}", params={"user_id": 7})
        reminder = tasks.get(f"payment-reminder-{payment}")
        paid = backend.post(f"/payments/{payment}/paid")
        cancelled = tasks.get(f"payment-reminder-{payment}")

    assert created.status_code == 200, created.text
    assert created.json() == {"reminder": f"payment-reminder-{payment}", "status": "scheduled"}
    assert (reminder.user_id, reminder.data) == (
        7,
        {"notification_type": "payment_expiration", "message": "Your payment expires soon"},
    )
    assert paid.json() == {"reminder": "cancelled"}
    assert cancelled.status == "cancelled"


def test_the_guides_calls_side_by_side_work_with_the_client(api_url: str) -> None:
    payment = uuid.uuid4().int % 10**9
    with TaskClient(api_url) as tasks:
        namespace = {"tasks": tasks, "user_id": 456, "payment_id": payment, "timedelta": timedelta}
        done = run(python_block("docs/client.md", "# with taskclient"), "client.md", namespace)
        task = tasks.get(f"payment-reminder-{payment}")

    assert done["schedule_arn"].endswith(f"/payment-reminder-{payment}")
    assert task.status == "cancelled"
    assert task.data == {
        "payment_id": payment,
        "notification_type": "payment_expiration",
        "expires_at": "2025-10-23T15:30:00Z",
    }


def test_the_error_example_prints_the_apis_message(api_url: str) -> None:
    source = python_block("docs/client.md", "from taskclient import InvalidTask, QuotaExceeded, TaskConflict")
    printed: list[str] = []

    with TaskClient(api_url) as tasks:
        run(source, "client.md", {"tasks": tasks, "print": lambda value: printed.append(str(value))})

    assert printed[0].startswith("action: unknown action 'send_notificaton'; registered actions: ")
    assert printed[1] == "[('body', 'action')]"


def test_the_readmes_try_it_runs_with_the_client(api_url: str) -> None:
    source = python_block("README.md", "# the same from Python, with the client").replace(
        "http://127.0.0.1:3000", api_url
    )
    printed: list[str] = []
    suffix = uuid.uuid4().hex[:6]
    source = source.replace('"hello-2"', f'"hello-{suffix}"')

    namespace = run(source, "README.md", {"print": lambda *values: printed.append(" ".join(map(str, values)))})
    with namespace["tasks"] as tasks:
        hello, report = tasks.get(f"hello-{suffix}"), tasks.get("daily-report")

    assert hello.status == "scheduled"
    assert (report.expression, report.timezone) == ("cron(0 9 * * ? *)", "Asia/Seoul")
    assert len(printed) == 1
    assert printed[0].startswith("action: unknown action 'send_notificaton'; registered actions: ")
