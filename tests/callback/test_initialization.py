"""Initialization: lazy on demand, ahead of time where Lambda initializes before any request."""

from __future__ import annotations

import subprocess
import sys

import pytest

from localcloud.template import ROOT

REPORT = """
import sys
from callback_app.service import get_task_runner
import callback_app.handler
print(get_task_runner.cache_info().currsize, "boto3" in sys.modules)
"""


@pytest.mark.parametrize(
    ("init_type", "built_during_init"),
    [("snap-start", True), ("provisioned-concurrency", True), ("on-demand", False)],
)
def test_runner_is_built_during_init_only_when_init_precedes_requests(init_type, built_during_init):
    env = {
        "PYTHONPATH": f"{ROOT / 'layers' / 'shared'}:{ROOT / 'functions' / 'callback'}",
        "AWS_LAMBDA_INITIALIZATION_TYPE": init_type,
        "IDEMPOTENCY_TABLE_NAME": "IdempotencyTable",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    result = subprocess.run(  # noqa: S603 - our interpreter, our code
        [sys.executable, "-W", "ignore::DeprecationWarning", "-c", REPORT],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )

    assert result.stdout.split() == (["1", "True"] if built_during_init else ["0", "False"])
