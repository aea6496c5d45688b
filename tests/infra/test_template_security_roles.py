"""template.yaml as a security specification: what Scheduler's role, the scheduler function and the callback may do.

These read the template as written (SAM, before the transform); test_translated_template.py reads
what the transform makes of it. scripts/template-checks.sh runs the linters and checkov on both;
these tests pin the decisions those tools cannot know.
"""

from __future__ import annotations

from typing import Any

import pytest

from localcloud.template import resources_of_type
from tests.infra.cloudformation import deployed
from tests.infra.template_reading import (
    FUNCTIONS,
    RESOURCES,
    TEMPLATE,
    as_list,
    function_statements,
    policy_statements,
    props,
    statement_granting,
)

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
        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": {"Fn::GetAtt": ["ScheduleDeliveryInbox", "Arn"]}},
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


def test_callback_failures_are_retried_twice_then_sent_to_the_recorders_inbox() -> None:
    expected = {
        "MaximumRetryAttempts": 2,
        "MaximumEventAgeInSeconds": 21600,
        "DestinationConfig": {
            "OnFailure": {"Type": "SQS", "Destination": {"Fn::GetAtt": ["CallbackFailureInbox", "Arn"]}}
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
        "Fn::GetAtt": ["CallbackFailureInbox", "Arn"]
    }


def test_callback_role_may_send_to_the_recorders_inbox_and_its_rejected_task_queue_only() -> None:
    granted = [
        s["Resource"] for s in function_statements("CallbackFunction") if "sqs:SendMessage" in as_list(s["Action"])
    ]

    assert sorted(granted, key=str) == sorted(
        [{"Fn::GetAtt": ["CallbackFailureInbox", "Arn"]}, {"Fn::GetAtt": ["RejectedTaskQueue", "Arn"]}], key=str
    )


def test_callback_keeps_rejected_tasks_in_the_queue_the_template_creates() -> None:
    variables = props("CallbackFunction")["Environment"]["Variables"]

    assert variables["REJECTED_TASK_QUEUE_URL"] == {"Ref": "RejectedTaskQueue"}
    # Room for the largest event the callback accepts (1,000,000 bytes) and its record around it.
    assert props("RejectedTaskQueue")["MaximumMessageSize"] == 1_048_576


def test_callback_touches_only_idempotency_records() -> None:
    statement = next(s for s in function_statements("CallbackFunction") if s.get("Sid") == "IdempotencyRecords")

    assert sorted(as_list(statement["Action"])) == [
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
    ]
    assert statement["Resource"] == {"Fn::GetAtt": ["IdempotencyTable", "Arn"]}


def test_the_callback_puts_in_the_ledger_only_the_pointers_of_its_requests() -> None:
    puts = [s for s in function_statements("CallbackFunction") if "dynamodb:PutItem" in as_list(s["Action"])]
    pointer = next(s for s in puts if s["Resource"] == {"Fn::GetAtt": ["TaskLedgerTable", "Arn"]})

    assert as_list(pointer["Action"]) == ["dynamodb:PutItem"]
    assert pointer["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["REQUEST#*"]}}


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


# --- The recorder ---------------------------------------------------------------------------


GROUP_SCHEDULES = "arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:schedule/${ScheduleGroup}/*"


def test_the_recorder_reads_its_inboxes_records_in_the_ledger_and_forwards_to_the_operator_queues_only() -> None:
    granted: dict[str, list[str]] = {}
    for statement in function_statements("RecorderFunction"):
        for action in as_list(statement["Action"]):
            granted[action] = sorted([*granted.get(action, []), *map(str, as_list(statement["Resource"]))])
    inboxes = sorted(str({"Fn::GetAtt": [q, "Arn"]}) for q in ("CallbackFailureInbox", "ScheduleDeliveryInbox"))
    operator = sorted(str({"Fn::GetAtt": [q, "Arn"]}) for q in ("CallbackFailureQueue", "ScheduleDeliveryDLQ"))
    table = [str({"Fn::GetAtt": ["TaskLedgerTable", "Arn"]})]

    assert granted == {
        # The ledger's items, and (read only) the callback's idempotency records: a run reported failed had succeeded.
        "dynamodb:GetItem": sorted([*table, str({"Fn::GetAtt": ["IdempotencyTable", "Arn"]})]),
        "dynamodb:Query": sorted([*table, str({"Fn::Sub": "${TaskLedgerTable.Arn}/index/LiveByDue"})]),
        "dynamodb:UpdateItem": table,
        "scheduler:GetSchedule": [str({"Fn::Sub": GROUP_SCHEDULES})],
        "sqs:ReceiveMessage": inboxes,
        "sqs:DeleteMessage": inboxes,
        "sqs:GetQueueAttributes": inboxes,
        "sqs:ChangeMessageVisibility": inboxes,
        "sqs:SendMessage": operator,
    }


def test_the_sweep_runs_every_minute_as_a_role_that_may_invoke_only_the_recorder() -> None:
    schedule = props("RecorderSweepSchedule")
    role = props("SweepInvokeRole")
    (policy,) = role["Policies"]

    assert schedule["ScheduleExpression"] == "rate(1 minute)"
    assert schedule["Target"]["Arn"] == {"Fn::GetAtt": ["RecorderFunction", "Arn"]}
    assert schedule["Target"]["Input"] == '{"sweep": "due"}'
    assert policy["PolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": {"Fn::GetAtt": ["RecorderFunction", "Arn"]}}
    ]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "scheduler.amazonaws.com"}
