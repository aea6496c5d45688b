"""Acting as a principal (make dev only) over HTTP against the ASGI app: the choice is kept for this browser, every
API call carries it in the local cloud's header, an administrator is named as one, and the way back stays inside
the console."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from console import Console, SchedulerApi, create_app
from console.local import local_act_as
from tests.console.conftest import csrf_token

ALICE = "arn:aws:iam::123456789012:user/alice"
OPERATOR = "arn:aws:iam::123456789012:role/ops/operator"


class Api:
    """Records the principal header of every call."""

    def __init__(self) -> None:
        self.principals: list[str | None] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.principals.append(request.headers.get("x-local-principal"))
        if request.url.path == "/openapi.json":
            return httpx.Response(200, json={"components": {"schemas": {}}})
        return httpx.Response(200, json={"items": [], "cursor": None})


@pytest.fixture
def api() -> Api:
    return Api()


@pytest.fixture
def client(api: Api) -> Iterator[TestClient]:
    act_as = local_act_as({"TASK_ISOLATION": "owner", "ADMIN_PRINCIPALS": f" {OPERATOR} ,"})
    console = Console(SchedulerApi("http://api.test", transport=httpx.MockTransport(api)), act_as=act_as)
    with TestClient(create_app(console), base_url="http://127.0.0.1:3000") as running:
        yield running


def choose(client: TestClient, principal: str, back: str = "/console/tasks") -> httpx.Response:
    token = csrf_token(client)
    answer: httpx.Response = client.post(
        "/console/act-as", data={"principal": principal, "back": back, "csrf_token": token}, follow_redirects=False
    )
    return answer


def test_the_chosen_principal_goes_with_every_api_call_of_this_browser_only(client: TestClient, api: Api) -> None:
    chosen = choose(client, ALICE)
    api.principals.clear()
    page = client.get("/console/tasks").text

    assert chosen.status_code == 303
    assert chosen.headers["location"] == "/console/tasks"
    assert set(api.principals) == {ALICE}
    assert f"acting as <code>{ALICE}</code>" in page
    assert "Isolation=owner" in page

    api.principals.clear()
    client.cookies.clear()
    client.get("/console/tasks")
    assert set(api.principals) == {None}


def test_an_administrator_from_admin_principals_is_offered_and_named(client: TestClient) -> None:
    offered = client.get("/console/tasks").text
    choose(client, OPERATOR)
    page = client.get("/console/tasks").text

    assert f'<option value="{OPERATOR}" label="administrator">' in offered
    assert "(administrator: sees every task)" in page


def test_nothing_chosen_acts_as_no_principal_again(client: TestClient, api: Api) -> None:
    choose(client, ALICE)
    choose(client, "")
    api.principals.clear()
    page = client.get("/console/tasks").text

    assert set(api.principals) == {None}
    assert "acting as no principal" in page


def test_a_principal_that_is_no_arn_is_refused_and_nothing_changes(client: TestClient, api: Api) -> None:
    choose(client, ALICE)
    refused = choose(client, "arn:aws:iam::123456789012:user/alice\r\nx-admin: yes")
    api.principals.clear()
    client.get("/console/tasks")

    assert refused.status_code == 200
    assert "give an IAM ARN" in refused.text
    assert 'aria-invalid="true"' in refused.text
    assert set(api.principals) == {ALICE}


@pytest.mark.parametrize(
    ("back", "location"),
    [
        ("/console/tasks/t-1?q=x", "/console/tasks/t-1?q=x"),
        ("https://evil.example/", "/console/tasks"),
        ("//evil.example/console/", "/console/tasks"),
        ("/console//evil.example", "/console/tasks"),
        ("/console/act-as", "/console/tasks"),
    ],
)
def test_the_way_back_stays_inside_the_console(client: TestClient, back: str, location: str) -> None:
    assert choose(client, ALICE, back).headers["location"] == location


def test_without_make_dev_there_is_no_one_to_act_as() -> None:
    console = Console(SchedulerApi("http://api.test", transport=httpx.MockTransport(Api())))
    with TestClient(create_app(console), base_url="http://127.0.0.1:8001") as client:
        answer = choose(client, ALICE)

    assert answer.status_code == 404
    assert "offered only by" in answer.text
    assert "console_principal" not in answer.headers.get("set-cookie", "")


def test_a_principal_cookie_with_a_line_break_after_the_arn_acts_as_no_principal(client: TestClient, api: Api) -> None:
    client.cookies.set("console_principal", ALICE + "%0A", path="/console")
    page = client.get("/console/tasks")

    assert page.status_code == 200
    assert set(api.principals) == {None}
    assert "acting as no principal" in page.text
