"""The console defends itself: it answers only to its own Host (DNS rebinding), forbids framing (clickjacking), takes
a change only with its per-browser CSRF token, shows only the notices it set, and is not served to the network
unless asked to. Plain HTTP against the ASGI app, and against `make dev` and `make console` for the Host check."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from console import Console, SchedulerApi, create_app
from console import __main__ as make_console
from tests.console.conftest import csrf_token

BASE = "http://127.0.0.1:8001"
TASK = {"task_id": "t-1", "state": "ENABLED", "status": "scheduled", "kind": "recurring", "expression": "rate(1 hour)"}


class Api:
    """A stand-in for the scheduler API that records every change it is asked for."""

    def __init__(self) -> None:
        self.changes: list[tuple[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method != "GET":
            self.changes.append((request.method, path))
        if path == "/openapi.json":
            return httpx.Response(200, json={"components": {"schemas": {"ActionData.noop": {"properties": {}}}}})
        if path == "/api/v1/schedules":
            return httpx.Response(200, json={"items": [TASK], "cursor": None})
        if path.startswith("/api/v1/schedules/t-1"):
            return httpx.Response(200, json=TASK)
        return httpx.Response(404, json={"detail": f"no endpoint at {path}"})


@pytest.fixture
def api() -> Api:
    return Api()


@pytest.fixture
def client(api: Api) -> Iterator[TestClient]:
    console = Console(SchedulerApi("http://api.test", transport=httpx.MockTransport(api)), where="guard test")
    with TestClient(create_app(console), base_url=BASE) as running:
        yield running


# -- DNS rebinding ----------------------------------------------------------------------------------------------


def test_a_request_naming_another_host_is_refused_as_misdirected(client: TestClient, api: Api) -> None:
    token = csrf_token(client)

    read = client.get("/console/tasks", headers={"host": "evil.example"})
    change = client.post("/console/tasks/t-1/pause", data={"csrf_token": token}, headers={"host": "evil.example:8001"})

    assert read.status_code == 421
    assert "evil.example" not in read.text  # says what it serves, not what it was sent
    assert "t-1" not in read.text
    assert change.status_code == 421
    assert api.changes == []


@pytest.mark.integration
def test_make_dev_and_make_console_refuse_a_rebound_host_and_serve_their_own(api: Api) -> None:
    from console.local import LocalConsole
    from localcloud.cloud import CloudOptions, LocalCloud

    with LocalCloud(CloudOptions(port=0, api_only=True), log=lambda line: None, console=LocalConsole) as cloud:
        dev_evil = httpx.get(f"{cloud.api_url}/console/tasks", headers={"host": "evil.example"}, timeout=10)
        dev_own = httpx.get(f"{cloud.api_url}/console/tasks", timeout=10)
    setup = make_console.Setup(
        Console(SchedulerApi("http://api.test", transport=httpx.MockTransport(api))),
        "http://api.test",
        "eu-west-1",
        "AKID",
    )
    server = make_console.serve(setup, "127.0.0.1", 0)
    try:
        console_evil = httpx.get(f"{server.url}/console/tasks", headers={"host": "evil.example"}, timeout=10)
        console_own = httpx.get(f"{server.url}/console/tasks", timeout=10)
        other_port = httpx.get(f"{server.url}/console/tasks", headers={"host": "127.0.0.1:1"}, timeout=10)
    finally:
        server.close()

    assert (dev_evil.status_code, dev_own.status_code) == (421, 200)
    assert (console_evil.status_code, console_own.status_code, other_port.status_code) == (421, 200, 421)


# -- clickjacking ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/console/tasks"),
        ("GET", "/console/tasks/t-1"),
        ("GET", "/console/static/console.css"),
        ("GET", "/console/static/vendor/htmx/htmx.min.js"),
        ("GET", "/console/no-such-page"),
        ("GET", "/console"),
        ("POST", "/console/tasks/t-1/pause"),  # refused: no token
    ],
)
def test_every_response_forbids_framing_and_allows_only_the_consoles_own_scripts(
    client: TestClient, method: str, path: str
) -> None:
    answer = client.request(method, path, follow_redirects=False)

    policy = answer.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_a_misdirected_request_forbids_framing_too(client: TestClient) -> None:
    answer = client.get("/console/tasks", headers={"host": "evil.example"})

    assert answer.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]


# -- CSRF --------------------------------------------------------------------------------------------------------


def test_a_change_without_the_consoles_token_is_refused_and_says_why(client: TestClient, api: Api) -> None:
    client.get("/console/tasks")  # the browser has its cookie, but the post carries no token

    answer = client.post("/console/tasks/t-1/pause")

    assert answer.status_code == 403
    assert "CSRF token" in answer.text
    assert "Reload the console's page" in answer.text
    assert api.changes == []


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "null"},
        {"origin": "https://evil.example"},
        {"origin": "http://127.0.0.1:9999"},
        {"sec-fetch-site": "none"},
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site"},
    ],
)
def test_a_change_from_anywhere_but_the_consoles_own_pages_is_refused_even_with_a_token(
    client: TestClient, api: Api, headers: dict[str, str]
) -> None:
    token = csrf_token(client)

    answer = client.post("/console/tasks/t-1/pause", data={"csrf_token": token}, headers=headers)

    assert answer.status_code == 403
    assert api.changes == []


def test_a_token_is_good_only_for_the_browser_it_was_given_to(client: TestClient, api: Api) -> None:
    token = csrf_token(client)
    client.cookies.clear()

    answer = client.post("/console/tasks/t-1/pause", data={"csrf_token": token})

    assert answer.status_code == 403
    assert api.changes == []


def test_the_consoles_own_form_and_htmx_posts_carry_the_token_and_are_accepted(client: TestClient, api: Api) -> None:
    token = csrf_token(client)

    form = client.post(
        "/console/tasks/t-1/pause",
        data={"csrf_token": token},
        headers={"origin": BASE, "sec-fetch-site": "same-origin"},
        follow_redirects=False,
    )
    htmx = client.post("/console/tasks/t-1/resume", headers={"x-csrf-token": token, "hx-request": "true"})

    assert form.status_code == 303
    assert htmx.status_code == 200
    assert api.changes == [("POST", "/api/v1/schedules/t-1/pause"), ("POST", "/api/v1/schedules/t-1/resume")]


@pytest.mark.parametrize(
    "path",
    ["/console/tasks/t-1", "/console/create", "/console/tasks/t-1/cancel", "/console/dead-letters/confirm?op=replay"],
)
def test_every_form_that_changes_something_carries_the_token_and_htmx_sends_it_as_a_header(
    client: TestClient, path: str
) -> None:
    page = client.get(path).text
    token = csrf_token(client)

    forms = page.split('method="post"')[1:]
    assert forms
    assert all(f'name="csrf_token" value="{token}"' in form.split("</form>", 1)[0] for form in forms)
    assert f'hx-headers=\'{{"X-CSRF-Token": "{token}"}}\'' in page


def test_a_form_that_is_not_utf8_is_a_400_and_changes_nothing(client: TestClient, api: Api) -> None:
    token = csrf_token(client)

    answer = client.post(
        "/console/create",
        content=b"action=noop&task_id=caf\xe9",
        headers={"content-type": "application/x-www-form-urlencoded", "x-csrf-token": token},
    )
    in_the_form = client.post(
        "/console/create",
        content=b"csrf_token=" + token.encode() + b"&task_id=caf\xe9",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )

    assert answer.status_code == 400
    assert "UTF-8" in answer.text
    assert in_the_form.status_code == 400
    assert api.changes == []


# -- notices -----------------------------------------------------------------------------------------------------


def test_a_notice_chosen_by_a_link_is_not_shown(client: TestClient) -> None:
    page = client.get("/console/tasks", params={"notice": "Your session expired: call +1 555 0100"}).text

    assert "555 0100" not in page
    assert 'class="notice"' not in page


def test_a_notice_the_console_set_is_shown_once_it_redirects_there(client: TestClient) -> None:
    token = csrf_token(client)

    answer = client.post("/console/tasks/t-1/pause", data={"csrf_token": token}, follow_redirects=False)
    shown = client.get(answer.headers["location"]).text
    forged = client.get("/console/tasks/t-1", params={"notice": "cancelled task t-1"}).text

    assert answer.headers["location"] == "/console/tasks/t-1?notice=paused"
    assert '<p class="notice" role="status">paused</p>' in shown
    assert "cancelled task t-1" not in forged


# -- make console on the network ---------------------------------------------------------------------------------


class FakeServer:
    def __init__(self, host: str, port: int) -> None:
        self.url = f"http://{host}:{port}"

    def close(self) -> None:
        """Nothing to stop."""


@pytest.fixture
def no_binding(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """make console's setup and server replaced: what it would serve on, recorded, nothing bound."""
    hosts: list[str] = []

    def build(args: Any, session: Any = None) -> make_console.Setup:
        return make_console.Setup(Console(SchedulerApi("http://api.test")), "http://api.test", "eu-west-1", "AKIDNET")

    def serve(setup: make_console.Setup, host: str, port: int) -> FakeServer:
        hosts.append(host)
        return FakeServer(host, 8001)

    monkeypatch.setattr(make_console, "build", build)
    monkeypatch.setattr(make_console, "serve", serve)
    return hosts


def run_make_console(argv: list[str]) -> int:
    stop = threading.Event()
    stop.set()  # serve, print, and stop at once
    return make_console.main(argv, stop=stop)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "::", "example.com"])  # noqa: S104 - refused here
def test_make_console_refuses_to_serve_anywhere_but_loopback_unless_told(
    no_binding: list[str], capsys: pytest.CaptureFixture[str], host: str
) -> None:
    code = run_make_console(["--api-url", "http://api.test", "--host", host])

    assert code == 2
    assert no_binding == []
    err = capsys.readouterr().err
    assert f"refusing to serve the console on {host}" in err
    assert "--allow-remote-host" in err


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_make_console_serves_on_any_loopback_address_without_a_warning(
    no_binding: list[str], capsys: pytest.CaptureFixture[str], host: str
) -> None:
    assert run_make_console(["--api-url", "http://api.test", "--host", host]) == 0
    assert no_binding == [host]
    assert "warning" not in capsys.readouterr().err


def test_make_console_serves_on_the_network_only_when_allowed_and_warns(
    no_binding: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_make_console(["--api-url", "http://api.test", "--host", "0.0.0.0", "--allow-remote-host"])  # noqa: S104

    assert code == 0
    assert no_binding == ["0.0.0.0"]  # noqa: S104
    err = capsys.readouterr().err
    assert "warning:" in err
    assert "no authentication" in err
    assert "your AWS credentials" in err
