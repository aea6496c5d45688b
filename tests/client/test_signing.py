"""The client signs every request (SigV4, execute-api) so that API Gateway's IAM authorization would let it through:
a local endpoint recomputes each request's signature with the same credentials (as tests/console/test_signing.py
does for the console) and forwards only the requests it verifies to `make dev`'s API; a wrong secret is refused.
Which URLs are signed, and for which region, is decided without any request."""

from __future__ import annotations

import hmac
import os
import re
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from taskclient import AccessDenied, NewTask, TaskClient
from taskclient.signing import region_in_url, should_sign
from tests.client.helpers import MakeClient

pytestmark = pytest.mark.integration

ACCESS_KEY, SECRET, TOKEN, REGION = (
    "AKIDEXAMPLE",
    "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    "session-token",
    "eu-west-1",
)
_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request, "
    r"SignedHeaders=(?P<headers>[^,]+), Signature=(?P<signature>[0-9a-f]{64})$"
)


class VerifyingGateway(ThreadingHTTPServer):
    """API Gateway's IAM authorization in front of the API: a request whose signature it recomputes goes through."""

    daemon_threads = True

    def __init__(self, upstream: str) -> None:
        super().__init__(("127.0.0.1", 0), _Gateway)
        self.upstream = upstream
        self.accepted: list[tuple[str, str]] = []
        self.refused: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def verify(self, method: str, path: str, headers: Any, body: bytes) -> str | None:
        """None when the signature is right, else API Gateway's message for why not."""
        match = _AUTHORIZATION.match(headers.get("authorization", ""))
        if match is None:
            return "Missing Authentication Token"
        if (match["key"], match["region"], match["service"]) != (ACCESS_KEY, REGION, "execute-api"):
            return f"wrong credential scope {match['key']}/{match['region']}/{match['service']}"
        signed_names = match["headers"].split(";")
        if "x-amz-security-token" not in signed_names:
            return "The security token included in the request is invalid"
        signed = {name: headers[name] for name in signed_names}
        request = AWSRequest(method=method, url=f"http://{headers['host']}{path}", data=body, headers=signed)
        request.context["timestamp"] = headers["x-amz-date"]
        auth = SigV4Auth(Credentials(ACCESS_KEY, SECRET, TOKEN), "execute-api", REGION)
        expected = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)
        if not hmac.compare_digest(expected, match["signature"]):
            return "The request signature we calculated does not match the signature you provided."
        return None


class _Gateway(BaseHTTPRequestHandler):
    server: VerifyingGateway

    def _handle(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        refusal = self.server.verify(self.command, self.path, self.headers, body)
        if refusal is not None:
            self.server.refused.append(refusal)
            self._answer(403, b'{"message": "%s"}' % refusal.encode(), "application/json")
            return
        self.server.accepted.append((self.command, self.path))
        forwarded = httpx.request(
            self.command,
            self.server.upstream + self.path.removeprefix("/v1"),
            content=body,
            headers={"content-type": self.headers.get("content-type", "application/json")},
            timeout=30,
        )
        self._answer(forwarded.status_code, forwarded.content, forwarded.headers.get("content-type", ""))

    do_GET = do_POST = do_PATCH = do_DELETE = _handle  # noqa: N815

    def _answer(self, status: int, raw: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def gateway(api_url: str) -> Iterator[VerifyingGateway]:
    server = VerifyingGateway(api_url)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_every_method_is_signed_so_that_the_gateway_recomputes_the_same_signature(
    make_client: MakeClient, gateway: VerifyingGateway
) -> None:
    tasks = make_client(url=gateway.url, sign=True, region=REGION, credentials=Credentials(ACCESS_KEY, SECRET, TOKEN))
    task_id = f"signed-{uuid.uuid4().hex[:8]}"

    tasks.schedule("send_notification", user_id=1, task_id=task_id, delay=600, data={"message": "é ✓"})
    tasks.schedule_many([NewTask.of("send_notification", user_id=1, task_id=f"{task_id}-b", delay=600)])
    assert tasks.get(task_id).data == {"message": "é ✓"}
    assert [t.task_id for t in tasks.list(prefix=task_id, status="scheduled", page_size=1)] != []
    assert tasks.runs(task_id, page_size=5) == []
    tasks.pause(task_id)
    tasks.resume(task_id)
    tasks.reschedule(task_id, rate="rate(1 hour)", timezone="Asia/Seoul")
    tasks.update_data(task_id, {"message": None})
    tasks.cancel(task_id)
    assert tasks.health().status == "ok"

    assert gateway.refused == []
    methods = {method for method, _ in gateway.accepted}
    assert methods == {"GET", "POST", "PATCH", "DELETE"}
    assert any("?" in path for _, path in gateway.accepted)  # query strings are under the signature too


def test_a_client_signing_with_the_wrong_secret_is_refused_as_access_denied(
    make_client: MakeClient, gateway: VerifyingGateway
) -> None:
    tasks = make_client(url=gateway.url, sign=True, region=REGION, credentials=Credentials(ACCESS_KEY, "wrong", TOKEN))

    with pytest.raises(AccessDenied) as raised:
        tasks.get("anything")

    assert raised.value.status == 403
    assert raised.value.message == "The request signature we calculated does not match the signature you provided."
    assert gateway.accepted == []
    assert len(gateway.refused) == 1  # not retried


def test_an_unsigned_request_to_the_gateway_is_refused(make_client: MakeClient, gateway: VerifyingGateway) -> None:
    tasks = make_client(url=gateway.url)  # loopback: not signed unless asked

    with pytest.raises(AccessDenied, match="Missing Authentication Token"):
        tasks.health()


def captured(url: str, **options: Any) -> httpx.Request:
    """The request a sync client sends for `health()` to `url` (answered in memory: nothing leaves the process)."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"status": "ok", "service": "x", "actions": []})

    with TaskClient(url, transport=httpx.MockTransport(answer), **options) as client:
        client.health()
    return seen[0]


def test_an_execute_api_url_is_signed_for_the_region_it_names_with_the_default_credentials() -> None:
    request = captured("https://abc123.execute-api.ap-northeast-2.amazonaws.com/v1")

    authorization = request.headers["authorization"]
    assert "/ap-northeast-2/execute-api/aws4_request" in authorization
    assert f"Credential={os.environ['AWS_ACCESS_KEY_ID']}/" in authorization
    assert request.url.path == "/v1/health"
    assert "x-amz-security-token" in request.headers  # the environment's (moto's) session token


def test_loopback_is_not_signed_and_sign_true_signs_any_host_for_the_given_region() -> None:
    assert "authorization" not in captured("http://127.0.0.1:3000").headers
    assert "authorization" not in captured("http://localhost:3000").headers
    custom = captured("https://tasks.example.com/v1", sign=True, region="eu-central-1")
    assert "/eu-central-1/execute-api/" in custom.headers["authorization"]
    unsigned = captured("https://abc123.execute-api.us-east-1.amazonaws.com/v1", sign=False)
    assert "authorization" not in unsigned.headers


def test_the_region_comes_from_the_url_else_from_the_argument_else_from_the_aws_configuration(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert region_in_url("https://a1.execute-api.us-gov-west-1.amazonaws.com/v1") == "us-gov-west-1"
    assert region_in_url("https://a1.execute-api.cn-north-1.amazonaws.com.cn/v1") == "cn-north-1"
    assert region_in_url("https://a1-vpce-0ab.execute-api.eu-west-1.vpce.amazonaws.com/v1") == "eu-west-1"
    assert region_in_url("https://execute-api.example.com/v1") is None
    assert should_sign("https://a1.execute-api.eu-west-1.amazonaws.com/v1", None)
    assert not should_sign("http://127.0.0.1:3000", None)

    monkeypatch.setenv("AWS_DEFAULT_REGION", "sa-east-1")
    assert "/sa-east-1/" in captured("https://tasks.example.com", sign=True).headers["authorization"]
    with pytest.raises(ValueError, match="differs from the region in"):
        TaskClient("https://a1.execute-api.eu-west-1.amazonaws.com/v1", region="us-east-1")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    with pytest.raises(ValueError, match=r"cannot tell the region to sign https://tasks.example.com for: pass region="):
        TaskClient("https://tasks.example.com", sign=True)


def test_signing_without_any_credentials_is_refused_with_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    with pytest.raises(ValueError, match="no AWS credentials found to sign with"):
        TaskClient("https://a1.execute-api.eu-west-1.amazonaws.com/v1")
