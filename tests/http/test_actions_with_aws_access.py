"""docs/adding-an-action.md's "An action that needs AWS access", run as the page writes it.

The template additions are read from the page and made on moto the way the local cloud makes the template's
resources; the action is the page's own file, run through the callback's real entry point against a receiver
on loopback; the scheduler's side is a fresh interpreter that validates `data` and must load no AWS SDK.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from localcloud.actions_reload import add_action_directories
from localcloud.template import ROOT, LocalResources, load_template, provision
from taskcore.registry import occurrence_key, registry
from taskcore.secrets import get_secrets_provider
from tests.callback.helpers import delivery
from tests.http.receiver import Receiver

PAGE = (ROOT / "docs" / "adding-an-action.md").read_text(encoding="utf-8")


def documented(pattern: str) -> str:
    found = re.search(pattern, PAGE, re.S)
    assert found is not None, f"docs/adding-an-action.md lost its example ({pattern})"
    return found.group(1)


ACTION_SOURCE = documented(r"```python\n(# layers/shared/taskcore/actions/notify_partner\.py.*?)```")
TEMPLATE_ADDITIONS = documented(r"```yaml\n(# template\.yaml, added for notify_partner.*?)```")


@pytest.fixture
def additions(tmp_path: Path) -> dict[str, Any]:
    """The page's template additions, parsed as the local cloud parses template.yaml (CloudFormation tags)."""
    path = tmp_path / "additions.yaml"
    path.write_text(TEMPLATE_ADDITIONS, encoding="utf-8")
    return load_template(path)


@pytest.fixture
def action_dir(tmp_path: Path) -> Iterator[Path]:
    """The page's action as one file in the action package (a directory added to it, as the local cloud does)."""
    directory = tmp_path / "actions"
    directory.mkdir()
    (directory / "notify_partner.py").write_text(ACTION_SOURCE, encoding="utf-8")
    remove = add_action_directories([directory])
    registry.reload()
    yield directory
    remove()
    registry.reload()


def test_the_additions_give_the_callback_alone_the_variables_the_action_reads_and_the_grant_on_its_secret(
    additions: dict[str, Any],
) -> None:
    callback = additions["Resources"]["CallbackFunction"]["Properties"]
    variables = callback["Environment"]["Variables"]
    (statement,) = callback["Policies"][0]["Statement"]

    assert set(re.findall(r'os\.environ(?:\.get\(|\[)"(\w+)"', ACTION_SOURCE)) == set(variables)
    assert statement["Action"] == "secretsmanager:GetSecretValue"
    assert statement["Resource"] == variables["PARTNER_API_KEY_SECRET_ID"] == {"Ref": "PartnerApiKeySecret"}
    assert additions["Resources"]["PartnerApiKeySecret"]["Type"] == "AWS::SecretsManager::Secret"
    assert "SchedulerFunction" not in additions["Resources"]  # the scheduler only validates data
    # Merged into template.yaml they name nothing the template lacks, and no variable it already sets.
    template = load_template()
    assert not set(variables) & set(template["Resources"]["CallbackFunction"]["Properties"]["Environment"]["Variables"])
    assert not set(additions["Parameters"]) & set(template["Parameters"])


def test_the_action_reads_its_secret_when_it_runs_and_calls_the_partner_with_it(
    callback: Any,
    aws: LocalResources,
    additions: dict[str, Any],
    action_dir: Path,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = {"PartnerApiKeySecret": additions["Resources"]["PartnerApiKeySecret"]}
    made = provision(boto3._get_default_session(), template={"Resources": secret})
    arn = made.arns["PartnerApiKeySecret"]
    boto3.client("secretsmanager").put_secret_value(SecretId=arn, SecretString="partner-key-1")
    monkeypatch.setenv("PARTNER_API_KEY_SECRET_ID", arn)
    monkeypatch.setenv("PARTNER_API_URL", f"{receiver.url}/v1/notices")
    get_secrets_provider.cache_clear()

    response = callback(delivery("ship-1", action="notify_partner", data={"order_id": 42, "carrier": "ups"}))

    assert response["statusCode"] == 200, response["body"]
    assert json.loads(response["body"])["result"] == {"status": 200}
    (request,) = receiver.received
    assert request.headers["Authorization"] == "Bearer partner-key-1"
    assert request.headers["Idempotency-Key"] == occurrence_key(
        {"task_id": "ship-1", "scheduled_time": "2026-12-01T00:00:00Z"}
    )
    assert json.loads(request.body) == {"order_id": 42, "carrier": "ups"}


PROBE = """
import json, sys
import taskcore.actions
taskcore.actions.__path__.append(sys.argv[1])
from pydantic import ValidationError
from taskcore.registry import registry

action = registry.get("notify_partner")
action.parse({"order_id": 42, "carrier": "ups"})
try:
    action.parse({"order_id": 42})
    refused = None
except ValidationError as exc:
    refused = exc.errors()[0]["loc"]
print(json.dumps({"refused": refused, "loaded": [m for m in ("boto3", "taskcore.secrets") if m in sys.modules]}))
"""


def test_the_scheduler_validates_its_data_without_an_aws_sdk_or_the_secret(action_dir: Path) -> None:
    result = subprocess.run(  # noqa: S603 - this interpreter, with a fixed program
        [sys.executable, "-c", PROBE, str(action_dir)], capture_output=True, text=True, check=True
    )

    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"refused": ["carrier"], "loaded": []}
