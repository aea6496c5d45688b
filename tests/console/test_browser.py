"""The console in a real browser (Debian's chromium, Playwright) against `make dev`: every page, no console errors.

The screenshots in docs/console/ are taken here by `make screenshots` (CONSOLE_SCREENSHOTS), so the docs show what
the tests saw; a plain test run takes none.
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from taskcore.envelope import TaskEnvelope
from taskcore.proxy import build_target_input, substitute_context_attributes
from tests.console.conftest import screenshot

pytestmark = pytest.mark.integration


def console_url(dev: dict[str, Any], path: str = "") -> str:
    return f"{dev['api_url']}/console{path}"


def has_run_history(dev: dict[str, Any]) -> bool:
    """Whether this API serves GET .../{task_id}/runs (it comes with the task ledger)."""
    paths = httpx.get(f"{dev['api_url']}/openapi.json", timeout=10).json()["paths"]
    return "/api/v1/schedules/{task_id}/runs" in paths


def create_on_the_page(page: Page, dev: dict[str, Any], task_id: str, action: str = "send_notification") -> None:
    page.goto(console_url(dev, "/create"))
    page.get_by_label("Task id").fill(task_id)
    page.get_by_label("User id").fill("42")
    page.get_by_label("Action", exact=True).select_option(action)


def test_a_task_created_on_the_create_page_fires_and_the_page_follows_it_live(page: Page, dev: dict[str, Any]) -> None:
    create_on_the_page(page, dev, "browser-fires-1")
    page.get_by_label("Message").fill("Hello from the browser")
    page.get_by_label("Delay (one-time)").check()
    page.get_by_label("Delay", exact=True).fill("2")
    screenshot(page, "create.png")
    page.get_by_role("button", name="Create task").click()

    expect(page.get_by_role("status").first).to_have_text("created task browser-fires-1")
    expect(page.get_by_role("heading", name="Task browser-fires-1")).to_be_visible()
    expect(page.locator("pre.json")).to_contain_text('"message": "Hello from the browser"')
    if has_run_history(dev):
        # With the ledger the task stays, and its run appears in the polled partial.
        expect(page.locator("tr.run").first).to_contain_text("succeeded", timeout=30_000)
    else:
        # Today's API: the one-time schedule deletes itself once it ran; the polled partial says so.
        expect(page.locator("#live .gone")).to_contain_text("no longer has this task", timeout=30_000)
        expect(page.locator("#live")).to_contain_text("No run history")


def test_a_recurring_task_shows_its_next_fire_times_and_is_paused_resumed_rescheduled_and_cancelled(
    page: Page, dev: dict[str, Any]
) -> None:
    create_on_the_page(page, dev, "browser-daily-report", "generate_daily_report")
    page.get_by_label("Cron (recurring)").check()
    page.get_by_label("Cron (6 fields)").fill("cron(0 9 * * ? *)")
    page.get_by_label("Time zone", exact=False).first.fill("Asia/Seoul")
    page.get_by_role("button", name="Create task").click()

    fires = page.get_by_role("table", name="The next 5 occurrences")
    expect(fires.locator("tbody tr")).to_have_count(5)
    expect(fires.locator("tbody tr").first).to_contain_text("09:00:00 KST")
    expect(fires.locator("tbody tr").first).to_contain_text("00:00:00Z")
    screenshot(page, "task.png")

    live = page.locator("#live")
    live.get_by_role("button", name="Pause").click()
    expect(live.locator(".status")).to_have_text("paused")
    live.get_by_role("button", name="Resume").click()
    expect(live.locator(".status")).to_have_text("scheduled")

    reschedule = page.locator("form.reschedule")
    reschedule.get_by_label("Rate (recurring)").check()
    reschedule.get_by_label("Rate", exact=True).fill("rate(5 minutes)")
    reschedule.get_by_role("button", name="Reschedule").click()
    expect(page.get_by_role("status").first).to_have_text("rescheduled: rate(5 minutes)")
    expect(page.locator("dl.facts")).to_contain_text("rate(5 minutes)")

    page.get_by_role("link", name="Cancel this task…").click()
    expect(page.get_by_role("heading", name="Cancel task browser-daily-report?")).to_be_visible()
    page.get_by_role("button", name="Yes, cancel the task").click()
    expect(page.get_by_role("status").first).to_have_text("cancelled task browser-daily-report")
    after = httpx.get(f"{dev['api_url']}/api/v1/schedules/browser-daily-report", timeout=10)
    # Today's API forgets a cancelled task (404); the ledger's keeps it, cancelled.
    assert after.status_code == 404 or after.json()["status"] == "cancelled"


def test_the_create_page_shows_the_apis_own_messages_beside_the_fields(page: Page, dev: dict[str, Any]) -> None:
    create_on_the_page(page, dev, "browser-invalid")
    page.get_by_label("Cron (recurring)").check()
    page.get_by_label("Cron (6 fields)").fill("every day")
    page.get_by_role("button", name="Create task").click()

    cron = page.get_by_label("Cron (6 fields)")
    expect(cron).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#cron-error")).to_have_text(re.compile(r"cron\(every day\): expected 6 fields"))
    expect(cron).to_have_value("every day")  # what was typed is kept
    assert httpx.get(f"{dev['api_url']}/api/v1/schedules/browser-invalid", timeout=10).status_code == 404


def delivery_letter(dev: dict[str, Any], sqs: Any, task_id: str) -> None:
    """A letter as EventBridge Scheduler leaves it when it cannot deliver: the event, the error in attributes."""
    env = dev["environment"]
    arn = f"arn:aws:scheduler:{env['AWS_DEFAULT_REGION']}:123456789012:schedule/{env['SCHEDULE_GROUP_NAME']}/{task_id}"
    scheduled = datetime.now(UTC).replace(microsecond=0)
    envelope = TaskEnvelope(task_id=task_id, user_id=7, action="send_notification", data={"message": "late"})
    event = substitute_context_attributes(
        build_target_input(envelope), schedule_arn=arn, scheduled_time=scheduled, execution_id="exec-1", attempt=1
    )
    attributes = {
        "ERROR_CODE": "AccessDeniedException",
        "ERROR_MESSAGE": "the role cannot invoke the function",
        "RETRY_ATTEMPTS": "0",
        "SCHEDULED_TIME": scheduled.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "SCHEDULE_ARN": arn,
    }
    url = sqs.get_queue_url(QueueName=env["SCHEDULER_DLQ_ARN"].rsplit(":", 1)[-1])["QueueUrl"]
    sqs.send_message(
        QueueUrl=url,
        MessageBody=event,
        MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
    )
    # Scheduler's dead-letter queue is the recorder's inbox: it records the ending and forwards the letter to the
    # operators' queue, where the console lists it. Wait for that (the recorder's first start is a cold start).
    (operators,) = [u for u in sqs.list_queues()["QueueUrls"] if u.endswith("ScheduleDeliveryDLQ")]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        counts = sqs.get_queue_attributes(QueueUrl=operators, AttributeNames=["ApproximateNumberOfMessages"])
        if int(counts["Attributes"]["ApproximateNumberOfMessages"]) > 0:
            return
        time.sleep(0.2)
    raise AssertionError("the recorder did not forward the letter to ScheduleDeliveryDLQ within 60 s")


def test_a_dead_letter_is_listed_with_its_error_and_replayed_after_confirmation(
    page: Page, dev: dict[str, Any], dev_sqs: Any
) -> None:
    delivery_letter(dev, dev_sqs, "browser-letter-1")
    page.goto(console_url(dev, "/dead-letters"))
    row = page.locator("tr.letter", has_text="browser-letter-1")
    expect(row).to_contain_text("AccessDeniedException: the role cannot invoke the function")
    screenshot(page, "dead-letters.png")

    row.get_by_role("link", name="Replay task browser-letter-1").click()
    expect(page.get_by_role("heading")).to_contain_text("Replay the letter of delivery message")
    page.get_by_role("button", name="Yes, replay").click()

    expect(page.get_by_role("status")).to_contain_text("redriven and deleted: task browser-letter-1")
    expect(page.locator("tr.letter", has_text="browser-letter-1")).to_have_count(0)


def test_the_task_list_filters_by_action_searches_by_id_and_pages_with_the_apis_cursor(
    page: Page, dev: dict[str, Any]
) -> None:
    items = [
        {
            "task_id": f"browser-list-{n:02d}",
            "user_id": n % 3,
            "action": "process_payment",
            "data": {"payment_id": n},
            "delay_minutes": 60 + n,
        }
        for n in range(22)
    ] + [
        {
            "task_id": "browser-list-report",
            "user_id": 0,
            "action": "generate_daily_report",
            "cron": "cron(0 9 * * ? *)",
            "timezone": "Asia/Seoul",
        }
    ]
    answer = httpx.post(f"{dev['api_url']}/api/v1/schedules/batch", json={"items": items}, timeout=30)
    assert answer.json()["failed"] == 0, answer.text

    page.goto(console_url(dev, "/tasks?q=browser-list"))
    expect(page.locator("tbody tr")).to_have_count(20)  # the console's page size
    screenshot(page, "tasks.png")
    page.get_by_role("link", name="Next page").click()
    expect(page.locator("tbody tr")).to_have_count(3)

    page.goto(console_url(dev, "/tasks"))
    page.get_by_label("Task id (or its start)").fill("browser-list")
    page.get_by_label("Action").select_option("generate_daily_report")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("cron(0 9 * * ? *)")
    expect(rows.first).to_contain_text("Asia/Seoul")


UNLABELLED = """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
    .filter(el => el.labels.length === 0 && !el.getAttribute('aria-label')).map(el => el.name)"""


@pytest.mark.parametrize("path", ["/tasks", "/create", "/dead-letters"])
def test_every_page_fits_a_phone_labels_every_control_and_starts_with_a_skip_link(
    page: Page, dev: dict[str, Any], path: str
) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(console_url(dev, path))

    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.evaluate(UNLABELLED) == []
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    if path == "/tasks":
        screenshot(page, "tasks-phone.png")


def test_the_create_page_swaps_in_the_chosen_actions_data_fields(page: Page, dev: dict[str, Any]) -> None:
    page.goto(console_url(dev, "/create"))
    page.get_by_label("Action", exact=True).select_option("process_payment")

    expect(page.get_by_label("Payment Id (required)")).to_be_visible()
    expect(page.get_by_label("Operation")).to_have_value("")
    options = page.get_by_label("Operation").locator("option").all_inner_texts()
    assert options == ["default (expire)", "expire", "capture", "cancel"]
    assert json.loads(
        page.evaluate("JSON.stringify([...document.querySelectorAll('#data-fields [name]')].map(e => e.name))")
    ) == [
        "data.payment_id",
        "data.operation",
    ]
