"""The app around the engine: health, OpenAPI with examples, configuration, the cached client."""

from __future__ import annotations

from typing import Any

import pytest

from scheduler_app.clients import get_scheduler_client
from scheduler_app.main import app
from scheduler_app.settings import MAX_TARGET_INPUT_BYTES, SchedulerSettings, get_settings
from taskcore.registry import registry
from tests.scheduler.helpers import TestClient


def test_health_needs_no_configuration() -> None:
    get_settings.cache_clear()
    with TestClient(app) as client:
        response = client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "service": "scheduled-tasks-scheduler", "actions": registry.names()}


def test_missing_configuration_is_a_503_whose_log_names_what_is_missing(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    for var in ("SCHEDULE_GROUP_NAME", "CALLBACK_FUNCTION_ARN", "SCHEDULER_ROLE_ARN", "SCHEDULER_DLQ_ARN"):
        monkeypatch.delenv(var, raising=False)
    get_settings.cache_clear()
    try:
        with TestClient(app) as client:
            response = client.get("/api/v1/schedules/t-1")
    finally:
        get_settings.cache_clear()

    assert response.status_code == 503
    # The caller learns that it is the deployment, not the request; the log says exactly what.
    assert response.json() == {
        "detail": "the scheduler function is misconfigured; its log says what to fix",
        "code": "service_unavailable",
    }
    (logged,) = [r for r in caplog.records if r.getMessage() == "misconfigured"]
    assert "SCHEDULE_GROUP_NAME: Field required" in logged.reason  # type: ignore[attr-defined]
    assert "SCHEDULER_DLQ_ARN: Field required" in logged.reason  # type: ignore[attr-defined]


def test_openapi_documents_every_endpoint_with_examples(api: Any) -> None:
    spec = api.get("/openapi.json").json()

    paths = spec["paths"]
    assert set(paths) >= {
        "/health",
        "/api/v1/schedules",
        "/api/v1/schedules/batch",
        "/api/v1/schedules/{task_id}",
        "/api/v1/schedules/{task_id}/pause",
        "/api/v1/schedules/{task_id}/resume",
        "/api/v1/scheduler/schedule",
        "/api/v1/scheduler/schedule/{schedule_arn}",
    }
    create = paths["/api/v1/schedules"]["post"]
    assert set(create["requestBody"]["content"]["application/json"]["examples"]) == {
        "in-30-minutes",
        "at-a-time",
        "daily-in-seoul",
        "every-5-minutes",
    }
    assert {"200", "201", "409", "413", "422", "429", "502"} <= set(create["responses"])
    assert "examples" in spec["components"]["schemas"]["ScheduleTaskRequest"]
    assert "examples" in spec["components"]["schemas"]["ScheduleView"]
    assert set(paths["/api/v1/schedules/{task_id}"]) == {"get", "patch", "delete"}


def test_openapi_examples_are_valid_requests(api: Any, schedules: Any) -> None:
    examples = api.get("/openapi.json").json()["paths"]["/api/v1/schedules"]["post"]["requestBody"]["content"][
        "application/json"
    ]["examples"]

    statuses = {
        name: api.post("/api/v1/schedules", json=example["value"]).status_code for name, example in examples.items()
    }

    assert statuses == dict.fromkeys(examples, 201)


def test_settings_come_from_the_environment_with_defaults(scheduler_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCHEDULER_BATCH_CONCURRENCY", "8")
    get_settings.cache_clear()

    settings = get_settings()

    assert settings.schedule_group_name == scheduler_env.names["ScheduleGroup"]
    assert settings.callback_function_arn == scheduler_env.arns["CallbackFunction"]
    assert settings.batch_concurrency == 8
    assert settings.max_target_input_bytes == MAX_TARGET_INPUT_BYTES
    assert settings.default_max_retry_attempts == 185
    assert get_settings() is settings


def test_settings_refuse_a_bad_group_name(scheduler_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCHEDULE_GROUP_NAME", "bad group")

    with pytest.raises(ValueError, match="SCHEDULE_GROUP_NAME"):
        SchedulerSettings()


def test_the_client_is_created_once_with_bounded_retries_and_timeouts(scheduler_env: Any) -> None:
    client = get_scheduler_client()

    assert get_scheduler_client() is client
    config: Any = client.meta.config
    assert config.retries == {"mode": "standard", "total_max_attempts": 3}  # the first call and 2 retries
    assert config.connect_timeout == 2.0
    assert config.read_timeout == 5.0
    assert client.meta.region_name == "us-east-1"


def test_a_smaller_input_limit_can_be_configured(api: Any, monkeypatch: pytest.MonkeyPatch, schedules: Any) -> None:
    monkeypatch.setenv("MAX_TARGET_INPUT_BYTES", "262144")  # the old 256 KB asynchronous limit
    get_settings.cache_clear()
    body = {"task_id": "t-256k", "user_id": 1, "action": "generate_daily_report", "delay_minutes": 5}
    body["data"] = {"recipients": ["r" * 3_000] * 100}

    response = api.post("/api/v1/schedules", json=body)

    assert response.status_code == 413
    assert "takes at most 262144 bytes" in response.json()["detail"]
    assert schedules() == []
