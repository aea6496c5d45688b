"""The built CallbackFunction artifact runs as on Lambda: python3.13, no bytecode writing, layer in /opt.

`make test` builds the artifacts first where python3.13 exists and points BUILT_ARTIFACTS at them;
run alone, pytest skips this test (there is nothing built to check).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from localcloud.endpoint import moto_endpoint
from localcloud.template import ROOT

pytestmark = pytest.mark.integration

RUNNER = """
import json, sys
sys.path[:0] = sys.argv[1].split(":")  # /var/task, host builds of native code, /opt/python, the runtime's boto3
from callback_app.handler import lambda_handler
from localcloud.lambda_context import LocalLambdaContext
event = json.load(open(sys.argv[2]))
response = lambda_handler(event, LocalLambdaContext())
print(json.dumps({"status": response["statusCode"], "body": json.loads(response["body"]),
                  "imported_from": sys.modules["callback_app.handler"].__file__,
                  "fastapi_from": sys.modules["fastapi"].__file__}))
"""


def _built() -> Path:
    built = os.environ.get("BUILT_ARTIFACTS")
    if not built:
        pytest.skip("BUILT_ARTIFACTS is not set: `make test` builds the artifacts and sets it where python3.13 exists")
    return Path(built)


def test_built_callback_artifact_runs_events_callback_json_against_a_local_table():
    built = _built()
    python = os.environ["PYTHON313"]
    runtime = Path(os.environ["LAMBDA_RUNTIME_SITE"])  # boto3 alone, as the Lambda runtime provides it
    # The layer is built for arm64; its few native extensions are swapped for this host's builds.
    host_native = Path(os.environ["HOST_NATIVE_SITE"])
    task, layer = built / "CallbackFunction", built / "SharedLayer" / "python"
    assert any(task.rglob("*.pyc")), "the build must ship precompiled bytecode"

    with moto_endpoint() as endpoint:
        env = {**endpoint.environment(), "PYTHONDONTWRITEBYTECODE": "1", "PATH": os.environ.get("PATH", "")}
        result = subprocess.run(  # noqa: S603 - our interpreter, our artifact
            [
                python,
                "-B",
                "-W",
                "ignore::DeprecationWarning",
                "-c",
                RUNNER,
                ":".join(map(str, (task, host_native, layer, runtime))),
                str(ROOT / "events" / "callback.json"),
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**env, "PYTHONPATH": str(ROOT)},
            check=False,
            timeout=60,
        )
    assert result.returncode == 0, result.stderr[-2000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["status"] == 200
    assert outcome["body"]["task_id"] == "payment-reminder-42"
    assert outcome["imported_from"].startswith(str(task))
    assert outcome["fastapi_from"].startswith(str(layer))
