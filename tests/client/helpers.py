"""Client test helpers: one test body for both twins (`Both`), and a transport that breaks the network on purpose."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from localcloud.cloud import LocalCloud
from taskclient import AsyncTaskClient, TaskClient


@dataclass
class Fault:
    """What to do to the next `times` requests that match `method` and `path` (a prefix of the URL's path)."""

    method: str
    path: str
    times: int
    #: "answer": answer `status` without reaching the API; "drop": reach the API, then lose its answer.
    kind: str
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None

    def matches(self, request: httpx.Request) -> bool:
        return self.times > 0 and request.method == self.method and request.url.path.startswith(self.path)

    def answer(self, request: httpx.Request) -> httpx.Response:
        content = self.body if isinstance(self.body, bytes) else json.dumps(self.body).encode()
        return httpx.Response(
            self.status, headers={"content-type": "application/json", **self.headers}, content=content, request=request
        )


class Faults(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Forwards to the real transport, except the requests a planned fault matches; records what happened."""

    def __init__(self) -> None:
        self.plan: list[Fault] = []
        #: (method, path, what happened): "api 201", "injected 503", "dropped after api 201".
        self.log: list[tuple[str, str, str]] = []
        self._sync = httpx.HTTPTransport()
        self._async = httpx.AsyncHTTPTransport()

    def answer(self, method: str, path: str, status: int, *, times: int = 1, body: Any = None, **headers: str) -> None:
        """Answer the next `times` matching requests with `status` (and `headers`, e.g. retry_after="7")."""
        named = {name.replace("_", "-"): value for name, value in headers.items()}
        self.plan.append(Fault(method, path, times, "answer", status, named, body or {"detail": f"injected {status}"}))

    def drop_after_sending(self, method: str, path: str, *, times: int = 1) -> None:
        """Let the next `times` matching requests reach the API, then drop the connection before its answer."""
        self.plan.append(Fault(method, path, times, "drop"))

    def _fault(self, request: httpx.Request) -> Fault | None:
        found = next((fault for fault in self.plan if fault.matches(request)), None)
        if found is not None:
            found.times -= 1
        return found

    def _note(self, request: httpx.Request, what: str) -> None:
        self.log.append((request.method, request.url.path, what))

    def _dropped(self, request: httpx.Request, response: httpx.Response) -> httpx.RemoteProtocolError:
        self._note(request, f"dropped after api {response.status_code}")
        return httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        fault = self._fault(request)
        if fault is not None and fault.kind == "answer":
            self._note(request, f"injected {fault.status}")
            return fault.answer(request)
        response = self._sync.handle_request(request)
        response.read()
        if fault is not None:
            response.close()
            raise self._dropped(request, response)
        self._note(request, f"api {response.status_code}")
        return response

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        fault = self._fault(request)
        if fault is not None and fault.kind == "answer":
            self._note(request, f"injected {fault.status}")
            return fault.answer(request)
        response = await self._async.handle_async_request(request)
        await response.aread()
        if fault is not None:
            await response.aclose()
            raise self._dropped(request, response)
        self._note(request, f"api {response.status_code}")
        return response

    def close(self) -> None:
        self._sync.close()

    async def aclose(self) -> None:
        await self._async.aclose()


def run_until_due(cloud: LocalCloud, seconds: float) -> None:
    """Fire what falls due in the next `seconds` (from real time or the fake clock, whichever is later)."""
    assert cloud.dispatcher is not None
    start = max(cloud.clock.now(), datetime.now(UTC))
    cloud.run_until(start + timedelta(seconds=seconds))


#: The owner quota of the tests' local cloud (MaxActiveSchedulesPerOwner): small, so a test can reach it.
OWNER_QUOTA = 2


class Both:
    """One client's methods as plain calls: a sync client's as they are, an async client's run to completion.

    `runs` and `list` answer lists (every page), so one test body checks both twins.
    """

    ITERATORS = frozenset({"runs", "list"})

    def __init__(self, client: TaskClient | AsyncTaskClient, runner: asyncio.Runner | None) -> None:
        self.client = client
        self.runner = runner
        self.kind = "async" if runner is not None else "sync"

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self.client, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            result = method(*args, **kwargs)
            if self.runner is None:
                return list(result) if name in self.ITERATORS else result
            if name in self.ITERATORS:
                return self.runner.run(_collect(result))
            return self.runner.run(result)

        return call


async def _collect(items: Any) -> list[Any]:
    return [item async for item in items]


#: The `make_client` fixture: `make_client(url=..., faults=..., sleeps=..., **client_options)` -> `Both`.
MakeClient = Callable[..., Both]
