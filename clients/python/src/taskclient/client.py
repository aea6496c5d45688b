"""`TaskClient`: the scheduler API from synchronous code. `AsyncTaskClient` (taskclient.aio) is its twin."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from taskclient._core import TRANSIENT, Again, Backoff, Call, Core, Done
from taskclient.models import (
    BatchResult,
    Delay,
    DeliveryRetry,
    Health,
    ListStatus,
    NewTask,
    Run,
    RunPage,
    Task,
    TaskPage,
    TaskSummary,
    Timing,
)
from taskclient.stack import api_url_of

T = TypeVar("T")
P = TypeVar("P", TaskPage, RunPage)


class TaskClient:
    """The scheduler API: `TaskClient("http://127.0.0.1:3000")` for `make dev`, the stack's URL when deployed.

    Requests to an execute-api URL are SigV4-signed with the default AWS credentials (`sign=None`);
    `sign=True` signs for any other host too (a custom domain: give `region`), `sign=False` never.
    Throttling, 502/503/504, timeouts and dropped connections are retried `max_retries` times with
    jittered backoff that honours Retry-After; no retry can schedule a task twice (see `schedule`).
    """

    def __init__(
        self,
        base_url: str,
        *,
        region: str | None = None,
        credentials: Any = None,
        sign: bool | None = None,
        timeout: float = 30.0,
        max_retries: int = 3,
        backoff: Backoff | None = None,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._core = Core(
            base_url,
            region=region,
            credentials=credentials,
            sign=sign,
            timeout=timeout,
            max_retries=max_retries,
            backoff=backoff or Backoff(),
            headers=headers,
        )
        self._http = httpx.Client(**self._core.http_options(), transport=transport)
        self._sleep = sleep

    @classmethod
    def from_stack(cls, stack_name: str, region: str | None = None, **options: Any) -> Self:
        """The client for a deployed stack: its URL from the stack's `ApiUrl` output, signed with your credentials."""
        url, credentials = api_url_of(stack_name, region)
        options.setdefault("credentials", credentials)
        return cls(url, region=region, **options)

    @property
    def base_url(self) -> str:
        """The API's URL (stage included when deployed)."""
        return self._core.base_url

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def _run(self, call: Call[T]) -> T:
        attempt = 0
        while True:
            request = self._core.request(self._http, call)
            step: Done[T] | Again
            try:
                response = self._http.send(request)
            except TRANSIENT as exc:
                step = self._core.after_failure(exc, request, attempt)
            else:
                step = self._core.after_response(call, response, attempt)
            if isinstance(step, Done):
                return step.value
            self._sleep(step.delay)
            attempt += 1

    def _pages(self, page: Callable[[str | None], Call[P]]) -> Iterator[P]:
        cursor: str | None = None
        while True:
            found = self._run(page(cursor))
            yield found
            cursor = found.cursor
            if cursor is None:
                return

    def schedule(
        self,
        action: str,
        *,
        user_id: int | str,
        data: Mapping[str, Any] | None = None,
        task_id: str | None = None,
        delay: Delay | None = None,
        at: datetime | None = None,
        cron: str | None = None,
        rate: str | None = None,
        timezone: str | None = None,
        start_at: datetime | None = None,
        end_at: datetime | None = None,
        retry: DeliveryRetry | None = None,
        flexible_window_minutes: int | None = None,
    ) -> Task:
        """Schedule `action` once (`delay`, `at`) or on a `cron`/`rate`; the task, created or as it already was.

        Without `task_id`, one is generated before the first attempt and kept for every retry, so a retried
        create never schedules twice. The same request for an existing id answers the task (nothing new).
        """
        task = NewTask.of(
            action,
            user_id=user_id,
            data=data,
            task_id=task_id,
            delay=delay,
            at=at,
            cron=cron,
            rate=rate,
            timezone=timezone,
            start_at=start_at,
            end_at=end_at,
            retry=retry,
            flexible_window_minutes=flexible_window_minutes,
        )
        return self._run(self._core.create(task))

    def schedule_many(self, tasks: Iterable[NewTask]) -> BatchResult:
        """Create many tasks (the batch route, 100 a request); a result per task, in order: `.ok`, `.task`, status."""
        results = [(offset, self._run(call)) for offset, call in self._core.create_batches(tasks)]
        return self._core.merge_batches(results)

    def get(self, task_id: str) -> Task:
        """The task, for its whole life (scheduled, paused, succeeded, failed, rejected, cancelled)."""
        return self._run(self._core.get(task_id))

    def runs(self, task_id: str, *, page_size: int | None = None) -> Iterator[Run]:
        """The task's runs, newest first, every page."""
        for page in self._pages(lambda cursor: self._core.runs_page(task_id, cursor, page_size)):
            yield from page.items

    def cancel(self, task_id: str) -> None:
        """Cancel the task (its schedule is deleted; the task stays, `cancelled`)."""
        self._run(self._core.cancel(task_id))

    def pause(self, task_id: str) -> Task:
        """Disable the task's schedule until `resume`."""
        return self._run(self._core.set_state(task_id, "pause"))

    def resume(self, task_id: str) -> Task:
        """Enable the task's schedule again."""
        return self._run(self._core.set_state(task_id, "resume"))

    def reschedule(
        self,
        task_id: str,
        *,
        delay: Delay | None = None,
        at: datetime | None = None,
        cron: str | None = None,
        rate: str | None = None,
        timezone: str | None = None,
        start_at: datetime | None = None,
        end_at: datetime | None = None,
    ) -> Task:
        """Give the task a new timing (it replaces the old one); members not given are kept."""
        timing = Timing.of(
            delay=delay, at=at, cron=cron, rate=rate, timezone=timezone, start_at=start_at, end_at=end_at
        )
        return self._run(self._core.patch(task_id, timing.fields()))

    def update_data(self, task_id: str, patch: Mapping[str, Any]) -> Task:
        """Change the task's data with a JSON Merge Patch: members given replace, None removes, the rest stays."""
        return self._run(self._core.patch(task_id, {"data": dict(patch)}))

    def health(self) -> Health:
        """Liveness, and the actions this deployment can schedule."""
        return self._run(self._core.health())

    def list(
        self,
        *,
        user_id: int | str | None = None,
        status: ListStatus | None = None,
        action: str | None = None,
        prefix: str | None = None,
        page_size: int | None = None,
    ) -> Iterator[TaskSummary]:
        """Tasks newest first, every page (cursors followed); without user_id and status: the live ones."""
        filters = {"user_id": user_id, "status": status, "action": action, "prefix": prefix}
        for page in self._pages(lambda cursor: self._core.list_page(filters, cursor, page_size)):
            yield from page.items
