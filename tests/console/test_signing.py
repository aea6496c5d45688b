"""`make console` signs every API request (SigV4, execute-api): a local endpoint that recomputes each request's
signature with the same credentials, as API Gateway's IAM authorization does, lets the console through and
refuses a console signing with the wrong secret."""

from __future__ import annotations

import hmac
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from fastapi.testclient import TestClient

from console import Console, SchedulerApi, create_app
from console.signing import SigV4, region_of
from tests.console.conftest import csrf_token

pytestmark = pytest.mark.integration

ACCESS_KEY, SECRET, REGION = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "eu-west-1"
_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request, "
    r"SignedHeaders=(?P<headers>[^,]+), Signature=(?P<signature>[0-9a-f]{64})$"
)


class VerifyingEndpoint(ThreadingHTTPServer):
    """Answers like the deployed API, but only to requests whose SigV4 signature it can recompute."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Verifier)
        self.accepted: list[tuple[str, str, bytes]] = []
        self.refused: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def verify(self, method: str, path: str, headers: Any, body: bytes) -> str | None:
        """None when the signature is right, else why not."""
        match = _AUTHORIZATION.match(headers.get("authorization", ""))
        if match is None:
            return "Missing Authentication Token"
        if (match["key"], match["region"], match["service"]) != (ACCESS_KEY, REGION, "execute-api"):
            return f"wrong credential scope {match['key']}/{match['region']}/{match['service']}"
        signed = {name: headers[name] for name in match["headers"].split(";")}
        request = AWSRequest(method=method, url=f"http://{headers['host']}{path}", data=body, headers=signed)
        request.context["timestamp"] = headers["x-amz-date"]
        auth = SigV4Auth(Credentials(ACCESS_KEY, SECRET), "execute-api", REGION)
        expected = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)
        if not hmac.compare_digest(expected, match["signature"]):
            return "The request signature we calculated does not match the signature you provided."
        return None


class _Verifier(BaseHTTPRequestHandler):
    server: VerifyingEndpoint

    def _handle(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        refusal = self.server.verify(self.command, self.path, self.headers, body)
        if refusal is not None:
            self.server.refused.append(refusal)
            self._answer(403, {"message": refusal})
            return
        self.server.accepted.append((self.command, self.path, body))
        path = self.path.split("?", 1)[0].removeprefix("/v1")
        if path == "/api/v1/schedules" and self.command == "GET":
            self._answer(
                200, {"items": [{"task_id": "signed-1", "state": "ENABLED", "kind": "one-time"}], "cursor": None}
            )
        elif path == "/api/v1/schedules" and self.command == "POST":
            self._answer(201, {"task_id": json.loads(body)["task_id"]})
        elif path == "/openapi.json":
            self._answer(200, {"components": {"schemas": {"ActionData.noop": {"properties": {}}}}})
        else:
            self._answer(404, {"detail": f"no endpoint at {path}"})

    do_GET = do_POST = _handle  # noqa: N815

    def _answer(self, status: int, payload: Any) -> None:
        raw = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def endpoint() -> Iterator[VerifyingEndpoint]:
    server = VerifyingEndpoint()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def console_for(endpoint: VerifyingEndpoint, secret: str) -> TestClient:
    api = SchedulerApi(endpoint.url, auth=SigV4(Credentials(ACCESS_KEY, secret), REGION))
    return TestClient(create_app(Console(api, where="stack test")), base_url="http://127.0.0.1:8001")


def test_the_console_signs_reads_and_writes_so_that_the_endpoint_recomputes_the_same_signature(
    endpoint: VerifyingEndpoint,
) -> None:
    with console_for(endpoint, SECRET) as client:
        listed = client.get("/console/tasks")
        token = csrf_token(client)
        created = client.post(
            "/console/create",
            data={
                "action": "noop",
                "task_id": "signed-2",
                "user_id": "1",
                "timing": "delay",
                "delay_amount": "30",
                "csrf_token": token,
            },
            follow_redirects=False,
        )

    assert listed.status_code == 200
    assert "signed-1" in listed.text
    assert created.status_code == 303
    assert created.headers["location"] == "/console/tasks/signed-2?notice=created+task+signed-2"
    assert endpoint.refused == []
    posted = [body for method, _, body in endpoint.accepted if method == "POST"]
    assert [json.loads(body)["delay_seconds"] for body in posted] == [30]  # the body is under the signature too


def test_a_console_signing_with_the_wrong_secret_is_refused_and_says_so(endpoint: VerifyingEndpoint) -> None:
    with console_for(endpoint, "not-the-secret") as client:
        listed = client.get("/console/tasks")

    assert endpoint.accepted == []
    assert endpoint.refused
    assert set(endpoint.refused) == {"The request signature we calculated does not match the signature you provided."}
    assert "The API answered 403: The request signature we calculated does not match" in listed.text


def test_the_region_comes_from_the_execute_api_url_or_else_must_be_given() -> None:
    assert region_of("https://a1b2c3.execute-api.ap-northeast-2.amazonaws.com/v1", None) == "ap-northeast-2"
    assert region_of("http://127.0.0.1:9/v1", "eu-west-1") == "eu-west-1"
    with pytest.raises(ValueError, match="give --region"):
        region_of("http://127.0.0.1:9/v1", None)
