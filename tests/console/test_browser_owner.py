"""Under `Isolation=owner` (`TASK_ISOLATION=owner make dev`) the local console acts as the principal the operator
chooses, an administrator included (the local cloud reads `X-Local-Principal`); `make console` never offers it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from botocore.credentials import Credentials
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect

from console import Console, SchedulerApi, create_app
from console import __main__ as make_console
from tests.localcloud.test_dev_process import DevProcess

pytestmark = pytest.mark.integration

ALICE = "arn:aws:iam::123456789012:user/alice"
BOB = "arn:aws:iam::123456789012:user/bob"
OPERATOR = "arn:aws:iam::123456789012:role/operator"


@pytest.fixture(scope="module")
def owned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`TASK_ISOLATION=owner ADMIN_PRINCIPALS=<operator> make dev`, with a task of alice's and one of bob's, and a
    task `same-1` of each (one id, two owners: two tasks)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TASK_ISOLATION", "owner")
        patch.setenv("ADMIN_PRINCIPALS", OPERATOR)
        process = DevProcess(tmp_path_factory.mktemp("owner") / "state.json", "--quiet")
    try:
        state = process.state()
        for task_id, principal in (("alice-1", ALICE), ("bob-1", BOB), ("same-1", ALICE), ("same-1", BOB)):
            answer = httpx.post(
                f"{state['api_url']}/api/v1/schedules",
                json={"task_id": task_id, "user_id": 1, "action": "send_notification", "rate": "rate(1 hour)"},
                headers={"x-local-principal": principal},
                timeout=10,
            )
            assert answer.status_code == 201, answer.text
        yield state
    finally:
        process.stop()


def act_as(page: Page, principal: str) -> None:
    page.get_by_label("Act as").fill(principal)
    page.get_by_role("button", name="Act as").click()


def test_the_local_console_acts_as_the_principal_chosen_and_as_an_admin(page: Page, owned: dict[str, Any]) -> None:
    page.goto(f"{owned['api_url']}/console")
    expect(page.locator(".act-as")).to_contain_text("Isolation=owner")
    expect(page.locator("tbody")).to_contain_text("No tasks")  # no principal: nobody's tasks

    act_as(page, ALICE)
    expect(page.locator(".act-as")).to_contain_text(f"acting as {ALICE}")
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(2)  # alice-1 and her same-1
    expect(page.locator("tbody")).not_to_contain_text("bob-1")

    rows.filter(has_text="alice-1").get_by_role("link", name="alice-1").click()
    page.locator("#live").get_by_role("button", name="Pause").click()
    expect(page.locator("#live .status")).to_have_text("paused")
    read = httpx.get(f"{owned['api_url']}/api/v1/schedules/alice-1", headers={"x-local-principal": ALICE}, timeout=10)
    assert read.json()["status"] == "paused"

    page.goto(f"{owned['api_url']}/console/tasks?q=bob")
    expect(page.locator("tbody")).to_contain_text("No tasks")  # alice does not see bob's task

    page.goto(f"{owned['api_url']}/console/tasks")
    act_as(page, OPERATOR)
    expect(page.locator(".act-as")).to_contain_text("administrator")
    expect(page.locator("tbody")).to_contain_text("alice-1")
    expect(page.locator("tbody")).to_contain_text("bob-1")

    act_as(page, "")
    expect(page.locator("tbody")).to_contain_text("No tasks")


def api_task(owned: dict[str, Any], task_id: str, principal: str) -> dict[str, Any]:
    """The task as its owner reads it through the API."""
    read = httpx.get(
        f"{owned['api_url']}/api/v1/schedules/{task_id}", headers={"x-local-principal": principal}, timeout=10
    )
    assert read.status_code == 200, read.text
    found: dict[str, Any] = read.json()
    return found


def test_an_admin_opens_another_owners_task_from_the_list_and_pauses_resumes_reschedules_and_cancels_it(
    page: Page, owned: dict[str, Any]
) -> None:
    page.goto(f"{owned['api_url']}/console/tasks?q=bob")
    act_as(page, OPERATOR)
    row = page.locator("tbody tr").filter(has_text="bob-1")
    row.get_by_role("link", name="bob-1").click()

    expect(page.get_by_role("heading", name="Task bob-1", exact=True)).to_be_visible()
    expect(page.locator("dl.facts")).to_contain_text(BOB)
    live = page.locator("#live")
    live.get_by_role("button", name="Pause").click()
    expect(live.locator(".status")).to_have_text("paused")
    assert api_task(owned, "bob-1", BOB)["status"] == "paused"
    with page.expect_response(lambda answer: "/bob-1/live" in answer.url) as polled:
        pass  # the page polls its live part: for bob's task, not for the admin's own (none) of that id
    assert polled.value.ok
    expect(live.locator(".status")).to_have_text("paused")
    expect(live).not_to_contain_text("no longer has this task")
    live.get_by_role("button", name="Resume").click()
    expect(live.locator(".status")).to_have_text("scheduled")
    assert api_task(owned, "bob-1", BOB)["status"] == "scheduled"

    reschedule = page.locator("form.reschedule")
    reschedule.get_by_label("Rate", exact=True).fill("rate(2 hours)")
    reschedule.get_by_role("button", name="Reschedule").click()
    expect(page.get_by_role("status").first).to_have_text("rescheduled: rate(2 hours)")
    expect(page.locator("dl.facts")).to_contain_text("rate(2 hours)")
    expect(page.locator("dl.facts")).to_contain_text(BOB)
    assert api_task(owned, "bob-1", BOB)["expression"] == "rate(2 hours)"

    page.get_by_role("link", name="Cancel this task…").click()
    page.get_by_role("button", name="Yes, cancel the task").click()
    expect(page.get_by_role("status").first).to_have_text(f"cancelled task bob-1 of {BOB}")
    assert api_task(owned, "bob-1", BOB)["status"] == "cancelled"
    assert api_task(owned, "alice-1", ALICE)["status"] in ("scheduled", "paused")  # nobody else's task was touched


def test_an_admins_list_links_each_owners_task_of_one_id_to_its_own_page(page: Page, owned: dict[str, Any]) -> None:
    page.goto(f"{owned['api_url']}/console/tasks?q=same")
    act_as(page, OPERATOR)
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(2)

    for owner in (ALICE, BOB):
        page.goto(f"{owned['api_url']}/console/tasks?q=same")
        rows.filter(has_text=owner).get_by_role("link", name="same-1").click()
        expect(page.get_by_role("heading", name="Task same-1", exact=True)).to_be_visible()
        expect(page.locator("dl.facts")).to_contain_text(owner)
        expect(page.locator("#live .status")).to_have_text("scheduled")


def test_a_principal_that_is_no_arn_is_refused_beside_the_field(page: Page, owned: dict[str, Any]) -> None:
    page.goto(f"{owned['api_url']}/console/tasks")

    act_as(page, "alice; drop table")

    expect(page.locator(".act-as")).to_contain_text("give an IAM ARN")
    expect(page.get_by_label("Act as")).to_have_attribute("aria-invalid", "true")
    page.goto(f"{owned['api_url']}/console/tasks")
    expect(page.locator(".act-as")).to_contain_text("acting as no principal")
    expect(page.locator("tbody")).to_contain_text("No tasks")


def test_make_console_never_offers_to_act_as_anyone_and_ignores_the_choice() -> None:
    class Session:
        region_name = "eu-west-1"

        def get_credentials(self) -> Credentials:
            return Credentials("AKIDOWNER", "secret")

    setup = make_console.build(make_console.parse_args(["--api-url", "http://127.0.0.1:9/v1"]), session=Session())
    assert setup.console.act_as is None

    sent: list[httpx.Headers] = []

    def api(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers)
        return httpx.Response(200, json={"items": [], "cursor": None, "components": {"schemas": {}}})

    console = Console(SchedulerApi("http://api.test", transport=httpx.MockTransport(api)))
    with TestClient(create_app(console), base_url="http://127.0.0.1:8001") as client:
        client.cookies.set("console_principal", ALICE)
        page = client.get("/console/tasks").text

    assert "Act as" not in page
    assert sent
    assert all("x-local-principal" not in headers for headers in sent)
