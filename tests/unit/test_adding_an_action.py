"""docs/adding-an-action.md's promise: one new file in taskcore/actions/ and nothing else.

The file is the page's own example, put in a fresh interpreter's action package (a directory added to
`taskcore.actions.__path__`, as if it were in layers/shared/taskcore/actions/), so the test neither
writes into the source tree nor depends on which actions ship.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from localcloud.template import ROOT

PROBE = """
import json, sys
import taskcore.actions
taskcore.actions.__path__.append(sys.argv[1])

from fastapi.testclient import TestClient
from taskcore.registry import registry
from callback_app.main import app as callback_app
from scheduler_app.main import app as scheduler_app

callback = TestClient(callback_app)
scheduler = TestClient(scheduler_app)
unknown = scheduler.post(
    "/api/v1/schedules", json={"task_id": "t", "user_id": 1, "action": "no-such-action", "delay_minutes": 5}
)
invalid = scheduler.post(
    "/api/v1/schedules", json={"task_id": "t", "user_id": 1, "action": "expire_coupon", "data": {}, "delay_minutes": 5}
)
print(json.dumps({
    "names": registry.names(),
    "callback_health": callback.get("/health").json()["actions"],
    "scheduler_health": scheduler.get("/health").json().get("actions"),
    "unknown": unknown.json()["detail"],
    "invalid": invalid.json()["detail"],
}))
"""


def documented_action_source() -> str:
    text = (ROOT / "docs" / "adding-an-action.md").read_text(encoding="utf-8")
    source = re.search(r"```python\n(# layers/shared/taskcore/actions/.*?)```", text, re.S)
    assert source is not None, "the example action is missing from docs/adding-an-action.md"
    return source.group(1)


def test_one_new_file_adds_an_action_to_the_registry_health_and_the_422_message(tmp_path: Path) -> None:
    (tmp_path / "expire_coupon.py").write_text(documented_action_source(), encoding="utf-8")
    paths = [ROOT / "layers" / "shared", ROOT / "functions" / "callback", ROOT / "functions" / "scheduler"]

    result = subprocess.run(  # noqa: S603 - our interpreter, our code
        [sys.executable, "-W", "ignore::DeprecationWarning", "-c", PROBE, str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
        env={
            "PYTHONPATH": ":".join(str(p) for p in paths),
            "POWERTOOLS_SERVICE_NAME": "probe",
            # The scheduler's configuration, as template.yaml gives it (nothing here reaches AWS).
            "AWS_DEFAULT_REGION": "us-east-1",
            "SCHEDULE_GROUP_NAME": "probe-tasks",
            "CALLBACK_FUNCTION_ARN": "arn:aws:lambda:us-east-1:123456789012:function:probe",
            "SCHEDULER_ROLE_ARN": "arn:aws:iam::123456789012:role/probe",
            "SCHEDULER_DLQ_ARN": "arn:aws:sqs:us-east-1:123456789012:probe",
            "TASK_LEDGER_TABLE": "probe-ledger",
        },
    )
    seen = json.loads(result.stdout.strip().splitlines()[-1])

    assert "expire_coupon" in seen["names"]
    assert seen["callback_health"] == seen["names"]
    assert seen["scheduler_health"] == seen["names"]
    assert seen["unknown"].endswith(f"registered actions: {', '.join(seen['names'])}")
    assert "expire_coupon" in seen["unknown"]
    assert seen["invalid"] == "data: invalid data for action 'expire_coupon': coupon_id: Field required"
