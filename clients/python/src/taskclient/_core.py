"""The one core both clients share: request building, response parsing, error mapping and the retry policy.

It does no I/O. `TaskClient` and `AsyncTaskClient` each only send what it builds and sleep the delays
it decides, in a loop of a dozen lines (`_run`), so the two cannot drift apart in behaviour.

Why a retry cannot duplicate: every operation of the API is safe to send twice once a create carries
its `task_id` (the same create again is answered 200 with the task, nothing new is scheduled), and a
create always does: the caller's id, or one generated here before the first attempt and kept for
every retry. A cancel whose earlier attempt went through reads "was cancelled" on its retry: done.
"""

from __future__ import annotations

import json
import logging
import random
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from taskclient.errors import ServiceUnavailable, TaskError, TaskNotFound, Throttled, error_for
from taskclient.models import BatchItemResult, BatchResult, Health, NewTask, RunPage, Task, TaskPage
from taskclient.signing import (
    SigV4,
    configured_region,
    default_credentials,
    region_in_url,
    should_sign,
    signing_region,
)

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

SCHEDULES = "/api/v1/schedules"
#: The batch route takes at most this many items; `schedule_many` sends larger lists in several requests.
BATCH_LIMIT = 100
#: Transport failures worth another attempt: no connection, a timeout, a connection dropped mid-answer.
TRANSIENT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
_RANDOM = random.SystemRandom()
logger = logging.getLogger("taskclient")


def _jitter() -> float:
    return float(_RANDOM.random())


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter, never shorter than the server's Retry-After.

    The n-th retry waits a random time in [0, min(cap, base * 2**n)) seconds, or Retry-After when that is
    longer. A Retry-After beyond `max_retry_after` is not waited for: the `Throttled` error is raised.
    """

    base: float = 0.5
    cap: float = 8.0
    max_retry_after: float = 30.0
    jitter: Callable[[], float] = field(default=_jitter, repr=False)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number `attempt + 1`."""
        jittered = self.jitter() * min(self.cap, self.base * (2.0**attempt))
        return max(jittered, retry_after or 0.0)


@dataclass(frozen=True)
class Call(Generic[T]):
    """One API operation: what to send, and how to read a successful answer."""

    method: str
    path: str
    parse: Callable[[bytes], T]
    params: Mapping[str, str] | None = None
    body: Any = None
    content_type: str = "application/json"
    #: A 404 "was cancelled" on a retry means an earlier attempt cancelled it (DELETE).
    cancels: bool = False


@dataclass(frozen=True)
class Done(Generic[T]):
    """The call succeeded with `value`."""

    value: T


@dataclass(frozen=True)
class Again:
    """Send the call again after `delay` seconds."""

    delay: float


class RequestBuilder(Protocol):
    """`httpx.Client` and `httpx.AsyncClient` both build requests this way."""

    def build_request(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None = ...,
        params: Mapping[str, str] | None = ...,
        headers: Mapping[str, str] | None = ...,
    ) -> httpx.Request: ...


def new_task_id() -> str:
    """A task id for a create that gave none: 32 hex characters, as the API itself would generate."""
    return uuid.uuid4().hex


def task_path(task_id: str, suffix: str = "") -> str:
    """`/api/v1/schedules/{task_id}[suffix]`; an id no URL path can carry is refused before any request."""
    if not isinstance(task_id, str) or not task_id or task_id.strip(".") == "":
        raise ValueError(f"task_id: {task_id!r} is no task id; give 1..64 of [0-9A-Za-z_.-], not only dots")
    return f"{SCHEDULES}/{quote(task_id, safe='')}{suffix}"


def model(kind: type[M]) -> Callable[[bytes], M]:
    """Parse an answer's JSON as `kind`."""
    return kind.model_validate_json


def _nothing(raw: bytes) -> None:
    return None


def _query(**values: object) -> dict[str, str]:
    return {name: str(value) for name, value in values.items() if value is not None}


def _merge_batches(results: Sequence[tuple[int, BatchResult]]) -> BatchResult:
    """One result for a batch sent in chunks; each item's index counted in the caller's list."""
    items = [
        BatchItemResult(index=offset + item.index, status=item.status, body=item.body)
        for offset, result in results
        for item in result.items
    ]
    return BatchResult(
        items=items,
        created=sum(r.created for _, r in results),
        existing=sum(r.existing for _, r in results),
        failed=sum(r.failed for _, r in results),
    )


def _signer(url: str, *, region: str | None, credentials: Any, sign: bool | None) -> SigV4 | None:
    """The SigV4 signer for `url`, or None when its requests go unsigned."""
    if not should_sign(url, sign):
        return None
    configured = configured_region() if region is None and region_in_url(url) is None else None
    return SigV4(default_credentials() if credentials is None else credentials, signing_region(url, region, configured))


class Core:
    """Everything both clients do that is not I/O."""

    def __init__(
        self,
        base_url: str,
        *,
        region: str | None,
        credentials: Any,
        sign: bool | None,
        timeout: float,
        max_retries: int,
        backoff: Backoff,
        headers: Mapping[str, str] | None,
    ) -> None:
        if max_retries < 0:
            raise ValueError(f"max_retries: give 0 or more, got {max_retries}")
        self.base_url = base_url.rstrip("/")
        self.max_retries = max_retries
        self.backoff = backoff
        self.timeout = httpx.Timeout(timeout)
        self.headers = {"accept": "application/json", "user-agent": "taskclient/0.1", **(headers or {})}
        self.auth = _signer(self.base_url, region=region, credentials=credentials, sign=sign)

    def http_options(self) -> dict[str, Any]:
        """Keyword arguments for the httpx client."""
        return {"base_url": self.base_url, "auth": self.auth, "timeout": self.timeout, "headers": self.headers}

    # -- requests --------------------------------------------------------------------------------------------

    def request(self, http: RequestBuilder, call: Call[Any]) -> httpx.Request:
        """The HTTP request for `call` (signed by the client's auth as it is sent)."""
        content = None if call.body is None else json.dumps(call.body, separators=(",", ":")).encode()
        headers = {"content-type": call.content_type} if content is not None else None
        return http.build_request(call.method, call.path, content=content, params=call.params, headers=headers)

    def create(self, task: NewTask) -> Call[Task]:
        """POST a create, its task id fixed before the first attempt."""
        task_id = task.task_id or new_task_id()
        task_path(task_id)
        return Call("POST", SCHEDULES, model(Task), body=task.body(task_id))

    def create_batches(self, tasks: Iterable[NewTask]) -> list[tuple[int, Call[BatchResult]]]:
        """The batch POSTs for `tasks`, at most BATCH_LIMIT items each, with each item's offset; ids fixed."""
        bodies = [task.body(task.task_id or new_task_id()) for task in tasks]
        for body in bodies:
            task_path(body["task_id"])
        chunks = [(start, bodies[start : start + BATCH_LIMIT]) for start in range(0, len(bodies), BATCH_LIMIT)]
        return [
            (start, Call("POST", f"{SCHEDULES}/batch", model(BatchResult), body={"items": items}))
            for start, items in chunks
        ]

    merge_batches = staticmethod(_merge_batches)

    def get(self, task_id: str) -> Call[Task]:
        """GET one task."""
        return Call("GET", task_path(task_id), model(Task))

    def runs_page(self, task_id: str, cursor: str | None, page_size: int | None) -> Call[RunPage]:
        """GET a page of a task's runs."""
        return Call("GET", task_path(task_id, "/runs"), model(RunPage), params=_query(limit=page_size, cursor=cursor))

    def list_page(self, filters: Mapping[str, object], cursor: str | None, page_size: int | None) -> Call[TaskPage]:
        """GET a page of the listing."""
        return Call("GET", SCHEDULES, model(TaskPage), params=_query(**filters, limit=page_size, cursor=cursor))

    def cancel(self, task_id: str) -> Call[None]:
        """DELETE a task's schedule."""
        return Call("DELETE", task_path(task_id), _nothing, cancels=True)

    def set_state(self, task_id: str, verb: str) -> Call[Task]:
        """POST pause or resume."""
        return Call("POST", task_path(task_id, f"/{verb}"), model(Task))

    def patch(self, task_id: str, changes: Mapping[str, Any]) -> Call[Task]:
        """PATCH a JSON Merge Patch of the task's create request."""
        path = task_path(task_id)
        return Call("PATCH", path, model(Task), body=dict(changes), content_type="application/merge-patch+json")

    def health(self) -> Call[Health]:
        """GET /health."""
        return Call("GET", "/health", model(Health))

    # -- answers and retries ---------------------------------------------------------------------------------

    def after_response(self, call: Call[T], response: httpx.Response, attempt: int) -> Done[T] | Again:
        """Done with the parsed answer, or Again after a delay; raise the error the answer means."""
        if response.is_success:
            return Done(call.parse(response.content))
        error = error_for(response.status_code, response.headers, response.content)
        if call.cancels and attempt > 0 and isinstance(error, TaskNotFound) and "was cancelled" in error.message:
            return Done(call.parse(b""))
        return self._again_or_raise(error, attempt, call)

    def after_failure(self, exc: Exception, request: httpx.Request, attempt: int) -> Again:
        """Again after a delay for a transient transport failure; ServiceUnavailable once retries are used up."""
        error = ServiceUnavailable(
            f"no answer from {request.url.copy_with(query=None)} after {attempt + 1} attempt(s): "
            f"{type(exc).__name__}: {exc}"
        )
        try:
            return self._again_or_raise(error, attempt, Call(request.method, request.url.path, _nothing))
        except ServiceUnavailable as unavailable:
            raise unavailable from exc

    def _again_or_raise(self, error: TaskError, attempt: int, call: Call[Any]) -> Again:
        retryable = isinstance(error, (Throttled, ServiceUnavailable))
        if not retryable or attempt >= self.max_retries:
            raise error
        if error.retry_after is not None and error.retry_after > self.backoff.max_retry_after:
            raise error
        delay = self.backoff.delay(attempt, error.retry_after)
        # The method, path and why; never a body (task data) or a header (credentials).
        logger.info(
            "retrying %s %s in %.2f s (attempt %d of %d): %s",
            call.method,
            call.path,
            delay,
            attempt + 2,
            self.max_retries + 1,
            f"HTTP {error.status}" if error.status is not None else "no answer",
        )
        return Again(delay)
