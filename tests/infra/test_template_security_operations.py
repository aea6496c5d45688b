"""template.yaml as a security specification: the runtime, the alarms, the outputs and every checkov skip.

These read the template as written (SAM, before the transform); test_translated_template.py reads
what the transform makes of it. scripts/template-checks.sh runs the linters and checkov on both;
these tests pin the decisions those tools cannot know.
"""

from __future__ import annotations

from typing import Any

from callback_app.settings import LONGEST_REDELIVERY_WINDOW_SECONDS
from localcloud.template import resources_of_type
from tests.infra.template_reading import FUNCTIONS, RESOURCES, TEMPLATE, props

# --- Runtime --------------------------------------------------------------------------------


def test_every_function_runs_python313_on_arm64_with_active_tracing() -> None:
    function_globals = TEMPLATE["Globals"]["Function"]

    assert function_globals["Runtime"] == "python3.13"
    assert function_globals["Architectures"] == ["arm64"]
    assert function_globals["Tracing"] == "Active"
    for logical_id in FUNCTIONS:
        overridden = {"Runtime", "Architectures", "Tracing"} & props(logical_id).keys()
        assert not overridden, f"{logical_id} overrides {overridden}"


def test_powertools_settings_are_stack_parameters() -> None:
    variables = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]

    assert variables["POWERTOOLS_SERVICE_NAME"] == {"Ref": "ServiceName"}
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == {"Ref": "MetricsNamespace"}
    assert variables["POWERTOOLS_LOG_LEVEL"] == {"Ref": "LogLevel"}
    assert set(TEMPLATE["Parameters"]["LogLevel"]["AllowedValues"]) == {"DEBUG", "INFO", "WARNING", "ERROR"}


def test_functions_share_the_layer_and_log_to_groups_with_retention() -> None:
    assert TEMPLATE["Globals"]["Function"]["Layers"] == [{"Ref": "SharedLayer"}]
    for logical_id in FUNCTIONS:
        log_group = props(logical_id)["LoggingConfig"]["LogGroup"]["Ref"]
        assert props(log_group)["RetentionInDays"] == {"Ref": "LogRetentionInDays"}


def test_idempotency_records_outlive_every_redelivery_the_callback_accepts() -> None:
    # The callback refuses to start with a shorter lifetime; the stack must refuse it first.
    ttl = TEMPLATE["Parameters"]["IdempotencyRecordTtlSeconds"]

    assert ttl["MinValue"] == LONGEST_REDELIVERY_WINDOW_SECONDS
    assert ttl["Default"] >= ttl["MinValue"]


# --- Alarms ---------------------------------------------------------------------------------


def alarms() -> dict[str, dict[str, Any]]:
    return {lid: res["Properties"] for lid, res in resources_of_type(TEMPLATE, "AWS::CloudWatch::Alarm").items()}


def test_alarms_fire_on_any_message_in_any_dead_letter_queue() -> None:
    watched = {
        alarm["Dimensions"][0]["Value"]["Fn::GetAtt"][0]: alarm
        for alarm in alarms().values()
        if alarm["Namespace"] == "AWS/SQS"
    }

    assert set(watched) == {"ScheduleDeliveryDLQ", "CallbackFailureQueue", "RejectedTaskQueue"}
    for alarm in watched.values():
        assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
        assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)


def test_alarms_fire_on_any_function_error() -> None:
    watched = {
        alarm["Dimensions"][0]["Value"]["Ref"]: alarm
        for alarm in alarms().values()
        if alarm["Namespace"] == "AWS/Lambda" and alarm["MetricName"] == "Errors"
    }

    assert set(watched) == set(FUNCTIONS)
    for alarm in watched.values():
        assert (alarm["MetricName"], alarm["Statistic"]) == ("Errors", "Sum")
        assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)


def test_alarms_notify_the_topic_that_exists_only_when_an_email_is_given() -> None:
    assert TEMPLATE["Parameters"]["AlarmEmail"]["Default"] == ""
    assert TEMPLATE["Conditions"]["HasAlarmEmail"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}
    for logical_id in ("AlarmTopic", "AlarmEmailSubscription"):
        assert RESOURCES[logical_id]["Condition"] == "HasAlarmEmail"
    assert props("AlarmEmailSubscription")["Endpoint"] == {"Ref": "AlarmEmail"}

    notify = {"Fn::If": ["HasAlarmEmail", [{"Ref": "AlarmTopic"}], {"Ref": "AWS::NoValue"}]}
    for alarm in alarms().values():
        assert alarm["AlarmActions"] == notify
        assert alarm["TreatMissingData"] == "notBreaching"


# --- Outputs and checkov --------------------------------------------------------------------


def test_outputs_name_everything_an_operator_needs() -> None:
    assert {
        "ApiUrl",
        "SchedulerFunctionName",
        "SchedulerFunctionArn",
        "CallbackFunctionName",
        "CallbackFunctionArn",
        "CallbackTargetArn",
        "IdempotencyTableName",
        "TaskLedgerTableName",
        "ScheduleGroupName",
        "CallbackFailureQueueUrl",
        "ScheduleDeliveryDLQUrl",
        "RejectedTaskQueueUrl",
    } <= TEMPLATE["Outputs"].keys()
    assert TEMPLATE["Outputs"]["ApiUrl"]["Value"] == {
        "Fn::Sub": "https://${SchedulerApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/v1"
    }
    assert props("SchedulerApi")["StageName"] == "v1"


def test_every_checkov_skip_says_why() -> None:
    skips = [
        (logical_id, skip)
        for logical_id, resource in RESOURCES.items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]

    assert skips, "the template documents its skips"
    for logical_id, skip in skips:
        assert skip["id"].startswith(("CKV_AWS_", "CKV2_AWS_")), (logical_id, skip)
        assert len(skip.get("comment", "")) > 40, f"{logical_id} skips {skip['id']} without a reason"
