"""The scheduler API fuzzed from its own OpenAPI document, through its Lambda entry point, with moto behind it.

Schemathesis generates requests for every operation from `GET /openapi.json` (the schema's examples, then
valid and invalid data). Each request becomes the REST v1 proxy event API Gateway would send
(`localcloud.apiserver.proxy_event`, the local API's translation) and goes to `scheduler_app.handler.lambda_handler`;
the proxy response is checked by schemathesis (no 5xx, status code, content type, headers and body as the
schema declares, invalid data rejected) and against moto: a rejected request (4xx) leaves every schedule
as it was, and a batch creates exactly the items it reports as created.

`FUZZ_EXAMPLES` sets the examples per operation (small in `make test`, large in `make fuzz`); `FUZZ_SEED` the seed.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from scheduler_app.deps import get_service
from scheduler_app.examples import CREATE_EXAMPLES
from scheduler_app.handler import lambda_handler
from scheduler_app.main import app
from scheduler_app.models import parse_schedule_request
from tests.reliability.helpers import API_HOST, call_lambda, response_body, response_headers, schedule_state, timed

#: FastAPI's answer to a body it cannot parse as JSON (not UTF-8, nested too deep, a 5,000-digit number).
FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
#: A fixed seed makes a run's figures reproducible; `make fuzz FUZZ_SEED=$RANDOM` explores new inputs.
FUZZ_SEED = int(os.environ.get("FUZZ_SEED", "7"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]

CONFIG = schemathesis.Config.from_dict(
    {
        # The coverage phase enumerates every boundary of every field whatever max-examples says; the fuzzing
        # phase's negative mode covers the same ground, bounded.
        "phases": {"coverage": {"enabled": False}},
        "generation": {"max-examples": FUZZ_EXAMPLES, "database": "none"},
        "seed": FUZZ_SEED,
    }
)
schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=CONFIG)

#: Registered actions with data their models accept. The schema only says `action` is a string and `data` an
#: object, so without these nearly every generated create stops at "unknown action" and never reaches the
#: timing checks, the 1 MB limit or EventBridge Scheduler.
REAL_TASKS: list[tuple[str, dict[str, Any]]] = [
    ("send_notification", {"message": "fuzz"}),
    ("cleanup", {"resource_id": "r-1"}),
    ("process_payment", {"payment_id": "pay-1", "operation": "capture"}),
    ("generate_daily_report", {}),
]
#: Task ids the schema's examples create: positive cases sometimes aim at them, so read/change/cancel hit.
KNOWN_TASK_IDS = ["payment-reminder-42", "cleanup-tmp-7", "daily-report", "poll-payment-9", "task-123"]

offsets = st.sampled_from([UTC, timezone(timedelta(hours=9)), timezone(timedelta(hours=-5, minutes=-30))])
timings = st.one_of(
    st.builds(lambda n: {"delay_seconds": n}, st.integers(-5, 31_622_401)),
    st.builds(lambda n: {"delay_minutes": n}, st.integers(0, 527_041)),
    st.builds(
        lambda moment, tz: {"run_at": moment.replace(tzinfo=tz).isoformat()},
        st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),
        offsets,
    ),
    st.builds(
        lambda cron, zone: {"cron": cron, "timezone": zone},
        st.sampled_from(["cron(0 9 * * ? *)", "cron(30 8 ? * MON-FRI *)", "cron(0 0 L * ? *)", "cron(0 12 ? * 6#3 *)"]),
        st.sampled_from(["UTC", "Asia/Seoul", "America/New_York", "Europe/London", "Australia/Lord_Howe"]),
    ),
    st.builds(
        lambda n, unit: {"rate": f"rate({n} {unit})"},
        st.integers(0, 1000),
        st.sampled_from(["minutes", "hours", "days"]),
    ),
)


def realistic_create(task_id: str, task: tuple[str, dict[str, Any]], timing: dict[str, Any]) -> dict[str, Any]:
    """A create request with a registered action and one timing (which may still be in the past or out of range)."""
    return {"task_id": task_id, "user_id": 7, "action": task[0], "data": task[1], **timing}


creates = st.builds(
    realistic_create,
    st.one_of(st.sampled_from(KNOWN_TASK_IDS), st.from_regex(r"\A[0-9A-Za-z_.\-]{1,64}\Z")),
    st.sampled_from(REAL_TASKS),
    timings,
)


def _realistic_body(
    label: str, body: Any, create: dict[str, Any] | None, batch: list[dict[str, Any]] | None
) -> Any | None:
    """The body with real tasks where the operation takes them; None keeps the generated one (untouched)."""
    if create is not None:
        if label == "POST /api/v1/schedules":
            return create
        if label == "PATCH /api/v1/schedules/{task_id}" and isinstance(body, dict):
            return {k: v for k, v in create.items() if k not in ("task_id", "user_id", "action")}
        if label == "POST /api/v1/scheduler/schedule" and isinstance(body, dict):
            return {**body, "action": create["action"], "data": create["data"]}
    if batch is not None and label == "POST /api/v1/schedules/batch":
        return {"items": batch}
    return None


def _realistic(
    case: Any, create: dict[str, Any] | None, batch: list[dict[str, Any]] | None, task_id: str | None
) -> Any:
    body = _realistic_body(case.operation.label, case.body, create, batch)
    if body is not None:  # (a case marks what is assigned as changed, so only a new body is)
        case.body = body
    if task_id is not None and "task_id" in (case.path_parameters or {}):
        case.path_parameters = {**case.path_parameters, "task_id": task_id}
    return case


@schema.hook
def flatmap_case(context: Any, case: Any) -> Any:
    """Positive cases only (a negative case must stay invalid): sometimes real tasks, sometimes a known task id."""
    if case.meta is None or case.meta.generation.mode is not GenerationMode.POSITIVE:
        return st.just(case)
    return st.builds(
        _realistic,
        st.just(case),
        st.none() | creates,
        st.none() | st.lists(creates, min_size=1, max_size=6),
        st.none() | st.sampled_from(KNOWN_TASK_IDS),
    )


def send(case: Any) -> schemathesis.Response:
    """The case as API Gateway's proxy event to the real entry point; the proxy response as schemathesis reads it."""
    prepared = requests.Request(**case.as_transport_kwargs(base_url="https://" + API_HOST)).prepare()
    body = prepared.body or b""
    raw = body.encode("utf-8") if isinstance(body, str) else bytes(body) if isinstance(body, bytes) else b""
    headers = {k: v for k, v in prepared.headers.items() if isinstance(v, str)}
    with timed() as took:
        response = call_lambda(lambda_handler, case.method, prepared.path_url, headers, raw)
    return schemathesis.Response(
        status_code=int(response["statusCode"]),
        headers=response_headers(response),
        content=response_body(response),
        request=prepared,
        elapsed=took.seconds,
        verify=False,
    )


@pytest.fixture
def cloud(scheduler_env: Any, scheduler: Any, group: str) -> Any:
    """moto with the template's resources and the schema examples' schedules; a way to look at the group."""
    service = get_service()
    for example in CREATE_EXAMPLES.values():
        service.create(parse_schedule_request(example["value"]))
    service.create(parse_schedule_request({**realistic_create("task-123", REAL_TASKS[0], {"delay_minutes": 30})}))
    return lambda: schedule_state(scheduler, group)


@schema.parametrize()
@settings(
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)
def test_fuzzed_requests_get_no_5xx_conform_to_the_schema_and_change_nothing_when_rejected(
    case: Any, cloud: Any, figures: Any
) -> None:
    before = cloud()

    response = send(case)

    label = case.operation.label
    figures.count("fuzz", "5xx", 0)  # listed even when nothing is counted
    figures.count("fuzz", "requests")
    figures.count("fuzz", f"{response.status_code // 100}xx")
    figures.count("fuzz-operations", label)
    if case.meta is not None:
        figures.count("fuzz", f"mode:{case.meta.generation.mode.value}")
    after = cloud()
    if 400 <= response.status_code < 500:
        figures.count("fuzz", "rejected")
        assert after == before, f"{label} answered {response.status_code} but changed the schedules"
        figures.count("fuzz", "rejected_and_nothing_changed")
    if response.status_code == 200 and label == "POST /api/v1/schedules/batch":
        created = {item["body"]["task_id"] for item in json.loads(response.content)["items"] if item["status"] == 201}
        assert set(after) - set(before) == created
        figures.count("fuzz", "batch_items_created", len(created))
    if response.status_code == 201:
        figures.count("fuzz", "schedules_created")

    case.validate_response(response, checks=CHECKS)
    figures.count("fuzz", "responses_validated")


def test_every_operation_in_the_schema_loads_so_every_one_is_fuzzed() -> None:
    results = list(schema.get_all_operations())
    operations = [result.ok().label for result in results if isinstance(result, Ok)]

    assert len(operations) == len(results) >= 11  # an operation schemathesis cannot read would be skipped
    assert "POST /api/v1/schedules/batch" in operations
    assert "DELETE /api/v1/scheduler/schedule/{schedule_arn}" in operations


@pytest.mark.parametrize(
    "raw",
    [b'{"task_id": "caf\xe9"}', b"[" * 10_000 + b"]" * 10_000, b'{"user_id": ' + b"9" * 5000 + b"}"],
    ids=["latin-1", "nested-10000", "5000-digits"],
)
def test_an_unreadable_body_is_a_documented_422(scheduler_env: Any, schedules: Any, raw: bytes) -> None:
    response = call_lambda(lambda_handler, "POST", "/api/v1/schedules", {"Content-Type": "application/json"}, raw)

    assert response["statusCode"] == 422
    assert schedules() == []
