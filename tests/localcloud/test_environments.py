"""The local Lambda's execution environments: what they run, from template.yaml."""

from __future__ import annotations

from localcloud.template import function_settings


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
    callback = function_settings("CallbackFunction")
    assert (callback.handler, callback.timeout_seconds) == ("callback_app.main.lambda_handler", 30.0)
