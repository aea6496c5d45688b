"""`sam local start-api` without Docker: HTTP requests become REST (v1) proxy events for a Lambda entry point.

Each request is translated into the event API Gateway's `ANY /{proxy+}` integration sends (headers and
query strings single- and multi-valued, `pathParameters.proxy`, a string body or base64 for binary,
`requestContext` with request id, stage and source IP) and handed to the function's real
`lambda_handler`; its proxy response (`statusCode`, `headers`, `multiValueHeaders`, `body`,
`isBase64Encoded`) is written back. A handler that raises is answered 502, as API Gateway does.

The function runs on its own thread with its own event loop (Mangum asks for the current thread's
loop), one request at a time, like one Lambda container. Paths under `/_localcloud/` are the local
cloud's own (read-only status, and the files `static` serves: Swagger UI for `/docs`), not the
function's. Other functions can be mounted at a path prefix (`mount`): the console is, at `/console`,
served by its own worker.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import json
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from localcloud.lambda_context import LocalLambdaContext
from localcloud.static_files import StaticFiles
from localcloud.stats import LogSink, log_record, stdout_sink
from localcloud.template import LOCAL_ACCOUNT
from taskcore.clock import utcnow

Handler = Callable[[Any, Any], Any]

LOCAL_PREFIX = "/_localcloud/"
#: Request content types passed as text; anything else (or text that is not UTF-8) is base64, flagged.
_TEXT_TYPES = ("text/", "application/json", "application/x-www-form-urlencoded", "application/xml", "+json", "+xml")


#: The header that names the caller's principal in the local cloud (docs/security.md); never read on AWS.
LOCAL_PRINCIPAL_HEADER = "x-local-principal"


def proxy_event(
    method: str,
    target: str,
    headers: Message | Mapping[str, str],
    body: bytes,
    *,
    source_ip: str = "127.0.0.1",
    stage: str = "local",
    request_id: str | None = None,
) -> dict[str, Any]:
    """The REST v1 proxy event for one HTTP request (`target` is the request line's path and query)."""
    path, _, query = target.partition("?")
    path = path or "/"
    root = path == "/"
    resource = "/" if root else "/{proxy+}"
    multi_query = _multi_valued(parse_qsl(query, keep_blank_values=True))
    multi_headers = _multi_valued(headers.items())
    text, encoded = _event_body(body, _header(multi_headers, "content-type") or "")
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": _single_valued(multi_headers),
        "multiValueHeaders": multi_headers,
        "queryStringParameters": _single_valued(multi_query) or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": None if root else {"proxy": path.lstrip("/")},
        "stageVariables": None,
        "requestContext": _request_context(
            method,
            path,
            resource,
            multi_headers,
            source_ip=source_ip,
            stage=stage,
            request_id=request_id or str(uuid.uuid4()),
        ),
        "body": text,
        "isBase64Encoded": encoded,
    }


def _multi_valued(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Name -> every value, in order (API Gateway's `multiValueHeaders`, `multiValueQueryStringParameters`)."""
    values: dict[str, list[str]] = {}
    for key, value in pairs:
        values.setdefault(key, []).append(value)
    return values


def _single_valued(values: Mapping[str, list[str]]) -> dict[str, str]:
    """Name -> its last value, as API Gateway fills `headers` and `queryStringParameters`."""
    return {key: found[-1] for key, found in values.items()}


def _header(headers: Mapping[str, list[str]], name: str) -> str | None:
    """A header's last value, its name matched without case; None when the request has none."""
    return next((values[-1] for key, values in headers.items() if key.lower() == name), None)


def _is_text(content_type: str) -> bool:
    """Whether a body of this content type is passed as text (a body with no content type is)."""
    lowered = content_type.lower()
    return not content_type or any(marker in lowered for marker in _TEXT_TYPES)


def _event_body(body: bytes, content_type: str) -> tuple[str | None, bool]:
    """The event's `body` and `isBase64Encoded`: UTF-8 text as it is, anything else in base64."""
    if not body:
        return None, False
    if _is_text(content_type):
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass  # declared as text, but not UTF-8: sent as binary
    return base64.b64encode(body).decode("ascii"), True


def _request_context(
    method: str,
    path: str,
    resource: str,
    headers: Mapping[str, list[str]],
    *,
    source_ip: str,
    stage: str,
    request_id: str,
) -> dict[str, Any]:
    """The event's `requestContext`: who asked, when, through which stage and resource."""
    now = utcnow()
    host = _header(headers, "host")
    if host is None:
        host = "127.0.0.1"
    return {
        "resourceId": "local",
        "resourcePath": resource,
        "httpMethod": method,
        "extendedRequestId": request_id,
        "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "path": f"/{stage}{path}",
        "accountId": LOCAL_ACCOUNT,
        "protocol": "HTTP/1.1",
        "stage": stage,
        "domainPrefix": host.split(":")[0].split(".")[0],
        "requestTimeEpoch": int(now.timestamp() * 1000),
        "requestId": request_id,
        "identity": {
            "sourceIp": source_ip,
            "userAgent": _header(headers, "user-agent"),
            "caller": None,
            "user": None,
            # API Gateway puts the SigV4-verified principal here; locally, whoever the request says it is
            # (`X-Local-Principal`), so ownership can be tried without AWS. Only the local cloud reads it.
            "userArn": _header(headers, LOCAL_PRINCIPAL_HEADER),
        },
        "domainName": host,
        "apiId": "local",
    }


class FunctionWorker:
    """One Lambda container for a function: a thread with its own event loop, one invocation at a time."""

    def __init__(self, handler: Handler, *, function_name: str) -> None:
        self._handler = handler
        self._function_name = function_name
        self._jobs: queue.Queue[tuple[Any, concurrent.futures.Future[Any]] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name=f"lambda-{function_name}", daemon=True)
        self._thread.start()

    def invoke(self, event: Any, timeout: float = 60.0) -> Any:
        """Run the handler on `event` (from any thread) and return what it returned, or raise what it raised."""
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._jobs.put((event, future))
        return future.result(timeout=timeout)

    def close(self) -> None:
        """Stop the container after the invocation in progress."""
        self._jobs.put(None)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)  # Mangum uses the current thread's event loop
        try:
            while (job := self._jobs.get()) is not None:
                event, future = job
                if not future.set_running_or_notify_cancel():
                    continue
                try:
                    context = LocalLambdaContext(function_name=self._function_name)
                    future.set_result(self._handler(event, context))
                except BaseException as exc:
                    future.set_exception(exc)
        finally:
            asyncio.set_event_loop(None)
            loop.close()


class ApiServer(ThreadingHTTPServer):
    """The local API Gateway in front of one function."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        worker: FunctionWorker,
        *,
        stage: str = "local",
        log: LogSink | None = stdout_sink,
        after_request: Callable[[str], None] | None = None,
        local_routes: Mapping[str, Callable[[], Any]] | None = None,
        static: Sequence[StaticFiles] = (),
    ) -> None:
        super().__init__(address, _ProxyHandler)
        self.worker = worker
        self.stage = stage
        self.log = log
        self.after_request = after_request
        self.local_routes = dict(local_routes or {})
        self.static = tuple(static)
        self.mounts: dict[str, FunctionWorker] = {}
        self._thread: threading.Thread | None = None

    def mount(self, prefix: str, worker: FunctionWorker) -> None:
        """Serve `prefix` and the paths under it by `worker` instead (no access lines: they would drown the API's)."""
        self.mounts[prefix.rstrip("/")] = worker

    def mounted(self, path: str) -> FunctionWorker | None:
        """The worker mounted at a prefix of `path`, if any."""
        return next((w for p, w in self.mounts.items() if path == p or path.startswith(p + "/")), None)

    @property
    def url(self) -> str:
        """`http://host:port` of the server."""
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> ApiServer:
        """Serve on a background thread."""
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.name = "localcloud-api"
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving, free the port, stop the function's container."""
        if self._thread is not None:
            self.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self.server_close()
        self.worker.close()
        for worker in self.mounts.values():
            worker.close()


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ApiServer

    def _handle(self) -> None:
        started = time.perf_counter()
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        path = self.path.split("?", 1)[0]
        if path.startswith(LOCAL_PREFIX):
            self._local(path)
            return
        event = proxy_event(
            self.command, self.path, self.headers, body, source_ip=self.client_address[0], stage=self.server.stage
        )
        mounted = self.server.mounted(path)
        if mounted is not None:
            self._mounted(mounted, event)
            return
        try:
            response = self.server.worker.invoke(event)
            status = int(response.get("statusCode", 200))
            self._write(status, response)
        except Exception as exc:
            status = 502
            self._write(
                status,
                {"headers": {"content-type": "application/json"}, "body": '{"message": "Internal server error"}'},
            )
            if self.server.log is not None:
                self.server.log(
                    log_record("api", "the function raised", level="ERROR", error=f"{type(exc).__name__}: {exc}")
                )
        if self.server.log is not None:
            self.server.log(
                log_record(
                    "api",
                    f"{self.command} {path} {status}",
                    request_id=event["requestContext"]["requestId"],
                    duration_ms=round((time.perf_counter() - started) * 1000, 1),
                )
            )
        if self.server.after_request is not None and self.command not in ("GET", "HEAD", "OPTIONS"):
            self.server.after_request(path)

    def _mounted(self, worker: FunctionWorker, event: dict[str, Any]) -> None:
        try:
            response = worker.invoke(event)
        except Exception as exc:
            self._write(502, {"headers": {"content-type": "text/plain"}, "body": f"{type(exc).__name__}: {exc}"})
            return
        self._write(int(response.get("statusCode", 200)), response)

    def _local(self, path: str) -> None:
        found = next((f for files in self.server.static if (f := files.find(path)) is not None), None)
        if found is not None and self.command in ("GET", "HEAD"):
            content_type, payload = found
            self._send(200, {"headers": {"content-type": content_type}}, payload)
            return
        route = self.server.local_routes.get(path)
        if route is None or self.command != "GET":
            self._write(404, {"headers": {"content-type": "application/json"}, "body": '{"message": "Not Found"}'})
            return
        self._write(200, {"headers": {"content-type": "application/json"}, "body": json.dumps(route(), default=str)})

    def _write(self, status: int, response: Mapping[str, Any]) -> None:
        raw_body = response.get("body") or ""
        payload = base64.b64decode(raw_body) if response.get("isBase64Encoded") else str(raw_body).encode("utf-8")
        self._send(status, response, payload)

    def _send(self, status: int, response: Mapping[str, Any], payload: bytes) -> None:
        self.send_response(status)
        skip = {"content-length", "connection", "transfer-encoding"}
        for key, value in (response.get("headers") or {}).items():
            if key.lower() not in skip:
                self.send_header(key, str(value))
        for key, values in (response.get("multiValueHeaders") or {}).items():
            if key.lower() not in skip:
                for value in values:
                    self.send_header(key, str(value))
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    # http.server dispatches on `do_<METHOD>`: every method goes to the function, as with `ANY /{proxy+}`.
    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:
        """Access lines are logged as JSON by `_handle`; silence the stderr ones."""


def serve_function(
    handler: Handler,
    *,
    function_name: str,
    host: str = "127.0.0.1",
    port: int = 3000,
    stage: str = "local",
    log: LogSink | None = stdout_sink,
    after_request: Callable[[str], None] | None = None,
    local_routes: Mapping[str, Callable[[], Any]] | None = None,
    static: Sequence[StaticFiles] = (),
) -> ApiServer:
    """Start serving `handler` on `host:port` (0: a free port) in the background; `close()` it when done."""
    worker = FunctionWorker(handler, function_name=function_name)
    try:
        server = ApiServer(
            (host, port),
            worker,
            stage=stage,
            log=log,
            after_request=after_request,
            local_routes=local_routes,
            static=static,
        )
    except BaseException:
        worker.close()
        raise
    return server.start()
