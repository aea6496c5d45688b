"""The benchmark's peers still run: the Powertools resolver does the callback's work behind another HTTP layer.

bench/baselines/ is outside the type checks (it ships as the peers' own code), so a change of the
callback's service it reuses would otherwise surface only in `make bench`.
"""

from __future__ import annotations

import importlib.util
import json
from typing import Any

from localcloud.lambda_context import LocalLambdaContext
from localcloud.template import ROOT
from tests.callback.helpers import ActionSpy, delivery


def load_resolver() -> Any:
    path = ROOT / "bench" / "baselines" / "powertools_resolver" / "resolver_handler.py"
    spec = importlib.util.spec_from_file_location("resolver_handler_under_test", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_resolver_baseline_runs_a_task_once_and_replays_it(callback: Any, spy_action: ActionSpy) -> None:
    resolver = load_resolver()
    event = delivery("bench-1")

    first = resolver.lambda_handler(event, LocalLambdaContext())
    again = resolver.lambda_handler(event, LocalLambdaContext())

    assert first["statusCode"] == again["statusCode"] == 200
    assert (json.loads(first["body"])["duplicate"], json.loads(again["body"])["duplicate"]) == (False, True)
    assert len(spy_action.runs) == 1
