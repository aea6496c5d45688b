"""The scheduler API as the console calls it: one small client, every answer either JSON or an ApiError."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import httpx

#: The API's 404 for a path it does not serve starts so (docs/api.md); a 404 for a task does not.
NO_ENDPOINT = "no endpoint at "


class ApiError(Exception):
    """Raise when the API answers an error: its status, its one-line `detail`, and its `errors` for programs."""

    def __init__(self, status: int, detail: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail
        self.errors = errors or []

    @property
    def no_route(self) -> bool:
        """The API has no such endpoint (an older API than the console knows)."""
        return self.status == 404 and self.detail.startswith(NO_ENDPOINT)


class SchedulerApi:
    """`base_url` is the API's root (`http://127.0.0.1:3000`, or a stage URL `https://…/v1`), or a callable
    giving it; `auth` signs each request (SigV4 against a deployed stack)."""

    def __init__(
        self,
        base_url: str | Callable[[], str],
        *,
        auth: httpx.Auth | None = None,
        timeout: float = 15.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._base_url = base_url
        self._client = httpx.Client(auth=auth, timeout=timeout, transport=transport)
        self._cache: dict[str, Any] = {}  # the OpenAPI document, shared with every `with_headers` copy
        self._headers: dict[str, str] = {}

    def with_headers(self, headers: Mapping[str, str]) -> SchedulerApi:
        """The same API (its connections, its cached document) with `headers` on every request."""
        other = copy.copy(self)  # shallow: one client, one cache
        other._headers = {**self._headers, **headers}
        return other

    @property
    def base_url(self) -> str:
        """The API's root URL, without a trailing slash."""
        url = self._base_url() if callable(self._base_url) else self._base_url
        return url.rstrip("/")

    def close(self) -> None:
        """Close the connections."""
        self._client.close()

    def request(self, method: str, path: str, *, params: Mapping[str, str] | None = None, body: Any = None) -> Any:
        """One call: the decoded JSON body (None for 204), or ApiError."""
        try:
            response = self._client.request(
                method, self.base_url + path, params=params, json=body, headers=self._headers or None
            )
        except httpx.HTTPError as exc:
            raise ApiError(502, f"the API at {self.base_url} did not answer: {type(exc).__name__}: {exc}") from exc
        if response.status_code == 204 or not response.content:
            return None
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if response.status_code >= 400:
            raise _error(response.status_code, payload, response.text)
        return payload

    def list_tasks(self, params: Mapping[str, str]) -> dict[str, Any]:
        """A page of tasks: `{"items": [...], "cursor": str | None}`."""
        page = self.request("GET", "/api/v1/schedules", params=params)
        return page if isinstance(page, dict) else {"items": [], "cursor": None}

    def task(self, task_id: str, owner: str | None = None) -> dict[str, Any]:
        """One task (ScheduleView); `owner`: another owner's task, addressed by an admin (`?owner=`)."""
        found: dict[str, Any] = self.request("GET", _task_path(task_id), params=_owner(owner))
        return found

    def runs(self, task_id: str, owner: str | None = None, *, limit: int = 20) -> list[dict[str, Any]] | None:
        """The task's newest runs; None when the API has no run history (no such route)."""
        try:
            page = self.request("GET", _task_path(task_id) + "/runs", params={"limit": str(limit), **_owner(owner)})
        except ApiError as exc:
            if exc.no_route:
                return None
            raise
        items = page.get("items") if isinstance(page, dict) else None
        return list(items) if isinstance(items, list) else []

    def create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create a task (201, or 200 for the same request again)."""
        created: dict[str, Any] = self.request("POST", "/api/v1/schedules", body=dict(body))
        return created

    def patch(self, task_id: str, patch: Mapping[str, Any], owner: str | None = None) -> dict[str, Any]:
        """Reschedule (a JSON Merge Patch of the create request)."""
        changed: dict[str, Any] = self.request("PATCH", _task_path(task_id), params=_owner(owner), body=dict(patch))
        return changed

    def cancel(self, task_id: str, owner: str | None = None) -> None:
        """Delete the task's schedule."""
        self.request("DELETE", _task_path(task_id), params=_owner(owner))

    def pause(self, task_id: str, owner: str | None = None) -> dict[str, Any]:
        """Disable the schedule."""
        paused: dict[str, Any] = self.request("POST", _task_path(task_id) + "/pause", params=_owner(owner))
        return paused

    def resume(self, task_id: str, owner: str | None = None) -> dict[str, Any]:
        """Enable the schedule again."""
        resumed: dict[str, Any] = self.request("POST", _task_path(task_id) + "/resume", params=_owner(owner))
        return resumed

    def openapi(self) -> dict[str, Any]:
        """The API's OpenAPI document (read once: the actions change only with a deployment, or a reload of
        `make dev`, which calls `forget_openapi`)."""
        if "openapi" not in self._cache:
            document = self.request("GET", "/openapi.json")
            self._cache["openapi"] = document if isinstance(document, dict) else {}
        found: dict[str, Any] = self._cache["openapi"]
        return found

    def forget_openapi(self) -> None:
        """Read the document again on the next use (the actions changed)."""
        self._cache.pop("openapi", None)


def _task_path(task_id: str) -> str:
    return "/api/v1/schedules/" + quote(task_id, safe="")


def _owner(owner: str | None) -> dict[str, str]:
    """The query that names the task's owner (an admin's `?owner=`), or none: the caller's own task."""
    return {"owner": owner} if owner else {}


def _error(status: int, payload: Any, text: str) -> ApiError:
    """The API's `{"detail", "errors"}`, or API Gateway's `{"message"}` (a 403 for a bad signature)."""
    if isinstance(payload, dict):
        detail = payload.get("detail", payload.get("message", payload.get("Message")))
        errors = payload.get("errors")
        return ApiError(
            status,
            detail if isinstance(detail, str) else str(detail if detail is not None else text[:500]),
            errors if isinstance(errors, list) else None,
        )
    return ApiError(status, text[:500] or f"HTTP {status}")
