"""events/env-local.json: what `sam local invoke/start-api --env-vars` gives the functions in Docker.

It must name the resources the local cloud creates from template.yaml, and set only variables the
template declares: `sam local` silently drops any other.
"""

from __future__ import annotations

import json
from typing import Any

from localcloud.template import ROOT, Resolver, load_template, resources_of_type

TEMPLATE = load_template()
ENV_LOCAL: dict[str, dict[str, str]] = json.loads((ROOT / "events" / "env-local.json").read_text(encoding="utf-8"))


def declared_variables(logical_id: str) -> set[str]:
    function: dict[str, Any] = TEMPLATE["Resources"][logical_id]["Properties"]
    own = function.get("Environment", {}).get("Variables", {})
    shared = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    return set(own) | set(shared)


def test_env_local_sets_only_variables_the_template_declares() -> None:
    functions = resources_of_type(TEMPLATE, "AWS::Serverless::Function")

    assert set(ENV_LOCAL) <= {"Parameters", *functions}
    for logical_id in functions:
        assert set(ENV_LOCAL.get(logical_id, {})) <= declared_variables(logical_id), logical_id
        assert set(ENV_LOCAL["Parameters"]) <= declared_variables(logical_id)


def test_env_local_gives_each_function_every_setting_it_needs() -> None:
    for logical_id in ("CallbackFunction", "SchedulerFunction", "RecorderFunction"):
        own = set(TEMPLATE["Resources"][logical_id]["Properties"]["Environment"]["Variables"])
        assert own <= set(ENV_LOCAL[logical_id]), logical_id


def test_env_local_names_the_resources_the_local_cloud_creates() -> None:
    local = Resolver(TEMPLATE)

    assert ENV_LOCAL["CallbackFunction"]["IDEMPOTENCY_TABLE_NAME"] == local.physical_name("IdempotencyTable")
    assert ENV_LOCAL["SchedulerFunction"] == {
        "SCHEDULE_GROUP_NAME": local.physical_name("ScheduleGroup"),
        "CALLBACK_FUNCTION_ARN": local.arn("CallbackFunction"),
        "SCHEDULER_ROLE_ARN": local.arn("SchedulerInvokeRole"),
        "SCHEDULER_DLQ_ARN": local.arn("ScheduleDeliveryInbox"),
        "TASK_LEDGER_TABLE": local.physical_name("TaskLedgerTable"),
        "TASK_RETENTION_SECONDS": str(TEMPLATE["Parameters"]["TaskRetentionSeconds"]["Default"]),
        "TASK_ISOLATION": TEMPLATE["Parameters"]["Isolation"]["Default"],
        "ASSUMED_ROLE_OWNER": TEMPLATE["Parameters"]["AssumedRoleOwner"]["Default"],
        "ADMIN_PRINCIPALS": TEMPLATE["Parameters"]["AdminPrincipals"]["Default"],
        "MIN_SCHEDULE_INTERVAL_SECONDS": str(TEMPLATE["Parameters"]["MinimumScheduleIntervalSeconds"]["Default"]),
        "MAX_ACTIVE_SCHEDULES_PER_OWNER": str(TEMPLATE["Parameters"]["MaxActiveSchedulesPerOwner"]["Default"]),
        # A secret is found by its name as well as its ARN (whose random suffix only the endpoint knows).
        "CURSOR_SECRET_ID": local.physical_name("CursorKeySecret"),
        # The http_request action is off, as the parameter's default leaves it (docs/http-actions.md).
        "HTTP_ACTION_ALLOWED_HOSTS": TEMPLATE["Parameters"]["HttpActionAllowedHosts"]["Default"],
    }
    assert ENV_LOCAL["CallbackFunction"]["HTTP_ACTION_SIGNING_SECRET_ID"] == local.physical_name("HttpSigningSecret")
    assert ENV_LOCAL["CallbackFunction"]["TASK_LEDGER_TABLE"] == local.physical_name("TaskLedgerTable")
    endpoint = ENV_LOCAL["Parameters"]["AWS_ENDPOINT_URL"]
    queue = f"{endpoint}/{local.account}/{local.physical_name('RejectedTaskQueue')}"
    assert ENV_LOCAL["CallbackFunction"]["REJECTED_TASK_QUEUE_URL"] == queue
    ttl = TEMPLATE["Parameters"]["IdempotencyRecordTtlSeconds"]["Default"]
    assert ENV_LOCAL["CallbackFunction"]["IDEMPOTENCY_EXPIRES_AFTER_SECONDS"] == str(ttl)


def test_env_local_points_the_containers_at_the_host_not_at_aws() -> None:
    # Inside a container, 127.0.0.1 is the container itself; the moto server runs on the host.
    assert ENV_LOCAL["Parameters"]["AWS_ENDPOINT_URL"] == "http://host.docker.internal:5000"
    # On AWS the declared value is empty, which boto3 ignores.
    assert TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]["AWS_ENDPOINT_URL"] == ""


def test_the_callback_knows_how_many_invocations_lambda_makes_of_an_event() -> None:
    # A run is final (failed) after its last invocation: 1 + the asynchronous retries the template configures.
    callback = TEMPLATE["Resources"]["CallbackFunction"]["Properties"]
    retries = callback["EventInvokeConfig"]["MaximumRetryAttempts"]
    latest = TEMPLATE["Resources"]["CallbackLatestInvokeConfig"]["Properties"]["MaximumRetryAttempts"]

    assert int(callback["Environment"]["Variables"]["CALLBACK_MAX_INVOCATIONS"]) == 1 + retries == 1 + latest
    assert ENV_LOCAL["CallbackFunction"]["CALLBACK_MAX_INVOCATIONS"] == str(1 + retries)
