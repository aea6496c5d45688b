"""Callback fixtures beyond the shared ones: the callback's log lines as JSON."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Callable[[], list[dict[str, Any]]]:
    """The JSON log lines so far, rendered by the callback's own Powertools formatter."""
    from callback_app.observability import logger

    def read() -> list[dict[str, Any]]:
        lines = [json.loads(logger.registered_formatter.format(record)) for record in caplog.records]
        caplog.clear()
        return lines

    return read


@pytest.fixture
def scheduler_api(callback: Any, aws: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., tuple[int, Any]]]:
    """The scheduler API's real Lambda entry point on the same moto (create, pause, cancel the callback's tasks)."""
    from scheduler_app.clients import get_dynamodb_client, get_scheduler_client, get_secrets_client
    from scheduler_app.keys import get_cursor_seal
    from scheduler_app.settings import get_settings
    from tests.scheduler.helpers import call_as

    monkeypatch.setenv("SCHEDULE_GROUP_NAME", aws.names["ScheduleGroup"])
    monkeypatch.setenv("CALLBACK_FUNCTION_ARN", aws.arns["CallbackFunction"])
    monkeypatch.setenv("SCHEDULER_ROLE_ARN", aws.arns["SchedulerInvokeRole"])
    monkeypatch.setenv("SCHEDULER_DLQ_ARN", aws.arns["ScheduleDeliveryDLQ"])
    monkeypatch.setenv("CURSOR_SECRET_ID", aws.arns["CursorKeySecret"])
    caches = (get_settings, get_scheduler_client, get_dynamodb_client, get_secrets_client, get_cursor_seal)
    for cached in caches:
        cached.cache_clear()
    yield call_as(None)
    for cached in caches:
        cached.cache_clear()
