"""The http_request action's URL is checked when the task is scheduled: a 422 saying why, and nothing created."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from taskcore.outbound.settings import get_outbound_settings


@pytest.fixture
def allowed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The scheduler's HTTP_ACTION_ALLOWED_HOSTS, as template.yaml sets it from HttpActionAllowedHosts."""
    monkeypatch.setenv("HTTP_ACTION_ALLOWED_HOSTS", "api.example.com,*.hooks.example.net,203.0.113.0/24")
    get_outbound_settings.cache_clear()
    yield
    get_outbound_settings.cache_clear()


def schedule(api: Any, data: dict[str, Any]) -> Any:
    body = {"task_id": "hook-1", "user_id": 1, "action": "http_request", "data": data, "delay_seconds": 120}
    return api.post("/api/v1/schedules", json=body)


@pytest.mark.usefixtures("allowed")
@pytest.mark.parametrize(
    "url", ["https://api.example.com/hooks/reminder", "https://eu.hooks.example.net/x", "https://203.0.113.9:8443/"]
)
def test_a_url_on_the_allowlist_is_scheduled(api: Any, schedules: Any, url: str) -> None:
    response = schedule(api, {"url": url, "body": {"payment_id": 42}})

    assert response.status_code == 201, response.text
    assert schedules() == ["hook-1"]


@pytest.mark.usefixtures("allowed")
@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"url": "https://evil.example.org/"}, "host evil.example.org is not on the stack's allowlist"),
        ({"url": "https://hooks.example.net/"}, "host hooks.example.net is not on the stack's allowlist"),
        ({"url": "https://api.example.com.evil.org/"}, "is not on the stack's allowlist"),
        ({"url": "https://169.254.169.254/latest/meta-data/"}, "host 169.254.169.254 is not on the stack's allowlist"),
        ({"url": "http://api.example.com/"}, "must be https://"),
        ({"url": "ftp://api.example.com/"}, "must be an absolute https:// URL"),
        ({"url": "https://user:pw@api.example.com/"}, "must not carry credentials"),
        ({"url": "https://api.example.com:99999/"}, "port is not a number"),
        ({"url": "https://api.example.com/", "method": "GET", "body": {"a": 1}}, "a GET request has no body"),
        ({"url": "https://api.example.com/", "headers": {"Authorization": "Bearer x"}}, "header 'Authorization'"),
        ({"url": "https://api.example.com/", "headers": {"X-Task-Id": "forged"}}, "header 'X-Task-Id'"),
        ({"url": "https://api.example.com/", "headers": {"X-Note": "a\r\nb"}}, "printable ASCII"),
        ({"url": "https://api.example.com/", "method": "TRACE"}, "method"),
    ],
)
def test_a_url_the_action_may_not_call_is_a_422_and_nothing_is_created(
    api: Any, schedules: Any, data: dict[str, Any], expected: str
) -> None:
    response = schedule(api, data)

    assert response.status_code == 422, response.text
    assert expected in response.json()["detail"]
    assert schedules() == []


def test_with_an_empty_allowlist_the_action_is_off(api: Any, schedules: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HTTP_ACTION_ALLOWED_HOSTS", raising=False)
    get_outbound_settings.cache_clear()

    response = schedule(api, {"url": "https://api.example.com/"})

    assert response.status_code == 422
    assert "the http_request action is off: no host is allowed" in response.json()["detail"]
    assert schedules() == []


@pytest.mark.usefixtures("allowed")
def test_the_422_names_the_host_and_the_setting_as_docs_http_actions_md_prints_it(api: Any, schedules: Any) -> None:
    response = schedule(api, {"url": "https://evil.example.org/"})

    assert response.json()["detail"] == (
        "data: invalid data for action 'http_request': url: host evil.example.org is not on the stack's allowlist "
        "(HttpActionAllowedHosts)"
    )
