"""template.yaml after the SAM transform: the resources and roles AWS really creates.

SAM generates each function's execution role, the callback's version and `live` alias, the API's
stage and its invoke permissions; none of them is written in template.yaml, so the tests that read
it (test_template_security_*.py) cannot see them. These read the translated CloudFormation
(tests/infra/cloudformation.py), under both values of EnableSnapStart where it matters.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from localcloud.template import ROOT, load_template
from tests.infra.cloudformation import as_list, deployed, statements, translated

TEMPLATE = translated()
RESOURCES: dict[str, dict[str, Any]] = TEMPLATE["Resources"]
SNAPSTART = pytest.mark.parametrize("snapstart", ["true", "false"])

#: What SAM attaches to every function role it generates (logs, X-Ray segments): AWS managed policies.
SAM_BASICS = [
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
]


def of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {lid: res for lid, res in template["Resources"].items() if res["Type"] == resource_type}


def role_policies(role: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    return {p["PolicyName"]: p["PolicyDocument"]["Statement"] for p in role["Properties"].get("Policies", [])}


# --- The generated function roles --------------------------------------------------------------


def test_each_function_runs_as_its_own_generated_role_that_only_lambda_may_assume() -> None:
    functions = of_type(TEMPLATE, "AWS::Lambda::Function")

    assert set(functions) == {"CallbackFunction", "SchedulerFunction", "RecorderFunction"}
    for logical_id, function in functions.items():
        role = f"{logical_id}Role"
        assert function["Properties"]["Role"] == {"Fn::GetAtt": [role, "Arn"]}
        assert RESOURCES[role]["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
            {"Action": ["sts:AssumeRole"], "Effect": "Allow", "Principal": {"Service": ["lambda.amazonaws.com"]}}
        ]


def test_generated_function_roles_add_only_logging_and_tracing_managed_policies() -> None:
    for role in ("CallbackFunctionRole", "SchedulerFunctionRole", "RecorderFunctionRole"):
        assert RESOURCES[role]["Properties"]["ManagedPolicyArns"] == SAM_BASICS, role


def test_callback_role_may_touch_idempotency_records_record_runs_send_to_two_queues_and_read_the_signing_key() -> None:
    failure_queue = {"Fn::GetAtt": ["CallbackFailureInbox", "Arn"]}

    assert role_policies(RESOURCES["CallbackFunctionRole"]) == {
        # SAM's own grant for the EventInvokeConfig's on-failure destination.
        "CallbackFunctionEventInvokeConfigOnFailureSQSPolicy": [
            {"Action": "sqs:SendMessage", "Effect": "Allow", "Resource": failure_queue}
        ],
        "CallbackFunctionRolePolicy0": [
            {
                "Sid": "IdempotencyRecords",
                "Effect": "Allow",
                "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
                "Resource": {"Fn::GetAtt": ["IdempotencyTable", "Arn"]},
            },
            {
                "Sid": "RecordRuns",
                "Effect": "Allow",
                "Action": ["dynamodb:ConditionCheckItem", "dynamodb:UpdateItem"],
                "Resource": {"Fn::GetAtt": ["TaskLedgerTable", "Arn"]},
            },
            {
                "Sid": "KeepRequestPointers",
                "Effect": "Allow",
                "Action": "dynamodb:PutItem",
                "Resource": {"Fn::GetAtt": ["TaskLedgerTable", "Arn"]},
                "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["REQUEST#*"]}},
            },
            {"Sid": "OnFailureDestination", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": failure_queue},
            {
                "Sid": "KeepRejectedTasks",
                "Effect": "Allow",
                "Action": "sqs:SendMessage",
                "Resource": {"Fn::GetAtt": ["RejectedTaskQueue", "Arn"]},
            },
            {
                "Sid": "HttpSigningKey",
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": {"Ref": "HttpSigningSecret"},
            },
        ],
    }


def test_scheduler_function_role_holds_exactly_the_statements_template_yaml_writes_out() -> None:
    (written,) = load_template()["Resources"]["SchedulerFunction"]["Properties"]["Policies"]

    assert role_policies(RESOURCES["SchedulerFunctionRole"]) == {"SchedulerFunctionRolePolicy0": written["Statement"]}


def test_no_role_or_policy_in_the_stack_grants_a_wildcard_action() -> None:
    found = list(statements(TEMPLATE["Resources"]))
    assert len(found) >= 12  # the walk reached the generated roles too

    for statement in found:
        for action in as_list(statement.get("Action", [])):
            assert "*" not in action or statement["Effect"] == "Deny", statement


def test_no_statement_in_the_stack_grants_on_every_resource() -> None:
    unscoped = [
        s for s in statements(TEMPLATE["Resources"]) if s["Effect"] == "Allow" and "*" in as_list(s.get("Resource"))
    ]

    assert unscoped == []


# --- Who may invoke what -----------------------------------------------------------------------


@SNAPSTART
def test_invoke_role_may_invoke_only_the_schedules_target(snapstart: str) -> None:
    stack = deployed(TEMPLATE, EnableSnapStart=snapstart)
    target = stack["Resources"]["SchedulerFunction"]["Properties"]["Environment"]["Variables"]["CALLBACK_FUNCTION_ARN"]
    invoke_grants = [
        s
        for s in statements(stack["Resources"]["SchedulerInvokeRole"])
        if "lambda:InvokeFunction" in as_list(s["Action"])
    ]

    # With SnapStart the `live` alias (SnapStart applies to published versions only), else the function.
    assert target == (
        {"Ref": "CallbackFunctionAliaslive"} if snapstart == "true" else {"Fn::GetAtt": ["CallbackFunction", "Arn"]}
    )
    assert [(s["Effect"], s["Resource"]) for s in invoke_grants] == [("Allow", target)]


def test_only_api_gateway_may_invoke_the_scheduler_function_and_only_through_this_api() -> None:
    permissions = of_type(TEMPLATE, "AWS::Lambda::Permission")

    assert set(permissions) == {"SchedulerFunctionRootPermissionv1", "SchedulerFunctionProxyPermissionv1"}
    for permission in permissions.values():
        props = permission["Properties"]
        assert props["FunctionName"] == {"Ref": "SchedulerFunction"}
        assert (props["Action"], props["Principal"]) == ("lambda:InvokeFunction", "apigateway.amazonaws.com")
        arn, variables = props["SourceArn"]["Fn::Sub"]
        assert arn.startswith("arn:aws:execute-api:${AWS::Region}:${AWS::AccountId}:${__ApiId__}/")
        assert variables["__ApiId__"] == {"Ref": "SchedulerApi"}


@SNAPSTART
def test_the_callbacks_failures_go_to_the_recorders_inbox_whichever_target_the_schedules_invoke(snapstart: str) -> None:
    stack = deployed(TEMPLATE, EnableSnapStart=snapstart)
    target = stack["Resources"]["SchedulerFunction"]["Properties"]["Environment"]["Variables"]["CALLBACK_FUNCTION_ARN"]
    qualifier = "live" if target == {"Ref": "CallbackFunctionAliaslive"} else "$LATEST"
    assert target in ({"Ref": "CallbackFunctionAliaslive"}, {"Fn::GetAtt": ["CallbackFunction", "Arn"]})

    configs = [
        c["Properties"]
        for c in of_type(stack, "AWS::Lambda::EventInvokeConfig").values()
        if c["Properties"]["Qualifier"] == qualifier
    ]
    (config,) = configs
    assert config["FunctionName"] == {"Ref": "CallbackFunction"}
    assert (config["MaximumRetryAttempts"], config["MaximumEventAgeInSeconds"]) == (2, 21600)
    assert config["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["CallbackFailureInbox", "Arn"]}


# --- What scripts/template-checks.sh skips on the translated template ---------------------------


def translated_checkov_skips() -> dict[str, str]:
    """Check id -> the comment above it, from TRANSLATED_CHECKOV_SKIPS in scripts/template-checks.sh."""
    script = (ROOT / "scripts" / "template-checks.sh").read_text(encoding="utf-8")
    block = re.search(r"^TRANSLATED_CHECKOV_SKIPS=\(\n(.*?)^\)", script, re.MULTILINE | re.DOTALL)
    assert block, "scripts/template-checks.sh defines TRANSLATED_CHECKOV_SKIPS"
    skips: dict[str, str] = {}
    comment: list[str] = []
    for line in (raw.strip() for raw in block.group(1).splitlines()):
        if line.startswith("#"):
            comment.append(line.lstrip("# "))
        elif line:
            skips[line], comment = " ".join(comment), []
    return skips


def checkov_skips_in_template_yaml(check_id: str) -> set[str]:
    return {
        logical_id
        for logical_id, resource in load_template()["Resources"].items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
        if skip["id"] == check_id
    }


def test_every_check_skipped_on_the_translated_template_says_why() -> None:
    skips = translated_checkov_skips()

    assert skips
    for check_id, reason in skips.items():
        assert re.fullmatch(r"CKV2?_AWS_\d+", check_id), check_id
        assert check_id in reason, f"the comment above {check_id} names another check: {reason!r}"
        assert len(reason) > 80, f"{check_id} is skipped without a reason: {reason!r}"


def test_a_translated_skip_only_extends_a_skip_template_yaml_makes_on_the_generating_resource() -> None:
    for check_id in translated_checkov_skips():
        assert checkov_skips_in_template_yaml(check_id), f"no resource in template.yaml skips {check_id}"


def test_api_caching_is_skipped_only_for_stages_of_apis_that_template_yaml_exempts() -> None:
    # checkov's --skip-check is global: every stage it would spare must belong to an exempt API.
    exempt_apis = checkov_skips_in_template_yaml("CKV_AWS_120")
    stages = of_type(TEMPLATE, "AWS::ApiGateway::Stage")

    assert set(translated_checkov_skips()) == {"CKV_AWS_120"}
    assert exempt_apis == {"SchedulerApi"}
    assert stages
    for logical_id, stage in stages.items():
        assert stage["Properties"]["RestApiId"] == {"Ref": "SchedulerApi"}, logical_id
        assert "CacheClusterEnabled" not in stage["Properties"], logical_id
