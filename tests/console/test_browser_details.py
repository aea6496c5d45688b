"""The console's details, in a real browser against `make dev`, through the URLs the docs print: ids sent as typed,
no operations offered on a finished task, fire times that follow the task, readable times, a status filter that
means what it says, a reschedule form that starts from the task's own bounds."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.integration


def console_url(dev: dict[str, Any], path: str = "") -> str:
    return f"{dev['api_url']}/console{path}"


def api(dev: dict[str, Any], method: str, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(method, f"{dev['api_url']}/api/v1/schedules{path}", timeout=10, **kwargs)


def create(dev: dict[str, Any], **body: Any) -> dict[str, Any]:
    answer = api(dev, "POST", "", json={"user_id": 1, "action": "send_notification", "data": {}, **body})
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def wait_for_status(dev: dict[str, Any], task_id: str, status: str, timeout: float = 30) -> None:
    """Until the API reads the task in `status` (a delivery takes a second or two in make dev)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if api(dev, "GET", f"/{task_id}").json().get("status") == status:
            return
        time.sleep(0.2)
    raise AssertionError(f"{task_id} not {status} after {timeout} s: {api(dev, 'GET', f'/{task_id}').text}")


# -- ids as typed --------------------------------------------------------------------------------------------------


def test_ids_typed_on_the_create_page_reach_the_api_as_typed(page: Page, dev: dict[str, Any]) -> None:
    page.goto(console_url(dev, "/create"))
    page.get_by_label("Task id").fill("browser-ids-007")
    page.get_by_label("User id").fill("007")
    page.get_by_label("Action", exact=True).select_option("process_payment")
    page.get_by_label("Payment Id (required)").fill("00123")
    page.get_by_label("Delay", exact=True).fill("3600")
    page.get_by_role("button", name="Create task").click()
    expect(page.get_by_role("heading", name="Task browser-ids-007")).to_be_visible()

    task = api(dev, "GET", "/browser-ids-007").json()
    assert task["user_id"] == "007"
    assert task["data"]["payment_id"] == "00123"
    expect(page.locator("dl.facts")).to_contain_text("007")


def test_a_whole_number_typed_as_an_id_is_still_sent_as_a_number(page: Page, dev: dict[str, Any]) -> None:
    page.goto(console_url(dev, "/create"))
    page.get_by_label("Task id").fill("browser-ids-42")
    page.get_by_label("User id").fill("42")
    page.get_by_label("Action", exact=True).select_option("process_payment")
    page.get_by_label("Payment Id (required)").fill("9001")
    page.get_by_label("Delay", exact=True).fill("3600")
    page.get_by_role("button", name="Create task").click()
    expect(page.get_by_role("heading", name="Task browser-ids-42")).to_be_visible()

    task = api(dev, "GET", "/browser-ids-42").json()
    assert (task["user_id"], task["data"]["payment_id"]) == (42, 9001)


# -- finished tasks ------------------------------------------------------------------------------------------------


def test_a_task_that_finishes_while_its_page_is_open_stops_offering_pause_reschedule_and_cancel(
    page: Page, dev: dict[str, Any]
) -> None:
    create(dev, task_id="browser-finishes", delay_seconds=2, data={"message": "soon done"})
    page.goto(console_url(dev, "/tasks/browser-finishes"))
    expect(page.get_by_role("button", name="Pause")).to_be_visible()
    expect(page.get_by_role("link", name="Cancel this task…")).to_be_visible()

    expect(page.locator("#live .status")).to_have_text("succeeded", timeout=30_000)

    expect(page.get_by_role("button", name="Pause")).to_have_count(0)
    expect(page.get_by_role("button", name="Reschedule")).to_have_count(0)
    expect(page.get_by_role("link", name="Cancel this task…")).to_have_count(0)
    expect(page.locator("#task-actions")).to_contain_text("This task has ended (succeeded)")
    page.reload()
    expect(page.get_by_role("button", name="Pause")).to_have_count(0)
    expect(page.get_by_role("button", name="Reschedule")).to_have_count(0)
    expect(page.get_by_role("link", name="Cancel this task…")).to_have_count(0)


# -- fire times and times ------------------------------------------------------------------------------------------


def test_the_next_fire_times_follow_a_change_made_elsewhere_and_a_utc_task_has_one_time_column(
    page: Page, dev: dict[str, Any]
) -> None:
    create(dev, task_id="browser-fires-utc", cron="cron(0 9 * * ? *)")
    page.goto(console_url(dev, "/tasks/browser-fires-utc"))
    fires = page.get_by_role("table", name="The next 5 occurrences")
    expect(fires.locator("tbody tr").first).to_contain_text("09:00:00")
    headers = fires.locator("thead th").all_inner_texts()
    assert headers.count("In UTC") == 1, headers

    assert api(dev, "PATCH", "/browser-fires-utc", json={"cron": "cron(30 17 * * ? *)"}).status_code == 200

    expect(fires.locator("tbody tr").first).to_contain_text("17:30:00", timeout=15_000)  # no reload


def test_times_are_shown_to_the_second_with_their_zone_and_how_far_off_they_are(
    page: Page, dev: dict[str, Any]
) -> None:
    create(dev, task_id="browser-times", delay_minutes=3)
    page.goto(console_url(dev, "/tasks?q=browser-times"))
    row = page.locator("tbody tr", has_text="browser-times")

    expect(row).to_contain_text(re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC"))
    expect(row).to_contain_text(re.compile(r"in (2|3) min"))
    assert not re.search(r"\d\d:\d\d:\d\d\.\d+", row.inner_text())  # no fractions of a second

    page.goto(console_url(dev, "/tasks/browser-times"))
    expect(page.locator("#live .next-run")).to_contain_text(re.compile(r"\d\d:\d\d:\d\d UTC.*in (2|3) min"))
    expect(page.locator("dl.facts")).to_contain_text(re.compile(r"\d\d:\d\d:\d\d UTC.*(s|min) ago"))


# -- the status filter ---------------------------------------------------------------------------------------------


def test_status_any_lists_finished_tasks_too_and_each_choice_says_what_it_covers(
    page: Page, dev: dict[str, Any]
) -> None:
    create(dev, task_id="browser-any-done", delay_seconds=1, data={"message": "done"})
    create(dev, task_id="browser-any-live", delay_minutes=30)
    wait_for_status(dev, "browser-any-done", "succeeded")

    page.goto(console_url(dev, "/tasks?q=browser-any"))
    status = page.get_by_label("Status")
    expect(status).to_have_value("")
    options = status.locator("option").all_inner_texts()
    assert options[0] == "any status"
    assert "live: scheduled or paused" in options
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("tbody tr", has_text="browser-any-done")).to_contain_text("succeeded")

    status.select_option(label="live: scheduled or paused")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("browser-any-live")

    status.select_option("succeeded")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("browser-any-done")
    expect(page.locator(".filters .hint")).to_contain_text("any status")


# -- reschedule ----------------------------------------------------------------------------------------------------


def test_the_reschedule_form_starts_from_the_tasks_start_and_end_and_clearing_the_end_removes_it(
    page: Page, dev: dict[str, Any]
) -> None:
    start = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0, second=0, minute=0)
    end = start + timedelta(days=30)
    create(
        dev,
        task_id="browser-bounds",
        cron="cron(0 9 * * ? *)",
        timezone="Asia/Seoul",
        start_at=start.isoformat(),
        end_at=end.isoformat(),
    )
    seoul = timedelta(hours=9)  # Korea has no daylight saving time
    page.goto(console_url(dev, "/tasks/browser-bounds"))
    form = page.locator("form.reschedule")

    # The browser shows a whole minute without its seconds.
    expect(form.get_by_label("Start (optional)")).to_have_value((start + seoul).strftime("%Y-%m-%dT%H:%M"))
    expect(form.get_by_label("End (optional)")).to_have_value((end + seoul).strftime("%Y-%m-%dT%H:%M"))

    form.get_by_label("End (optional)").fill("")
    form.get_by_label("Cron (6 fields)").fill("cron(0 10 * * ? *)")
    form.get_by_role("button", name="Reschedule").click()
    expect(page.get_by_role("status").first).to_have_text("rescheduled: cron(0 10 * * ? *)")

    task = api(dev, "GET", "/browser-bounds").json()
    assert task["end_at"] is None
    assert datetime.fromisoformat(task["start_at"].replace("Z", "+00:00")) == start
