"""The scheduler imports every action module to validate `data`: for http_request that must cost the allowlist
and nothing of the call (http.client, the signing key, Secrets Manager, boto3), and read no secret."""

from __future__ import annotations

import json
import os
import subprocess
import sys

CALL_ONLY = (
    "http.client",
    "boto3",
    "aws_lambda_powertools.utilities.parameters",
    "taskcore.secrets",
    "taskcore.outbound.delivery",
    "taskcore.outbound.signing",
    "taskcore.outbound.transport",
)
PROBE = f"""
import json, sys
from taskcore.registry import registry
action = registry.get("http_request")
action.parse({{"url": "https://api.example.com/hooks/x", "body": {{"n": 1}}}})
print(json.dumps([m for m in {CALL_ONLY!r} if m in sys.modules]))
"""


def test_validating_http_request_data_loads_nothing_the_call_needs() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HTTP_ACTION_")}
    env["HTTP_ACTION_ALLOWED_HOSTS"] = "api.example.com"
    # No HTTP_ACTION_SIGNING_SECRET_ID, no AWS endpoint: validation must need neither.
    result = subprocess.run(  # noqa: S603 - this interpreter, with a fixed program
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, env=env
    )

    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
