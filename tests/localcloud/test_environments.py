"""The local Lambda's execution environments: what they run (from template.yaml), and how they report."""

from __future__ import annotations

import json

import pytest

from localcloud.environments import Environment, FunctionSpec
from localcloud.template import ROOT, function_settings

SLOW = "tests.localcloud.slow_functions.lambda_handler"


def test_the_callbacks_settings_come_from_the_template_with_globals_and_lambdas_defaults():
    template = {
        "Globals": {"Function": {"Timeout": 30, "MemorySize": 512, "Layers": [{"Ref": "Shared"}]}},
        "Resources": {
            "Shared": {"Type": "AWS::Serverless::LayerVersion", "Properties": {"ContentUri": "layers/shared/"}},
            "Own": {"Properties": {"Handler": "app.main.handler", "CodeUri": "functions/own/", "Timeout": 5}},
            "Shared30": {"Properties": {"Handler": "app.main.handler", "CodeUri": "functions/other"}},
        },
    }

    own = function_settings("Own", template)
    assert (own.handler, own.code_uri, own.layers, own.timeout_seconds, own.memory_mb) == (
        "app.main.handler",
        "functions/own",
        ("layers/shared",),
        5.0,
        512,
    )
    assert function_settings("Shared30", template).timeout_seconds == 30.0
    assert function_settings("Shared30", {"Resources": template["Resources"]}).timeout_seconds == 3.0  # Lambda's
    spec = FunctionSpec.from_template("CallbackFunction")
    assert (spec.handler, spec.timeout_seconds) == ("callback_app.main.lambda_handler", 30.0)
    assert spec.paths[:2] == (str(ROOT / "functions" / "callback"), str(ROOT / "layers" / "shared"))


@pytest.mark.parametrize(
    ("handler", "error_type", "message"),
    [
        ("tests.localcloud.no_such_module.lambda_handler", "Runtime.ImportModuleError", "Unable to import module"),
        ("tests.localcloud.slow_functions.no_such_handler", "Runtime.HandlerNotFound", "Handler 'no_such_handler'"),
    ],
)
def test_a_handler_that_cannot_be_loaded_fails_init_as_the_runtime_reports_it(handler, error_type, message):
    env = Environment(FunctionSpec("CallbackFunction", handler, timeout_seconds=1, paths=(str(ROOT),)), 1)

    error = env.start()

    assert error is not None
    assert error["errorType"] == error_type
    assert error["errorMessage"].startswith(message)
    assert not env.alive()


def test_an_environment_reports_the_handlers_exception_and_stays_warm():
    env = Environment(FunctionSpec("CallbackFunction", SLOW, timeout_seconds=5, paths=(str(ROOT),)), 1)
    assert env.start() is None
    try:
        failed = env.invoke("req-1", {"no": "body"})
        answered = env.invoke("req-2", {"body": json.dumps({"task_id": "t", "data": {}})})
    finally:
        env.stop()

    assert failed.error is not None
    assert (failed.error["errorType"], failed.error["requestId"], failed.environment_lost) == (
        "KeyError",
        "req-1",
        False,
    )
    assert answered.response["statusCode"] == 200
    assert env.invocations == 2
    assert not env.alive()
