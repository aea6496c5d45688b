"""template.yaml as a security specification: who may call what, what is encrypted, what alarms.

These read the template as written (SAM, before the transform); test_translated_template.py reads
what the transform makes of it. scripts/template-checks.sh runs the linters and checkov on both;
these tests pin the decisions those tools cannot know.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from callback_app.settings import LONGEST_REDELIVERY_WINDOW_SECONDS
from localcloud.template import load_template, resources_of_type
from tests.infra.cloudformation import deployed

TEMPLATE = load_template()
RESOURCES: dict[str, dict[str, Any]] = TEMPLATE["Resources"]
FUNCTIONS = resources_of_type(TEMPLATE, "AWS::Serverless::Function")


def props(logical_id: str) -> dict[str, Any]:
    properties: dict[str, Any] = RESOURCES[logical_id].get("Properties", {})
    return properties


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def policy_statements(node: Any = TEMPLATE) -> Iterator[dict[str, Any]]:
    """Every IAM statement anywhere in the template: role and queue policies, SAM `Policies`, trust policies."""
    if isinstance(node, dict):
        statements = node.get("Statement")
        if isinstance(statements, list):
            yield from (s for s in statements if isinstance(s, dict))
        for value in node.values():
            yield from policy_statements(value)
    elif isinstance(node, list):
        for item in node:
            yield from policy_statements(item)


def function_statements(logical_id: str) -> list[dict[str, Any]]:
    return [s for policy in props(logical_id).get("Policies", []) for s in policy["Statement"]]


def statement_granting(statements: list[dict[str, Any]], action: str, resource: str = "") -> dict[str, Any]:
    """The one statement granting `action` (on a resource whose definition names `resource`)."""
    (found,) = [s for s in statements if action in as_list(s["Action"]) and resource in str(s["Resource"])]
    return found


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


# --- EventBridge Scheduler's role -----------------------------------------------------------


def test_invoke_role_is_trusted_only_by_scheduler_for_this_stacks_schedule_group() -> None:
    # AWS's confused-deputy guidance for EventBridge Scheduler: aws:SourceArn is the schedule
    # *group* ARN (never a schedule's), which is what Scheduler passes when it assumes the role.
    (trust,) = props("SchedulerInvokeRole")["AssumeRolePolicyDocument"]["Statement"]

    assert trust == {
        "Effect": "Allow",
        "Principal": {"Service": "scheduler.amazonaws.com"},
        "Action": "sts:AssumeRole",
        "Condition": {
            "StringEquals": {
                "aws:SourceAccount": {"Ref": "AWS::AccountId"},
                "aws:SourceArn": {"Fn::GetAtt": ["ScheduleGroup", "Arn"]},
            }
        },
    }


def test_the_trusted_schedule_group_is_the_one_the_scheduler_function_creates_schedules_in() -> None:
    (trust,) = props("SchedulerInvokeRole")["AssumeRolePolicyDocument"]["Statement"]
    source_arn = trust["Condition"]["StringEquals"]["aws:SourceArn"]
    variables = props("SchedulerFunction")["Environment"]["Variables"]

    assert list(resources_of_type(TEMPLATE, "AWS::Scheduler::ScheduleGroup")) == ["ScheduleGroup"]
    assert (source_arn, variables["SCHEDULE_GROUP_NAME"]) == (
        {"Fn::GetAtt": ["ScheduleGroup", "Arn"]},
        {"Ref": "ScheduleGroup"},
    )


@pytest.mark.parametrize(
    ("snapstart", "target"),
    [
        ("true", {"Ref": "CallbackFunction.Alias"}),
        ("false", {"Fn::GetAtt": ["CallbackFunction", "Arn"]}),
    ],
)
def test_invoke_role_may_invoke_only_the_schedules_target_and_send_to_its_dlq(snapstart: str, target: Any) -> None:
    # Not every version (`:*`): only what CALLBACK_FUNCTION_ARN makes the schedules invoke.
    stack = deployed(TEMPLATE, EnableSnapStart=snapstart)
    role = stack["Resources"]["SchedulerInvokeRole"]["Properties"]
    schedules_target = stack["Resources"]["SchedulerFunction"]["Properties"]["Environment"]["Variables"]
    (policy,) = role["Policies"]

    assert "ManagedPolicyArns" not in role
    assert schedules_target["CALLBACK_FUNCTION_ARN"] == target
    assert policy["PolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": target},
        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": {"Fn::GetAtt": ["ScheduleDeliveryDLQ", "Arn"]}},
    ]


# --- The scheduler function's permissions ---------------------------------------------------


def test_scheduler_function_manages_only_its_own_groups_schedules() -> None:
    statement = statement_granting(function_statements("SchedulerFunction"), "scheduler:CreateSchedule")

    assert sorted(as_list(statement["Action"])) == [
        "scheduler:CreateSchedule",
        "scheduler:DeleteSchedule",
        "scheduler:GetSchedule",
        "scheduler:UpdateSchedule",
    ]
    assert statement["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:schedule/${ScheduleGroup}/*"
    }


def test_no_statement_grants_on_every_resource() -> None:
    # Listings come from the task ledger: the scheduler needs no ListSchedules, the one action that needs "*".
    unscoped = [s for s in policy_statements() if s.get("Effect") == "Allow" and "*" in as_list(s.get("Resource"))]

    assert unscoped == []


def test_scheduler_function_may_pass_only_the_invoke_role_and_only_to_scheduler() -> None:
    statement = statement_granting(function_statements("SchedulerFunction"), "iam:PassRole")

    assert statement["Action"] == "iam:PassRole"
    assert statement["Resource"] == {"Fn::GetAtt": ["SchedulerInvokeRole", "Arn"]}
    assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}


def test_function_policies_are_written_out_not_sam_policy_templates() -> None:
    for logical_id in FUNCTIONS:
        for policy in props(logical_id).get("Policies", []):
            assert set(policy) == {"Statement"}, f"{logical_id} uses a policy template: {policy}"


def test_no_policy_grants_a_wildcard_action() -> None:
    statements = list(policy_statements())
    assert len(statements) >= 10  # the walk found the policies

    for statement in statements:
        actions = as_list(statement.get("Action", []))
        assert "*" not in actions, statement
        if statement["Effect"] == "Allow":
            assert not [a for a in actions if "*" in a], statement


# --- The callback ---------------------------------------------------------------------------


def test_callback_failures_are_retried_twice_then_sent_to_the_failure_queue() -> None:
    expected = {
        "MaximumRetryAttempts": 2,
        "MaximumEventAgeInSeconds": 21600,
        "DestinationConfig": {
            "OnFailure": {"Type": "SQS", "Destination": {"Fn::GetAtt": ["CallbackFailureQueue", "Arn"]}}
        },
    }
    assert props("CallbackFunction")["EventInvokeConfig"] == expected

    # SAM attaches that to the `live` alias; without SnapStart the schedules invoke the unqualified
    # function, so the same settings must exist for $LATEST.
    latest = RESOURCES["CallbackLatestInvokeConfig"]
    assert latest["Condition"] == "SnapStartDisabled"
    assert latest["Properties"]["FunctionName"] == {"Ref": "CallbackFunction"}
    assert latest["Properties"]["Qualifier"] == "$LATEST"
    for key in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds"):
        assert latest["Properties"][key] == expected[key]
    assert latest["Properties"]["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["CallbackFailureQueue", "Arn"]
    }


def test_callback_role_may_send_to_its_failure_queue_and_its_rejected_task_queue_only() -> None:
    granted = [
        s["Resource"] for s in function_statements("CallbackFunction") if "sqs:SendMessage" in as_list(s["Action"])
    ]

    assert sorted(granted, key=str) == sorted(
        [{"Fn::GetAtt": ["CallbackFailureQueue", "Arn"]}, {"Fn::GetAtt": ["RejectedTaskQueue", "Arn"]}], key=str
    )


def test_callback_keeps_rejected_tasks_in_the_queue_the_template_creates() -> None:
    variables = props("CallbackFunction")["Environment"]["Variables"]

    assert variables["REJECTED_TASK_QUEUE_URL"] == {"Ref": "RejectedTaskQueue"}
    # Room for the largest event the callback accepts (1,000,000 bytes) and its record around it.
    assert props("RejectedTaskQueue")["MaximumMessageSize"] == 1_048_576


def test_callback_touches_only_idempotency_records() -> None:
    statement = statement_granting(function_statements("CallbackFunction"), "dynamodb:PutItem")

    assert sorted(as_list(statement["Action"])) == [
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
    ]
    assert statement["Resource"] == {"Fn::GetAtt": ["IdempotencyTable", "Arn"]}


@pytest.mark.parametrize(
    ("snapstart", "target"),
    [
        ("true", {"Ref": "CallbackFunction.Alias"}),
        ("false", {"Fn::GetAtt": ["CallbackFunction", "Arn"]}),
    ],
)
def test_schedules_target_the_live_alias_exactly_when_snapstart_is_on(snapstart: str, target: Any) -> None:
    condition = TEMPLATE["Conditions"]["SnapStartEnabled"]
    arn = props("SchedulerFunction")["Environment"]["Variables"]["CALLBACK_FUNCTION_ARN"]
    callback = props("CallbackFunction")

    assert condition == {"Fn::Equals": [{"Ref": "EnableSnapStart"}, "true"]}
    assert arn["Fn::If"][0] == "SnapStartEnabled"
    assert arn["Fn::If"][1 if snapstart == "true" else 2] == target
    assert callback["AutoPublishAlias"] == "live"
    assert callback["SnapStart"]["ApplyOn"] == {"Fn::If": ["SnapStartEnabled", "PublishedVersions", "None"]}


def test_a_new_layer_publishes_a_new_callback_version() -> None:
    # Otherwise the `live` alias (SnapStart) would keep running the previous actions.
    assert props("CallbackFunction")["AutoPublishAliasAllProperties"] is True
    assert props("SharedLayer")["PublishLambdaVersion"] is True


# --- State ----------------------------------------------------------------------------------


def test_idempotency_table_is_encrypted_recoverable_and_expires_records() -> None:
    table = props("IdempotencyTable")

    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["AttributeDefinitions"] == [{"AttributeName": "id", "AttributeType": "S"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert table["SSESpecification"]["SSEEnabled"] is True
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert "TableName" not in table


def test_the_task_ledger_is_encrypted_recoverable_and_expires_ended_tasks() -> None:
    table = props("TaskLedgerTable")

    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert table["SSESpecification"]["SSEEnabled"] is True
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert "TableName" not in table
    assert TEMPLATE["Parameters"]["TaskRetentionSeconds"]["Default"] == 604_800  # 7 days


def test_the_ledgers_indexes_answer_a_listing_page_without_reading_the_table() -> None:
    from taskcore.ledger import LISTED_ATTRIBUTES

    indexes = {index["IndexName"]: index for index in props("TaskLedgerTable")["GlobalSecondaryIndexes"]}

    assert {name: [k["AttributeName"] for k in index["KeySchema"]] for name, index in indexes.items()} == {
        "ByUser": ["user_key", "created_key"],
        "ByState": ["state_key", "created_key"],
        "ByOwner": ["owner_key", "created_key"],
        "LiveByOwner": ["live_owner_key", "created_key"],
    }
    for name in ("ByUser", "ByState", "ByOwner"):
        assert indexes[name]["Projection"]["ProjectionType"] == "INCLUDE"
        assert set(indexes[name]["Projection"]["NonKeyAttributes"]) == set(LISTED_ATTRIBUTES)
    # Counted, never listed: an owner's live tasks, keys only.
    assert indexes["LiveByOwner"]["Projection"] == {"ProjectionType": "KEYS_ONLY"}


def test_who_may_do_what_and_how_much_are_stack_parameters() -> None:
    parameters = TEMPLATE["Parameters"]
    variables = props("SchedulerFunction")["Environment"]["Variables"]

    assert parameters["Isolation"]["Default"] == "shared"
    assert parameters["Isolation"]["AllowedValues"] == ["shared", "owner"]
    assert parameters["AdminPrincipals"]["Type"] == "CommaDelimitedList"
    assert (
        parameters["MinimumScheduleIntervalSeconds"]["Default"],
        parameters["MaxActiveSchedulesPerOwner"]["Default"],
    ) == (
        60,
        10_000,
    )
    assert variables["TASK_ISOLATION"] == {"Ref": "Isolation"}
    assert variables["ADMIN_PRINCIPALS"] == {"Fn::Join": [",", {"Ref": "AdminPrincipals"}]}
    assert variables["MIN_SCHEDULE_INTERVAL_SECONDS"] == {"Ref": "MinimumScheduleIntervalSeconds"}
    assert variables["MAX_ACTIVE_SCHEDULES_PER_OWNER"] == {"Ref": "MaxActiveSchedulesPerOwner"}


def test_the_owner_of_an_assumed_role_session_is_a_stack_parameter() -> None:
    parameter = TEMPLATE["Parameters"]["AssumedRoleOwner"]
    groups = TEMPLATE["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
    who = next(group["Parameters"] for group in groups if "Isolation" in group["Parameters"])

    assert (parameter["Type"], parameter["Default"], parameter["AllowedValues"]) == (
        "String",
        "role",
        ["role", "session"],
    )
    assert who[: who.index("AdminPrincipals") + 1] == ["Isolation", "AssumedRoleOwner", "AdminPrincipals"]
    assert props("SchedulerFunction")["Environment"]["Variables"]["ASSUMED_ROLE_OWNER"] == {"Ref": "AssumedRoleOwner"}


def test_the_callbacks_reserved_concurrency_is_optional_and_its_throttles_alarm() -> None:
    reserved = props("CallbackFunction")["ReservedConcurrentExecutions"]
    alarm = props("CallbackThrottlesAlarm")

    assert TEMPLATE["Parameters"]["CallbackReservedConcurrency"]["Default"] == ""
    assert reserved == {
        "Fn::If": ["HasReservedConcurrency", {"Ref": "CallbackReservedConcurrency"}, {"Ref": "AWS::NoValue"}]
    }
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Dimensions"]) == (
        "AWS/Lambda",
        "Throttles",
        [{"Name": "FunctionName", "Value": {"Ref": "CallbackFunction"}}],
    )
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)


def test_the_callback_records_runs_with_update_item_only() -> None:
    statement = statement_granting(function_statements("CallbackFunction"), "dynamodb:UpdateItem", "TaskLedgerTable")

    # TransactWriteItems is authorised per item by the action each item performs (here UpdateItem).
    assert statement["Action"] == "dynamodb:UpdateItem"
    assert statement["Resource"] == {"Fn::GetAtt": ["TaskLedgerTable", "Arn"]}


def test_the_scheduler_reads_the_ledger_by_query_only_never_scan() -> None:
    statements = [s for s in function_statements("SchedulerFunction") if "TaskLedgerTable" in str(s["Resource"])]

    assert [(sorted(as_list(s["Action"])), s["Resource"]) for s in statements] == [
        (
            ["dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"],
            {"Fn::GetAtt": ["TaskLedgerTable", "Arn"]},
        ),
        (["dynamodb:Query"], {"Fn::Sub": "${TaskLedgerTable.Arn}/index/*"}),
    ]


@pytest.mark.parametrize("queue", ["ScheduleDeliveryDLQ", "CallbackFailureQueue", "RejectedTaskQueue"])
def test_dead_letter_queues_are_encrypted_and_keep_messages_14_days(queue: str) -> None:
    assert props(queue)["SqsManagedSseEnabled"] is True
    assert props(queue)["MessageRetentionPeriod"] == 1_209_600
    assert "QueueName" not in props(queue)


def test_dead_letter_queues_refuse_plain_http_and_other_accounts() -> None:
    policy = props("DeadLetterQueuesPolicy")
    statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}

    assert policy["Queues"] == [
        {"Ref": "ScheduleDeliveryDLQ"},
        {"Ref": "CallbackFailureQueue"},
        {"Ref": "RejectedTaskQueue"},
    ]
    for statement in statements.values():
        assert len(statement["Resource"]) == 3
    assert {s["Effect"] for s in statements.values()} == {"Deny"}
    assert statements["DenyInsecureTransport"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert statements["DenyOtherAccounts"]["Condition"] == {
        "StringNotEquals": {"aws:PrincipalAccount": {"Ref": "AWS::AccountId"}}
    }


def test_only_the_schedule_group_has_a_fixed_name() -> None:
    # CloudFormation names the rest, so two stacks (dev, prod) never collide in one account.
    assert props("ScheduleGroup")["Name"] == {"Fn::Sub": "${AWS::StackName}-tasks"}
    name_key = {
        "AWS::DynamoDB::Table": "TableName",
        "AWS::SQS::Queue": "QueueName",
        "AWS::Serverless::Function": "FunctionName",
        "AWS::IAM::Role": "RoleName",
        "AWS::SNS::Topic": "TopicName",
        "AWS::Logs::LogGroup": "LogGroupName",
        "AWS::Serverless::Api": "Name",
    }
    named = [lid for lid, res in RESOURCES.items() if name_key.get(res["Type"]) in res.get("Properties", {})]
    assert named == []


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
