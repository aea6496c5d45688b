"""The console's pages over HTTP, in this process: against the local cloud's real API (today's contract) and
against a stand-in for the ledger's API (the contract the console is written to: status, runs, last run)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from console import Console, SchedulerApi, create_app
from console.local import LocalConsole
from localcloud.clock import FakeClock
from localcloud.cloud import CloudOptions, LocalCloud
from tests.callback.helpers import ActionSpy
from tests.console.conftest import csrf_token

pytestmark = pytest.mark.integration


@pytest.fixture
def cloud(spy_action: ActionSpy) -> Iterator[LocalCloud]:
    """The local cloud with the console mounted; the callback in this process (the spy action lives here)."""
    from callback_app.handler import lambda_handler

    clock = FakeClock(datetime.now(UTC))
    with LocalCloud(
        CloudOptions(port=0), clock=clock, log=lambda line: None, callback_handler=lambda_handler, console=LocalConsole
    ) as running:
        yield running


class Browser:
    """Posts as the console's own pages do: with this client's cookie and the CSRF token its pages carry."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.client = httpx.Client(timeout=30)
        self.token = ""

    def post(self, url: str, *, data: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        # The token is read when first needed: a test's FakeClock starts with the cloud, and the first page costs time.
        self.token = self.token or csrf_token(self.client, f"{self.base_url}/console/create")
        return self.client.post(url, data={**(data or {}), "csrf_token": self.token}, **kwargs)


@pytest.fixture
def browser(cloud: LocalCloud) -> Iterator[Browser]:
    opened = Browser(cloud.api_url)
    yield opened
    opened.client.close()


def create(cloud: LocalCloud, **body: Any) -> httpx.Response:
    return httpx.post(f"{cloud.api_url}/api/v1/schedules", json={"user_id": 1, "data": {}, **body}, timeout=10)


def succeed(data: Any, task: Any) -> dict[str, Any]:
    return {"ok": True}


def fail(data: Any, task: Any) -> None:
    raise RuntimeError("downstream unavailable")


def test_the_task_list_reads_each_tasks_timing_when_todays_api_lists_only_summaries(cloud: LocalCloud) -> None:
    assert (
        create(cloud, task_id="list-1", action="spy", cron="cron(0 9 * * ? *)", timezone="Asia/Seoul").status_code
        == 201
    )
    assert create(cloud, task_id="list-2", action="send_notification", delay_minutes=5).status_code == 201

    page = httpx.get(f"{cloud.api_url}/console/tasks", params={"action": "spy"}, timeout=10)

    assert page.status_code == 200
    assert "list-1" in page.text
    assert "list-2" not in page.text
    assert "cron(0 9 * * ? *)" in page.text
    assert "Asia/Seoul" in page.text


def test_a_task_page_shows_the_next_five_times_in_its_zone_and_in_utc(cloud: LocalCloud) -> None:
    create(cloud, task_id="zoned", action="spy", cron="cron(30 8 ? * MON-FRI *)", timezone="Europe/Berlin")

    page = httpx.get(f"{cloud.api_url}/console/tasks/zoned", timeout=10).text

    assert page.count("08:30:00 CE") == 5  # CET or CEST, whichever the next weekdays are in
    assert ("07:30:00Z" in page) or ("06:30:00Z" in page)
    # Today's API has no /runs route; the ledger's has, and a task that has not fired has no runs yet.
    assert ("No run history" in page) or ("No runs yet." in page)


def test_a_task_page_names_the_principal_that_created_the_task(cloud: LocalCloud) -> None:
    alice = "arn:aws:iam::123456789012:user/alice"
    httpx.post(
        f"{cloud.api_url}/api/v1/schedules",
        json={"task_id": "owned", "user_id": 1, "action": "spy", "data": {}, "delay_minutes": 5},
        headers={"x-local-principal": alice},
        timeout=10,
    )

    page = httpx.get(f"{cloud.api_url}/console/tasks/owned", timeout=10).text

    assert f"<dt>Owner</dt><dd>{alice}</dd>" in page


def test_pause_and_resume_answer_the_live_part_to_htmx_and_redirect_a_plain_form(
    cloud: LocalCloud, browser: Browser
) -> None:
    create(cloud, task_id="switch", action="spy", rate="rate(1 hour)")

    paused = browser.post(f"{cloud.api_url}/console/tasks/switch/pause", headers={"hx-request": "true"}, timeout=10)
    resumed = browser.post(f"{cloud.api_url}/console/tasks/switch/resume", timeout=10)

    assert 'id="live"' in paused.text
    assert ">paused<" in paused.text
    assert ">Resume<" in paused.text
    assert resumed.status_code == 303
    assert resumed.headers["location"] == "/console/tasks/switch?notice=resumed"
    assert httpx.get(f"{cloud.api_url}/api/v1/schedules/switch", timeout=10).json()["state"] == "ENABLED"


def test_a_reschedule_the_api_refuses_keeps_the_task_and_says_why_beside_the_field(
    cloud: LocalCloud, browser: Browser
) -> None:
    create(cloud, task_id="resched", action="spy", rate="rate(1 hour)")

    page = browser.post(
        f"{cloud.api_url}/console/tasks/resched/reschedule",
        data={"timing": "rate", "rate": "rate(2 weeks)", "timezone": "UTC"},
        timeout=10,
    ).text

    assert 'id="rate-error"' in page
    assert "unknown unit &#39;weeks&#39;" in page
    assert httpx.get(f"{cloud.api_url}/api/v1/schedules/resched", timeout=10).json()["expression"] == "rate(1 hour)"


def test_cancel_asks_first_and_cancelling_an_unknown_task_says_what_the_api_said(
    cloud: LocalCloud, browser: Browser
) -> None:
    question = httpx.get(f"{cloud.api_url}/console/tasks/ghost/cancel", timeout=10)
    answer = browser.post(f"{cloud.api_url}/console/tasks/ghost/cancel", timeout=10)

    assert "Yes, cancel the task" in question.text
    assert answer.status_code == 404
    assert "no schedule for task &#39;ghost&#39;" in answer.text


def test_a_form_error_found_before_the_api_is_asked_is_shown_beside_its_field(
    cloud: LocalCloud, browser: Browser
) -> None:
    page = browser.post(
        f"{cloud.api_url}/console/create",
        data={"action": "process_payment", "timing": "delay", "delay_amount": "soon", "data.payment_id": "9"},
        timeout=10,
    ).text

    assert 'id="delay_amount-error"' in page
    assert "give a whole number of seconds" in page


def test_invalid_action_data_is_shown_beside_the_data_field_the_action_model_named(
    cloud: LocalCloud, browser: Browser
) -> None:
    page = browser.post(
        f"{cloud.api_url}/console/create",
        data={
            "action": "send_notification",
            "user_id": "1",
            "timing": "delay",
            "delay_amount": "60",
            "data.email": "x" * 400,
        },
        timeout=10,
    ).text

    assert 'id="data.email-error"' in page
    assert "String should have at most 320 characters" in page


def test_a_failed_task_is_replayed_from_the_dead_letters_page_once_its_cause_is_fixed(
    cloud: LocalCloud, spy_action: ActionSpy, browser: Browser
) -> None:
    spy_action.behaviour = fail
    create(cloud, task_id="dead-1", action="spy", delay_seconds=1)
    assert cloud.dispatcher is not None
    cloud.run_until(cloud.clock.now() + timedelta(seconds=10))
    listed = httpx.get(f"{cloud.api_url}/console/dead-letters", timeout=10).text
    assert "dead-1" in listed
    assert "RetriesExhausted" in listed

    again = browser.post(f"{cloud.api_url}/console/dead-letters/replay", data={}, timeout=30).text
    assert "failed again, message kept: task dead-1" in again or "rejected, message kept: task dead-1" in again

    spy_action.behaviour = succeed
    fixed = browser.post(f"{cloud.api_url}/console/dead-letters/replay", data={}, timeout=30).text
    assert "redriven and deleted: task dead-1" in fixed
    assert "dead-1" not in httpx.get(f"{cloud.api_url}/console/dead-letters", timeout=10).text


def test_discard_all_deletes_every_letter_without_running_it(
    cloud: LocalCloud, spy_action: ActionSpy, browser: Browser
) -> None:
    spy_action.behaviour = fail
    create(cloud, task_id="dead-2", action="spy", delay_seconds=1)
    assert cloud.dispatcher is not None
    cloud.run_until(cloud.clock.now() + timedelta(seconds=10))
    runs = len(spy_action.runs)

    confirm = httpx.get(f"{cloud.api_url}/console/dead-letters/confirm", params={"op": "discard"}, timeout=10).text
    done = browser.post(f"{cloud.api_url}/console/dead-letters/discard", data={}, timeout=10).text

    assert "Discard every dead letter?" in confirm
    assert "discarded 1 letter(s)" in done
    assert len(spy_action.runs) == runs


def test_a_cross_site_post_is_refused(cloud: LocalCloud, browser: Browser) -> None:
    create(cloud, task_id="csrf", action="spy", rate="rate(1 hour)")

    answer = browser.post(
        f"{cloud.api_url}/console/tasks/csrf/pause", headers={"origin": "https://evil.example"}, timeout=10
    )

    assert answer.status_code == 403
    assert httpx.get(f"{cloud.api_url}/api/v1/schedules/csrf", timeout=10).json()["state"] == "ENABLED"


# The ledger's API (issue #12), as the console's contract describes it: statuses, run counts, run history.
LEDGER_TASK = {
    "task_id": "pay-42",
    "status": "failed",
    "kind": "one-time",
    "expression": "at(2030-01-01T00:30:00)",
    "timezone": "UTC",
    "state": "ENABLED",
    "next_run_at": None,
    "user_id": 456,
    "action": "process_payment",
    "data": {"payment_id": 42},
    "run_count": 1,
    "last_run": {"outcome": "failed"},
    "created_at": "2029-12-31T23:59:59Z",
}
LEDGER_RUN = {
    "scheduled_time": "2030-01-01T00:30:00Z",
    "attempts": 3,
    "first_started_at": "2030-01-01T00:30:00.4Z",
    "last_started_at": "2030-01-01T00:33:01Z",
    "finished_at": "2030-01-01T00:33:02Z",
    "duration_ms": 812,
    "outcome": "failed",
    "status_code": 500,
    "result": None,
    "error": {"type": "RuntimeError", "message": "payment provider down"},
    "replays": 0,
}


def ledger_api(request: httpx.Request) -> httpx.Response:
    path = request.url.path
    if path == "/api/v1/schedules":
        assert request.url.params["status"] == "failed"
        assert request.url.params["user_id"] == "456"
        return httpx.Response(200, json={"items": [LEDGER_TASK], "cursor": "next-page-token"})
    if path == "/api/v1/schedules/pay-42":
        return httpx.Response(200, json=LEDGER_TASK)
    if path == "/api/v1/schedules/pay-42/runs":
        return httpx.Response(200, json={"items": [LEDGER_RUN], "cursor": None})
    if path == "/openapi.json":
        return httpx.Response(200, json={"components": {"schemas": {}}})
    return httpx.Response(404, json={"detail": f"no endpoint at {path}"})


@pytest.fixture
def ledger() -> Iterator[TestClient]:
    api = SchedulerApi("http://ledger.test", transport=httpx.MockTransport(ledger_api))
    with TestClient(create_app(Console(api, where="ledger stand-in")), base_url="http://127.0.0.1:8001") as client:
        yield client


def test_with_the_ledger_the_list_passes_its_filters_to_the_api_and_shows_status_and_last_outcome(
    ledger: TestClient,
) -> None:
    page = ledger.get("/console/tasks", params={"status": "failed", "user_id": "456"}).text

    assert 'class="status status-failed">failed<' in page
    assert "<td>failed</td>" in page  # the last outcome
    assert "cursor=next-page-token" in page


def test_with_the_ledger_a_task_page_shows_each_runs_attempts_duration_outcome_and_error(ledger: TestClient) -> None:
    live = ledger.get("/console/tasks/pay-42/live").text

    assert "812 ms" in live
    assert "RuntimeError: payment provider down" in live
    assert "<td>3</td>" in live
    assert 'hx-trigger="every 2.0s"' in live
    assert json.dumps(LEDGER_TASK["data"]) not in live  # the live part is the runs, not the request


RETRYING_TASK = {
    **LEDGER_TASK,
    "task_id": "pay-43",
    "status": "retrying",
    "state": None,
    "reason": "ConnectionError: the mail server did not answer",
    "last_run": {"outcome": "failed", "final": False},
}


def retrying_api(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/api/v1/schedules/pay-43":
        return httpx.Response(200, json=RETRYING_TASK)
    if request.url.path == "/api/v1/schedules/pay-43/runs":
        return httpx.Response(200, json={"items": [{**LEDGER_RUN, "attempts": 1, "final": False}], "cursor": None})
    return httpx.Response(404, json={"detail": f"no endpoint at {request.url.path}"})


def test_a_task_being_retried_shows_its_badge_and_reason_and_offers_no_pause() -> None:
    api = SchedulerApi("http://ledger.test", transport=httpx.MockTransport(retrying_api))
    with TestClient(create_app(Console(api, where="ledger stand-in")), base_url="http://127.0.0.1:8001") as client:
        live = client.get("/console/tasks/pay-43/live").text

    assert 'class="status status-retrying">retrying<' in live
    assert 'Why: <span class="error-text">ConnectionError: the mail server did not answer</span>' in live
    assert "Cancel it to stop further attempts" in live
    assert ">Pause<" not in live
