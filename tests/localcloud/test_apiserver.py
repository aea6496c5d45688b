"""The local API Gateway: HTTP requests in, REST v1 proxy events to the handler, proxy responses back out."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from localcloud.apiserver import ApiServer, proxy_event, serve_function
from localcloud.static_files import SWAGGER_UI_DIR, SWAGGER_UI_PATH, swagger_ui


def test_proxy_event_has_what_mangum_and_api_gateway_put_in_it() -> None:
    event = proxy_event(
        "POST",
        "/api/v1/schedules?state=ENABLED&tag=a&tag=b",
        {"Content-Type": "application/json", "Host": "127.0.0.1:3000", "User-Agent": "curl/8"},
        b'{"task_id": "t-1"}',
        source_ip="127.0.0.9",
        stage="v1",
        request_id="req-1",
    )

    assert event["resource"] == "/{proxy+}"
    assert event["path"] == "/api/v1/schedules"
    assert event["httpMethod"] == "POST"
    assert event["pathParameters"] == {"proxy": "api/v1/schedules"}
    assert event["queryStringParameters"] == {"state": "ENABLED", "tag": "b"}
    assert event["multiValueQueryStringParameters"] == {"state": ["ENABLED"], "tag": ["a", "b"]}
    assert event["headers"]["Content-Type"] == "application/json"
    assert event["multiValueHeaders"]["Content-Type"] == ["application/json"]
    assert event["body"] == '{"task_id": "t-1"}'
    assert event["isBase64Encoded"] is False
    assert_the_request_context_names_the_request_the_stage_and_the_caller(event["requestContext"])


def assert_the_request_context_names_the_request_the_stage_and_the_caller(context: dict[str, Any]) -> None:
    assert (context["requestId"], context["stage"], context["identity"]["sourceIp"]) == ("req-1", "v1", "127.0.0.9")
    assert (context["httpMethod"], context["resourcePath"], context["path"]) == (
        "POST",
        "/{proxy+}",
        "/v1/api/v1/schedules",
    )


def test_proxy_event_for_the_root_and_without_a_body() -> None:
    event = proxy_event("GET", "/", {}, b"")

    assert (event["resource"], event["path"], event["pathParameters"]) == ("/", "/", None)
    assert event["body"] is None
    assert event["queryStringParameters"] is None


def test_the_local_cloud_takes_the_callers_principal_from_its_own_header() -> None:
    # On AWS, API Gateway's IAM authorization writes userArn; locally `X-Local-Principal` stands in for it.
    acting = proxy_event("GET", "/api/v1/schedules", {"X-Local-Principal": "arn:aws:iam::123456789012:user/a"}, b"")
    anonymous = proxy_event("GET", "/api/v1/schedules", {}, b"")

    assert acting["requestContext"]["identity"]["userArn"] == "arn:aws:iam::123456789012:user/a"
    assert anonymous["requestContext"]["identity"]["userArn"] is None


def test_binary_body_is_base64_encoded_and_flagged() -> None:
    payload = bytes(range(256))
    event = proxy_event("PUT", "/upload", {"Content-Type": "application/octet-stream"}, payload)

    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == payload


class Recorder:
    """A stand-in Lambda handler that records events and answers what the test sets."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.response: dict[str, Any] | Exception = {"statusCode": 200, "headers": {}, "body": ""}

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.events.append(event)
        if isinstance(self.response, Exception):
            raise self.response
        return self.response


@pytest.fixture
def served() -> Iterator[tuple[ApiServer, Recorder, list[str]]]:
    handler = Recorder()
    changed: list[str] = []
    server = serve_function(
        handler,
        function_name="Stub",
        port=0,
        log=None,
        after_request=changed.append,
        local_routes={"/_localcloud/stats": lambda: {"ok": 1}},
        static=[swagger_ui()],
    )
    yield server, handler, changed
    server.close()


def test_request_reaches_the_handler_as_a_proxy_event_and_its_response_is_written_back(
    served: tuple[ApiServer, Recorder, list[str]],
) -> None:
    server, handler, changed = served
    handler.response = {
        "statusCode": 201,
        "headers": {"content-type": "application/json", "x-one": "1"},
        "multiValueHeaders": {"set-cookie": ["a=1", "b=2"]},
        "body": json.dumps({"created": True}),
        "isBase64Encoded": False,
    }

    response = httpx.post(f"{server.url}/api/v1/schedules?x=1", json={"task_id": "t-1"})

    assert response.status_code == 201
    assert response.json() == {"created": True}
    assert response.headers["x-one"] == "1"
    assert response.headers.get_list("set-cookie") == ["a=1", "b=2"]
    (event,) = handler.events
    assert json.loads(event["body"]) == {"task_id": "t-1"}
    assert event["queryStringParameters"] == {"x": "1"}
    assert event["requestContext"]["identity"]["sourceIp"] == "127.0.0.1"
    # A write: the dispatcher is told to look again, once the response is on its way (so: soon after it).
    deadline = time.monotonic() + 5
    while not changed and time.monotonic() < deadline:
        time.sleep(0.01)
    assert changed == ["/api/v1/schedules"]


def test_base64_response_body_is_decoded(served: tuple[ApiServer, Recorder, list[str]]) -> None:
    server, handler, _ = served
    handler.response = {
        "statusCode": 200,
        "headers": {},
        "body": base64.b64encode(b"\x00\xff").decode(),
        "isBase64Encoded": True,
    }

    assert httpx.get(f"{server.url}/file").content == b"\x00\xff"


def test_handler_that_raises_is_answered_502_like_api_gateway(served: tuple[ApiServer, Recorder, list[str]]) -> None:
    server, handler, _ = served
    handler.response = RuntimeError("boom")

    response = httpx.get(f"{server.url}/anything")

    assert response.status_code == 502
    assert response.json() == {"message": "Internal server error"}


def test_local_routes_are_not_sent_to_the_function(served: tuple[ApiServer, Recorder, list[str]]) -> None:
    server, handler, changed = served

    assert httpx.get(f"{server.url}/_localcloud/stats").json() == {"ok": 1}
    assert httpx.get(f"{server.url}/_localcloud/nothing").status_code == 404
    assert handler.events == []
    assert changed == []


def test_the_vendored_swagger_ui_files_are_served_with_their_types_and_nothing_else_is(
    served: tuple[ApiServer, Recorder, list[str]],
) -> None:
    server, handler, _ = served

    script = httpx.get(f"{server.url}{SWAGGER_UI_PATH}/swagger-ui-bundle.js")
    style = httpx.get(f"{server.url}{SWAGGER_UI_PATH}/swagger-ui.css")
    icon = httpx.head(f"{server.url}{SWAGGER_UI_PATH}/favicon-32x32.png")

    assert script.status_code == 200
    assert script.content == (SWAGGER_UI_DIR / "swagger-ui-bundle.js").read_bytes()
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert style.headers["content-type"] == "text/css; charset=utf-8"
    assert (icon.status_code, icon.headers["content-type"], icon.content) == (200, "image/png", b"")
    for path in ("/missing.js", "/../apiserver.py", "/%2e%2e/apiserver.py", "/", ""):
        assert httpx.get(f"{server.url}{SWAGGER_UI_PATH}{path}").status_code == 404, path
    assert httpx.post(f"{server.url}{SWAGGER_UI_PATH}/swagger-ui.css").status_code == 404
    assert handler.events == []


def test_closing_frees_the_port() -> None:
    server = serve_function(Recorder(), function_name="Stub", port=0, log=None)
    host, port = server.server_address[:2]
    server.close()

    again = serve_function(Recorder(), function_name="Stub", host=str(host), port=port, log=None)
    again.close()
