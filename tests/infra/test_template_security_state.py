"""template.yaml as a security specification: the tables and the queues: encrypted, recoverable, least privilege.

These read the template as written (SAM, before the transform); test_translated_template.py reads
what the transform makes of it. scripts/template-checks.sh runs the linters and checkov on both;
these tests pin the decisions those tools cannot know.
"""

from __future__ import annotations

import pytest

from tests.infra.template_reading import RESOURCES, TEMPLATE, as_list, function_statements, props, statement_granting

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
    from taskcore.due import DUE_ATTRIBUTES
    from taskcore.ledger import LISTED_ATTRIBUTES

    indexes = {index["IndexName"]: index for index in props("TaskLedgerTable")["GlobalSecondaryIndexes"]}

    assert {name: [k["AttributeName"] for k in index["KeySchema"]] for name, index in indexes.items()} == {
        "ByUser": ["user_key", "created_key"],
        "ByState": ["state_key", "created_key"],
        "ByOwner": ["owner_key", "created_key"],
        "LiveByDue": ["due_shard", "due_at"],
    }
    for name in ("ByUser", "ByState", "ByOwner"):
        assert indexes[name]["Projection"]["ProjectionType"] == "INCLUDE"
        assert set(indexes[name]["Projection"]["NonKeyAttributes"]) == set(LISTED_ATTRIBUTES)
    # No index counts the quota: counters do, in the create and end transactions (taskcore/quota.py).
    assert "LiveByOwner" not in indexes
    # Swept, never listed: what the sweep decides on (taskcore.due).
    assert indexes["LiveByDue"]["Projection"]["ProjectionType"] == "INCLUDE"
    assert set(indexes["LiveByDue"]["Projection"]["NonKeyAttributes"]) == set(DUE_ATTRIBUTES)


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
        10_000_000,
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


def test_the_callback_records_runs_with_update_item_and_checks_the_task_with_condition_check_only() -> None:
    statement = statement_granting(function_statements("CallbackFunction"), "dynamodb:UpdateItem", "TaskLedgerTable")

    # TransactWriteItems is authorised per item by the action each item performs (UpdateItem, and the start
    # write's ConditionCheck on the task item): no Put, no Delete, no read of the ledger.
    assert sorted(statement["Action"]) == ["dynamodb:ConditionCheckItem", "dynamodb:UpdateItem"]
    assert statement["Resource"] == {"Fn::GetAtt": ["TaskLedgerTable", "Arn"]}


def test_the_scheduler_reads_the_ledger_by_query_only_never_scan() -> None:
    statements = [s for s in function_statements("SchedulerFunction") if "TaskLedgerTable" in str(s["Resource"])]

    assert [(sorted(as_list(s["Action"])), s["Resource"]) for s in statements] == [
        (
            [
                "dynamodb:BatchGetItem",
                "dynamodb:DeleteItem",
                "dynamodb:PutItem",
                "dynamodb:Query",
                "dynamodb:UpdateItem",
            ],
            {"Fn::GetAtt": ["TaskLedgerTable", "Arn"]},
        ),
        (["dynamodb:Query"], {"Fn::Sub": "${TaskLedgerTable.Arn}/index/*"}),
    ]


@pytest.mark.parametrize(
    "queue",
    [
        "ScheduleDeliveryDLQ",
        "CallbackFailureQueue",
        "RejectedTaskQueue",
        "CallbackFailureInbox",
        "ScheduleDeliveryInbox",
    ],
)
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
        {"Ref": "CallbackFailureInbox"},
        {"Ref": "ScheduleDeliveryInbox"},
    ]
    for statement in statements.values():
        assert len(statement["Resource"]) == 5
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


def test_an_actions_limits_are_checked_against_the_callbacks_timeout_and_lambdas_attempts() -> None:
    from taskcore.registry import FUNCTION_TIMEOUT_SECONDS, MAX_INVOCATIONS

    # registry.action(..., timeout=, max_attempts=) refuses what the deployed function could not keep.
    callback = props("CallbackFunction")
    timeout = callback.get("Timeout") or TEMPLATE["Globals"]["Function"]["Timeout"]
    assert timeout == FUNCTION_TIMEOUT_SECONDS
    assert callback["EventInvokeConfig"]["MaximumRetryAttempts"] + 1 == MAX_INVOCATIONS
    assert callback["Environment"]["Variables"]["CALLBACK_MAX_INVOCATIONS"] == MAX_INVOCATIONS


@pytest.mark.parametrize(
    ("inbox", "operator_queue"),
    [("CallbackFailureInbox", "CallbackFailureQueue"), ("ScheduleDeliveryInbox", "ScheduleDeliveryDLQ")],
)
def test_each_inbox_hands_what_the_recorder_cannot_take_to_its_operator_queue(inbox: str, operator_queue: str) -> None:
    mappings = [
        m["Properties"]
        for m in RESOURCES.values()
        if m["Type"] == "AWS::Lambda::EventSourceMapping"
        and m["Properties"]["EventSourceArn"] == {"Fn::GetAtt": [inbox, "Arn"]}
    ]

    assert props(inbox)["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [operator_queue, "Arn"]},
        "maxReceiveCount": 5,
    }
    # At least six times the recorder's timeout, as AWS advises for a queue an event source mapping reads.
    assert props(inbox)["VisibilityTimeout"] >= 6 * props("RecorderFunction")["Timeout"]
    [mapping] = mappings
    assert mapping["FunctionName"] == {"Ref": "RecorderFunction"}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
