"""An administrator's console under `Isolation=owner` (make dev) addresses another owner's task by naming its owner
(`?owner=<ARN>`): the list's links name it, and every API call, form, link and redirect of that task's page passes it
on. Under shared isolation and without a principal the URLs are as they always were; an owner that is no ARN is
refused before the API is asked anything. Over HTTP against the ASGI app, on an API that records each call."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient

from console import Console, SchedulerApi, create_app
from console.local import local_act_as
from tests.console.conftest import csrf_token

ALICE = "arn:aws:iam::123456789012:user/alice"
BOB = "arn:aws:iam::123456789012:user/bob"
OPERATOR = "arn:aws:iam::123456789012:role/operator"
#: Bob's owner as a console URL names it.
OF_BOB = "owner=" + quote(BOB, safe="")


class Api:
    """Answers like the API would under owner isolation, and records each call: method, path, query."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, str]]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path, query = request.url.path, dict(request.url.params)
        if path == "/openapi.json":
            return httpx.Response(200, json={"components": {"schemas": {}}})
        self.calls.append((request.method, path, query))
        if path == "/api/v1/schedules":
            rows = [("same-1", ALICE), ("same-1", BOB), ("mine", OPERATOR), ("nobodys", None)]
            return httpx.Response(200, json={"items": [self.task(i, o) for i, o in rows], "cursor": None})
        if path.endswith("/runs"):
            return httpx.Response(200, json={"items": [], "cursor": None})
        if request.method == "DELETE":
            return httpx.Response(204)
        task_id = path.split("/")[4]
        changed = json.loads(request.content) if request.method == "PATCH" else {}
        return httpx.Response(200, json=self.task(task_id, query.get("owner", OPERATOR), **changed))

    @staticmethod
    def task(task_id: str, owner: str | None, **changed: Any) -> dict[str, Any]:
        expression = changed.get("rate", "rate(1 hour)")
        return {"task_id": task_id, "owner": owner, "kind": "recurring", "expression": expression, "timezone": "UTC"}

    def asked(self, method: str) -> list[tuple[str, dict[str, str]]]:
        return [(path, query) for m, path, query in self.calls if m == method]


@pytest.fixture
def api() -> Api:
    return Api()


def console_client(api: Api, isolation: str, principal: str | None) -> TestClient:
    act_as = local_act_as({"TASK_ISOLATION": isolation, "ADMIN_PRINCIPALS": OPERATOR})
    console = Console(SchedulerApi("http://api.test", transport=httpx.MockTransport(api)), act_as=act_as)
    client = TestClient(create_app(console), base_url="http://127.0.0.1:3000")
    if principal is not None:
        client.cookies.set("console_principal", quote(principal, safe=""), path="/console")
    return client


@pytest.fixture
def admin(api: Api) -> Iterator[TestClient]:
    """The console of `make dev` under owner isolation, acting as the administrator."""
    with console_client(api, "owner", OPERATOR) as client:
        yield client


def task_links(page: str) -> list[str]:
    return re.findall(r'<a href="(/console/tasks/[^"]*)"', page)


def test_an_admins_list_links_each_task_of_another_owner_with_its_owner(admin: TestClient) -> None:
    page = admin.get("/console/tasks").text

    assert task_links(page) == [
        "/console/tasks/same-1?owner=" + quote(ALICE, safe=""),
        f"/console/tasks/same-1?{OF_BOB}",
        "/console/tasks/mine",  # the admin's own
        "/console/tasks/nobodys",  # no owner to name: the API finds it without one
    ]
    assert f'<span class="owner">of {ALICE}</span>' in page
    assert f'<span class="owner">of {BOB}</span>' in page


@pytest.mark.parametrize(
    ("isolation", "principal"),
    [("shared", ALICE), ("owner", None)],
    ids=["shared isolation, acting as alice", "owner isolation, no principal"],
)
def test_links_name_no_owner_under_shared_isolation_or_without_a_principal(
    api: Api, isolation: str, principal: str | None
) -> None:
    with console_client(api, isolation, principal) as client:
        listed = client.get("/console/tasks").text
        opened = client.get("/console/tasks/same-1").text

    assert task_links(listed) == [f"/console/tasks/{task_id}" for task_id in ("same-1", "same-1", "mine", "nobodys")]
    assert "owner=" not in listed
    assert "owner=" not in opened
    assert all("owner" not in query for _, _, query in api.calls)


def test_another_owners_task_page_names_its_owner_in_every_api_call_link_and_form(admin: TestClient, api: Api) -> None:
    page = admin.get(f"/console/tasks/same-1?{OF_BOB}").text

    assert api.asked("GET") == [
        ("/api/v1/schedules/same-1", {"owner": BOB}),
        ("/api/v1/schedules/same-1/runs", {"limit": "20", "owner": BOB}),
    ]
    assert f"<dd>{BOB}</dd>" in page
    for verb in ("live", "pause", "reschedule", "cancel"):
        assert f'"/console/tasks/same-1/{verb}?{OF_BOB}"' in page, verb

    api.calls.clear()
    live = admin.get(f"/console/tasks/same-1/live?{OF_BOB}", headers={"hx-request": "true"})
    assert live.status_code == 200
    assert {query.get("owner") for _, _, query in api.calls} == {BOB}
    assert f'hx-get="/console/tasks/same-1/live?{OF_BOB}"' in live.text


def test_changes_to_another_owners_task_go_to_its_owner_and_lead_back_to_its_page(admin: TestClient, api: Api) -> None:
    token = csrf_token(admin)
    form = {"csrf_token": token}

    paused = admin.post(f"/console/tasks/same-1/pause?{OF_BOB}", data=form, follow_redirects=False)
    resumed = admin.post(f"/console/tasks/same-1/resume?{OF_BOB}", data=form, headers={"hx-request": "true"})
    rescheduled = admin.post(
        f"/console/tasks/same-1/reschedule?{OF_BOB}",
        data={**form, "timing": "rate", "rate": "rate(2 hours)", "timezone": "UTC"},
        follow_redirects=False,
    )
    question = admin.get(f"/console/tasks/same-1/cancel?{OF_BOB}").text
    cancelled = admin.post(f"/console/tasks/same-1/cancel?{OF_BOB}", data=form, follow_redirects=False)

    assert api.asked("POST") == [
        ("/api/v1/schedules/same-1/pause", {"owner": BOB}),
        ("/api/v1/schedules/same-1/resume", {"owner": BOB}),
    ]
    assert api.asked("PATCH") == [("/api/v1/schedules/same-1", {"owner": BOB})]
    assert api.asked("DELETE") == [("/api/v1/schedules/same-1", {"owner": BOB})]
    assert paused.headers["location"] == f"/console/tasks/same-1?{OF_BOB}&notice=paused"
    assert f'hx-post="/console/tasks/same-1/pause?{OF_BOB}"' in resumed.text
    assert rescheduled.headers["location"].startswith(f"/console/tasks/same-1?{OF_BOB}&notice=rescheduled")
    assert f'action="/console/tasks/same-1/cancel?{OF_BOB}"' in question
    assert f'href="/console/tasks/same-1?{OF_BOB}"' in question  # "No, keep it"
    assert f"Cancel task same-1 of {BOB}?" in question
    assert cancelled.headers["location"].startswith("/console/tasks?notice=cancelled")
    assert admin.get(cancelled.headers["location"]).text.count(f"cancelled task same-1 of {BOB}") == 1


@pytest.mark.parametrize(
    "owner",
    [
        "bob",
        "arn:aws:iam::1234:user/bob",
        'arn:aws:iam::123456789012:user/bob"><script>alert(1)</script>',
        "arn:aws:iam::123456789012:user/bob\r\nx-local-principal: arn:aws:iam::123456789012:role/operator",
        "arn:aws:iam::123456789012:user/bob\n",
    ],
    ids=["no arn", "short account", "markup", "header", "trailing newline"],
)
def test_an_owner_that_is_no_arn_is_a_422_and_the_api_is_asked_nothing(admin: TestClient, api: Api, owner: str) -> None:
    token = csrf_token(admin)
    query = "?owner=" + quote(owner, safe="")

    opened = admin.get(f"/console/tasks/same-1{query}")
    paused = admin.post(f"/console/tasks/same-1/pause{query}", data={"csrf_token": token})
    cancelled = admin.post(f"/console/tasks/same-1/cancel{query}", data={"csrf_token": token})

    for answer in (opened, paused, cancelled):
        assert answer.status_code == 422
        assert "owner: give the task&#39;s owner as an IAM ARN" in answer.text
        assert "<script>alert" not in answer.text
    assert api.calls == []


def test_make_console_names_no_owner_itself_but_passes_on_the_one_a_url_names(api: Api) -> None:
    console = Console(SchedulerApi("http://api.test", transport=httpx.MockTransport(api)))
    with TestClient(create_app(console), base_url="http://127.0.0.1:8001") as client:
        listed = client.get("/console/tasks").text
        api.calls.clear()
        opened = client.get(f"/console/tasks/same-1?{OF_BOB}").text

    assert "owner=" not in listed
    assert {query.get("owner") for _, _, query in api.calls} == {BOB}
    assert f'"/console/tasks/same-1/pause?{OF_BOB}"' in opened
