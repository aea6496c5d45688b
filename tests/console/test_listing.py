"""The task list's status filter over HTTP, against a stand-in for the ledger's API that lists one status at a time
as the real one does: "any status" walks the live tasks and then every final status the API's document names, a
page at a time; each other choice asks for what it covers and no more."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from console import Console, SchedulerApi, create_app
from console.listing import api_statuses, phases, status_choices

STATUSES = ["scheduled", "paused", "succeeded", "failed", "rejected", "cancelled"]
OPENAPI = {
    "paths": {
        "/api/v1/schedules": {
            "get": {
                "parameters": [
                    {"name": "user_id", "schema": {"type": "string"}},
                    {"name": "status", "schema": {"anyOf": [{"enum": STATUSES, "type": "string"}, {"type": "null"}]}},
                ]
            }
        }
    },
    "components": {"schemas": {}},
}
TASKS = {
    None: [{"task_id": f"live-{n}", "status": "scheduled", "kind": "one-time"} for n in range(3)]
    + [{"task_id": "recurring-over", "status": "ended", "kind": "recurring"}],
    "succeeded": [{"task_id": f"done-{n}", "status": "succeeded", "kind": "one-time"} for n in range(2)],
    "failed": [],
    "rejected": [{"task_id": "refused-1", "status": "rejected", "kind": "one-time"}],
    "cancelled": [{"task_id": "cancelled-1", "status": "cancelled", "kind": "one-time"}],
}


class LedgerApi:
    """Lists like the ledger's API: one status per listing (the live ones by default), pages of `limit`."""

    def __init__(self) -> None:
        self.listings: list[dict[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/openapi.json":
            return httpx.Response(200, json=OPENAPI)
        params = dict(request.url.params)
        self.listings.append(params)
        items = TASKS[params.get("status")]
        start, limit = int(params.get("cursor", "0")), int(params["limit"])
        page = items[start : start + limit]
        following = str(start + limit) if start + limit < len(items) else None
        return httpx.Response(200, json={"items": page, "cursor": following})


@pytest.fixture
def ledger() -> LedgerApi:
    return LedgerApi()


@pytest.fixture
def client(ledger: LedgerApi) -> Iterator[TestClient]:
    console = Console(SchedulerApi("http://api.test", transport=httpx.MockTransport(ledger)), page_size=4)
    with TestClient(create_app(console), base_url="http://127.0.0.1:8001") as running:
        yield running


def listed(page: str) -> list[str]:
    return re.findall(r'<a href="/console/tasks/([\w-]+)">', page)


def test_any_status_walks_the_live_tasks_then_every_final_status_a_page_at_a_time(
    client: TestClient, ledger: LedgerApi
) -> None:
    first = client.get("/console/tasks").text
    following = re.search(r'<a rel="next" href="([^"]+)"', first)
    assert following is not None
    second = client.get(following.group(1).replace("&amp;", "&")).text

    assert listed(first) == ["live-0", "live-1", "live-2", "recurring-over"]
    assert listed(second) == ["done-0", "done-1", "refused-1", "cancelled-1"]
    assert [listing.get("status") for listing in ledger.listings] == [
        None,
        "succeeded",
        "failed",
        "rejected",
        "cancelled",
    ]
    assert 'rel="next"' not in second


def test_live_asks_for_the_default_listing_and_leaves_out_a_recurring_task_past_its_end(
    client: TestClient, ledger: LedgerApi
) -> None:
    page = client.get("/console/tasks", params={"status": "live"}).text

    assert listed(page) == ["live-0", "live-1", "live-2"]
    assert [listing.get("status") for listing in ledger.listings] == [None]


def test_ended_shows_only_the_recurring_tasks_past_their_end(client: TestClient, ledger: LedgerApi) -> None:
    assert listed(client.get("/console/tasks", params={"status": "ended"}).text) == ["recurring-over"]


def test_a_final_status_is_asked_of_the_api_by_name(client: TestClient, ledger: LedgerApi) -> None:
    page = client.get("/console/tasks", params={"status": "rejected"}).text

    assert listed(page) == ["refused-1"]
    assert [listing.get("status") for listing in ledger.listings] == ["rejected"]


def test_the_status_choices_say_what_each_covers() -> None:
    choices = {c.value: c for c in status_choices(api_statuses(OPENAPI))}

    assert choices[""].label == "any status"
    assert choices[""].covers == ("scheduled", "paused", "ended", "succeeded", "failed", "rejected", "cancelled")
    assert choices["live"].covers == ("scheduled", "paused")
    assert api_statuses({"paths": {}}) is None


def test_one_users_tasks_are_one_listing_and_an_api_without_a_status_filter_is_read_once() -> None:
    statuses = api_statuses(OPENAPI)

    assert phases("", "456", statuses) == [None]  # the API lists every status of one user
    assert phases("", "", statuses) == [None, "succeeded", "failed", "rejected", "cancelled"]
    assert phases("", "", None) == [None]
    assert phases("paused", "", None) == ["paused"]
    assert phases("ended", "", None) == [None]


def test_page_shows_no_cursor_or_phase_the_user_did_not_ask_for(client: TestClient) -> None:
    page = client.get("/console/tasks", params={"status": "rejected"}).text

    assert "Next page" not in page
    assert "First page" not in page
