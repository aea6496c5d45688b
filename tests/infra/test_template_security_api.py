"""template.yaml as a security specification: every API route needs SigV4, and there is no other way in.

These read the template as written (SAM, before the transform); test_translated_template.py reads
what the transform makes of it. scripts/template-checks.sh runs the linters and checkov on both;
these tests pin the decisions those tools cannot know.
"""

from __future__ import annotations

from localcloud.template import resources_of_type
from tests.infra.template_reading import FUNCTIONS, RESOURCES, TEMPLATE, props

# --- The API: SigV4 on every route ----------------------------------------------------------


def test_every_api_route_requires_sigv4() -> None:
    api = props("SchedulerApi")
    assert api["Auth"]["DefaultAuthorizer"] == "AWS_IAM"

    routes = [
        (logical_id, name, event)
        for logical_id in FUNCTIONS
        for name, event in props(logical_id).get("Events", {}).items()
        if event["Type"] == "Api"
    ]
    assert {(lid, event["Properties"]["Path"]) for lid, _, event in routes} == {
        ("SchedulerFunction", "/"),
        ("SchedulerFunction", "/{proxy+}"),
    }
    for logical_id, name, event in routes:
        # An Api event without RestApiId would create SAM's implicit API, which has no authorizer.
        assert event["Properties"]["RestApiId"] == {"Ref": "SchedulerApi"}, f"{logical_id}.{name}"
        assert "Auth" not in event["Properties"], f"{logical_id}.{name} must not override the authorizer"


def test_no_other_way_in_exists() -> None:
    entry_points = {"AWS::Serverless::HttpApi", "AWS::ApiGatewayV2::Api", "AWS::Lambda::Url", "AWS::Lambda::Permission"}

    assert not [lid for lid, res in RESOURCES.items() if res["Type"] in entry_points]
    assert list(resources_of_type(TEMPLATE, "AWS::Serverless::Api")) == ["SchedulerApi"]
    for logical_id in FUNCTIONS:
        assert "FunctionUrlConfig" not in props(logical_id)


def test_callback_has_no_trigger_of_its_own() -> None:
    # Only EventBridge Scheduler reaches it, through SchedulerInvokeRole.
    assert "Events" not in props("CallbackFunction")


def test_callers_need_only_execute_api_invoke() -> None:
    # With the default (caller credentials) every caller would also need lambda:InvokeFunction.
    assert props("SchedulerApi")["Auth"]["InvokeRole"] == "NONE"


def test_api_stage_logs_traces_and_throttles() -> None:
    api = props("SchedulerApi")

    assert api["TracingEnabled"] is True
    assert api["AccessLogSetting"]["DestinationArn"] == {"Fn::GetAtt": ["SchedulerApiAccessLogGroup", "Arn"]}
    assert props("SchedulerApiAccessLogGroup")["RetentionInDays"] == {"Ref": "LogRetentionInDays"}
    (settings,) = api["MethodSettings"]
    assert (settings["ResourcePath"], settings["HttpMethod"]) == ("/*", "*")
    assert settings["ThrottlingRateLimit"] == {"Ref": "ApiThrottlingRateLimit"}
    assert settings["ThrottlingBurstLimit"] == {"Ref": "ApiThrottlingBurstLimit"}
    assert settings["DataTraceEnabled"] is False, "request bodies carry task data"


def test_api_waits_for_the_account_logging_role_and_keeps_it_on_delete() -> None:
    # The role is optional (SetApiGatewayLoggingRole, test_template_access.py): the handle exists either way.
    assert RESOURCES["SchedulerApi"]["DependsOn"] == "ApiGatewayLoggingRoleReady"
    assert props("ApiGatewayAccount")["CloudWatchRoleArn"] == {"Fn::GetAtt": ["ApiGatewayCloudWatchRole", "Arn"]}
    for logical_id in ("ApiGatewayAccount", "ApiGatewayCloudWatchRole"):
        assert RESOURCES[logical_id]["DeletionPolicy"] == "Retain"
