"""Who may call the API, what the stack changes in the account, and the one secret it keeps.

- `AllowedCallers` (empty by default: today's behaviour) limits the callers with the API's resource policy;
- `SetApiGatewayLoggingRole` (off by default) is the only way the stack touches the account-wide API Gateway
  logging role;
- `CursorKeySecret` holds the key of the listing cursors, readable by the scheduler function only;
- docs/security.md says exactly what the AWS managed policies in the translation grant, on `*`.

Read from template.yaml as written and from its SAM translation, with the parameters that matter.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from localcloud.template import ROOT, load_template
from tests.infra.cloudformation import as_list, deployed, statements, translated

TEMPLATE = load_template()
RESOURCES: dict[str, dict[str, Any]] = TEMPLATE["Resources"]
CALLERS = "arn:aws:iam::123456789012:role/orders-*,444455556666"
LISTED = {"Fn::Split": [",", CALLERS]}
THIS_ACCOUNT = {"Ref": "AWS::AccountId"}

#: What each AWS managed policy in the translated template grants (the AWS Managed Policy Reference,
#: current default versions), every one of them on Resource "*".
MANAGED_POLICIES = {
    "AWSLambdaBasicExecutionRole": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
    "AWSXrayWriteOnlyAccess": [
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
        "xray:GetSamplingStatisticSummaries",
    ],
    "AmazonAPIGatewayPushToCloudWatchLogs": [
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:DescribeLogGroups",
        "logs:DescribeLogStreams",
        "logs:PutLogEvents",
        "logs:GetLogEvents",
        "logs:FilterLogEvents",
    ],
}


def api_policy(**parameters: str) -> list[dict[str, Any]]:
    """The statements of the API's resource policy as deployed with `parameters`."""
    stack = deployed(translated(**parameters), **parameters)
    (api,) = [r for r in stack["Resources"].values() if r["Type"] == "AWS::ApiGateway::RestApi"]
    found: list[dict[str, Any]] = api["Properties"]["Body"]["x-amazon-apigateway-policy"]["Statement"]
    return found


# --- Who may call the API ------------------------------------------------------------------------


def test_without_allowed_callers_the_policy_only_repeats_that_no_other_account_may_call() -> None:
    # Without a resource policy API Gateway already refuses other accounts' callers (IAM authorization
    # needs an Allow on both sides); this account's callers need only their own IAM Allow, as before.
    assert TEMPLATE["Parameters"]["AllowedCallers"]["Default"] == ""
    assert api_policy() == [
        {
            "Sid": "DenyOtherAccounts",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "execute-api:Invoke",
            "Resource": "execute-api:/*",
            "Condition": {"StringNotEquals": {"aws:PrincipalAccount": THIS_ACCOUNT}},
        }
    ]


def test_allowed_callers_deny_everyone_else_whatever_their_iam_policy_allows() -> None:
    policy = {s["Sid"]: s for s in api_policy(AllowedCallers=CALLERS)}

    assert set(policy) == {"DenyUnlistedCallers", "AllowListedPrincipalsOfOtherAccounts", "AllowListedAccounts"}
    # Denied unless the caller's principal matches a listed ARN pattern or its account is listed (both
    # conditions must hold for the Deny: an explicit Deny outranks any Allow).
    assert policy["DenyUnlistedCallers"] == {
        "Sid": "DenyUnlistedCallers",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "execute-api:Invoke",
        "Resource": "execute-api:/*",
        "Condition": {
            "StringNotLike": {"aws:PrincipalArn": LISTED},
            "StringNotEquals": {"aws:PrincipalAccount": LISTED},
        },
    }


def test_listed_callers_of_other_accounts_are_let_in_and_this_accounts_still_need_their_iam_allow() -> None:
    policy = {s["Sid"]: s for s in api_policy(AllowedCallers=CALLERS)}

    for sid, key, operator in (
        ("AllowListedPrincipalsOfOtherAccounts", "aws:PrincipalArn", "StringLike"),
        ("AllowListedAccounts", "aws:PrincipalAccount", "StringEquals"),
    ):
        statement = policy[sid]
        assert (statement["Effect"], statement["Principal"], statement["Action"]) == (
            "Allow",
            "*",
            "execute-api:Invoke",
        )
        assert statement["Condition"] == {
            operator: {key: LISTED},
            # Never this account: its callers keep needing their own IAM permission.
            "StringNotEquals": {"aws:PrincipalAccount": THIS_ACCOUNT},
        }


def test_a_changed_list_is_a_new_deployment_of_the_stage() -> None:
    # The transform writes the list into the API's definition, whose hash names the deployment: a stack
    # update that only changes AllowedCallers still redeploys the stage, so the new policy applies.
    def deployments(**parameters: str) -> set[str]:
        return {
            lid
            for lid, r in translated(**parameters)["Resources"].items()
            if r["Type"] == "AWS::ApiGateway::Deployment"
        }

    assert deployments() != deployments(AllowedCallers=CALLERS)


def test_allowed_callers_are_written_without_spaces() -> None:
    pattern = TEMPLATE["Parameters"]["AllowedCallers"]["AllowedPattern"]

    assert re.fullmatch(pattern, CALLERS)
    assert not re.fullmatch(pattern, "arn:aws:iam::123456789012:role/a, 444455556666")


# --- The account-wide API Gateway logging role ---------------------------------------------------


@pytest.mark.parametrize("sets_role", ["true", "false"])
def test_the_account_wide_logging_role_is_set_only_when_asked(sets_role: str) -> None:
    stack = deployed(translated(), SetApiGatewayLoggingRole=sets_role)
    kinds = {r["Type"] for r in stack["Resources"].values()}
    waits_for = stack["Resources"]["ApiGatewayLoggingRoleReady"]["Metadata"]["LoggingRole"]

    assert TEMPLATE["Parameters"]["SetApiGatewayLoggingRole"]["Default"] == "false"
    assert ("AWS::ApiGateway::Account" in kinds) is (sets_role == "true")
    assert ("ApiGatewayCloudWatchRole" in stack["Resources"]) is (sets_role == "true")
    assert waits_for == ({"Ref": "ApiGatewayAccount"} if sets_role == "true" else "set outside this stack")


def test_the_api_waits_for_the_logging_role_when_the_stack_sets_it() -> None:
    (api,) = [r for r in translated()["Resources"].values() if r["Type"] == "AWS::ApiGateway::RestApi"]

    assert as_list(api["DependsOn"]) == ["ApiGatewayLoggingRoleReady"]
    for logical_id in ("ApiGatewayAccount", "ApiGatewayCloudWatchRole"):
        assert RESOURCES[logical_id]["Condition"] == "SetsApiGatewayLoggingRole"
        assert RESOURCES[logical_id]["DeletionPolicy"] == "Retain"  # other APIs of the account may log through it


# --- The listing cursors' key --------------------------------------------------------------------


def test_the_cursor_key_is_generated_at_deploy_time_and_named_by_cloudformation() -> None:
    secret = RESOURCES["CursorKeySecret"]

    assert secret["Type"] == "AWS::SecretsManager::Secret"
    assert secret["Properties"]["GenerateSecretString"] == {"PasswordLength": 64, "ExcludePunctuation": True}
    assert "SecretString" not in secret["Properties"]
    assert "Name" not in secret["Properties"]  # a deleted stack's secret (recovery window) never blocks a new one


def test_each_secret_is_read_by_its_one_function_and_nothing_else_of_secrets_manager_is_granted() -> None:
    readers = [
        s for s in statements(RESOURCES) if any(str(a).startswith("secretsmanager:") for a in as_list(s["Action"]))
    ]
    scheduler = RESOURCES["SchedulerFunction"]["Properties"]
    callback = RESOURCES["CallbackFunction"]["Properties"]
    (scheduler_policy,) = scheduler["Policies"]
    (callback_policy,) = callback["Policies"]

    assert readers == [
        {
            "Sid": "HttpSigningKey",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": {"Ref": "HttpSigningSecret"},
        },
        {
            "Sid": "CursorKey",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": {"Ref": "CursorKeySecret"},
        },
    ]
    # The cursor key for the scheduler only; the signing key for the callback only (the scheduler never signs).
    assert readers[1] in scheduler_policy["Statement"]
    assert readers[0] not in scheduler_policy["Statement"]
    assert readers[0] in callback_policy["Statement"]
    assert scheduler["Environment"]["Variables"]["CURSOR_SECRET_ID"] == {"Ref": "CursorKeySecret"}
    assert callback["Environment"]["Variables"]["HTTP_ACTION_SIGNING_SECRET_ID"] == {"Ref": "HttpSigningSecret"}
    assert "HTTP_ACTION_SIGNING_SECRET_ID" not in scheduler["Environment"]["Variables"]


def test_both_functions_read_the_http_actions_allowlist_from_its_parameter_empty_by_default() -> None:
    parameter = TEMPLATE["Parameters"]["HttpActionAllowedHosts"]

    assert parameter["Default"] == ""
    for function in ("SchedulerFunction", "CallbackFunction"):
        variables = RESOURCES[function]["Properties"]["Environment"]["Variables"]
        assert variables["HTTP_ACTION_ALLOWED_HOSTS"] == {"Ref": "HttpActionAllowedHosts"}, function
        assert "HTTP_ACTION_ALLOW_HTTP_LOOPBACK" not in variables, function  # https only on AWS


# --- What the AWS managed policies grant -----------------------------------------------------------


def test_the_translation_attaches_only_the_managed_policies_security_md_describes() -> None:
    attached = {
        arn["Fn::Sub"].rsplit("/", 1)[-1] if isinstance(arn, dict) else arn.rsplit("/", 1)[-1]
        for r in translated()["Resources"].values()
        for arn in r.get("Properties", {}).get("ManagedPolicyArns", [])
    }

    assert attached == set(MANAGED_POLICIES)


def test_security_md_says_exactly_what_each_managed_policy_grants_on_every_resource() -> None:
    text = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    section = text.split("\n## What the AWS managed policies grant\n", 1)[1].split("\n## ", 1)[0]
    rows = {
        m["policy"]: sorted(re.findall(r"`([a-z]+:\w+)`", m["actions"]))
        for m in re.finditer(r"^\| `(?P<policy>\w+)` \| [^|]+ \| (?P<actions>[^|]+) \| `\*` \|", section, re.MULTILINE)
    }

    assert rows == {name: sorted(actions) for name, actions in MANAGED_POLICIES.items()}
    assert "no statement grants on `*`" not in text.replace("\n", " ")
