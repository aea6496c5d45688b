"""How the API answers what goes wrong: domain errors to statuses, request errors to precise 422s, unknown paths.

Every error body is `{"detail": "<what is wrong>", "code": "<what kind of wrong>"}`: `detail` for people,
`code` (ERROR_CODES) for programs. Validation errors add `"errors"` (one shape for both functions,
taskcore.errors). No AWS failure is answered with a bare 500.
"""

from __future__ import annotations

from typing import Any, Literal

from aws_lambda_powertools import Logger
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from scheduler_app.errors import (
    ConfigurationError,
    InvalidSchedule,
    PayloadTooLarge,
    QuotaExceeded,
    ScheduleConflict,
    ScheduleNotFound,
    ScheduleQuotaFull,
    SchedulerError,
    Throttled,
    UpstreamError,
)
from taskcore.errors import validation_problem

logger = Logger()

#: An error body's machine-readable `code` (docs/api.md, "Errors").
ErrorCode = Literal[
    "invalid",
    "payload_too_large",
    "not_found",
    "method_not_allowed",
    "conflict",
    "throttled",
    "owner_quota_exceeded",
    "schedule_quota_full",
    "upstream_error",
    "service_unavailable",
]

#: Each code and the status it is answered with.
ERROR_CODES: dict[ErrorCode, int] = {
    "invalid": 422,
    "payload_too_large": 413,
    "not_found": 404,
    "method_not_allowed": 405,
    "conflict": 409,
    "throttled": 429,
    "owner_quota_exceeded": 429,
    "schedule_quota_full": 507,
    "upstream_error": 502,
    "service_unavailable": 503,
}

#: Domain error -> its code; the first match wins (PayloadTooLarge is an InvalidSchedule).
DOMAIN_CODES: tuple[tuple[type[SchedulerError], ErrorCode], ...] = (
    (PayloadTooLarge, "payload_too_large"),
    (InvalidSchedule, "invalid"),
    (ScheduleNotFound, "not_found"),
    (ScheduleConflict, "conflict"),
    (Throttled, "throttled"),
    (QuotaExceeded, "owner_quota_exceeded"),
    (ScheduleQuotaFull, "schedule_quota_full"),
    (UpstreamError, "upstream_error"),
)

#: The code of an error FastAPI or Starlette answers itself (a path without an endpoint, a wrong method).
STATUS_CODES: dict[int, ErrorCode] = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}

MISCONFIGURED = "the scheduler function is misconfigured; its log says what to fix"


class ErrorBody(BaseModel):
    """Every error: a message that says what is wrong, and a stable code for programs."""

    detail: str
    code: ErrorCode


#: The OpenAPI document's description of each error status.
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No schedule for this task (never created, cancelled, or already run)"},
    409: {"model": ErrorBody, "description": "The task id is taken by a different request"},
    413: {"model": ErrorBody, "description": "The task's event exceeds Lambda's asynchronous payload limit"},
    422: {"model": ErrorBody, "description": "Invalid request; the message says what is wrong; nothing was created"},
    429: {
        "model": ErrorBody,
        "description": "`throttled`: retry after Retry-After; `owner_quota_exceeded`: no retry helps until a task ends",
    },
    502: {"model": ErrorBody, "description": "EventBridge Scheduler failed; the message says how"},
    507: {
        "model": ErrorBody,
        "description": "The account's EventBridge Scheduler schedule quota is full: nothing was created; not retryable",
    },
}

#: Why json.loads gave up on a body, beyond a syntax error (FastAPI answers those with a bare 400).
_UNREADABLE: dict[type[BaseException], str] = {
    UnicodeDecodeError: "the bytes are not UTF-8 text",
    RecursionError: "it is nested too deeply to read",
    ValueError: "a number in it has too many digits",
}


def error_code(exc: SchedulerError) -> ErrorCode:
    """The code of a domain error (`upstream_error` for one this table does not name)."""
    return next((code for kind, code in DOMAIN_CODES if isinstance(exc, kind)), "upstream_error")


def error_body(exc: SchedulerError) -> dict[str, Any]:
    """`{"detail": ..., "code": ...}`, and for invalid input its field errors too (the one 422 shape, docs/api.md)."""
    body: dict[str, Any] = {"detail": str(exc), "code": error_code(exc)}
    if isinstance(exc, InvalidSchedule) and exc.errors:
        body["errors"] = exc.errors
    return body


def error_status(exc: SchedulerError) -> int:
    """The status a domain error is answered with (never a bare 500)."""
    return ERROR_CODES[error_code(exc)]


def invalid(errors: Any, detail: str | None = None) -> dict[str, Any]:
    """The body of a 422 for invalid input: taskcore's shape (`detail`, `errors`) and its code."""
    return {**validation_problem(errors, detail), "code": "invalid"}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route that may answer these error statuses."""
    return {code: ERRORS[code] for code in codes}


def _unreadable_body(request: Request, exc: RequestValidationError) -> str | None:
    """Say what is wrong with a body FastAPI could not read: where its JSON breaks, or which content-type to send."""
    for err in exc.errors():
        loc = tuple(err.get("loc", ()))
        if err.get("type") == "json_invalid" and isinstance(exc.body, str) and len(loc) == 2:
            pos = int(loc[1])
            line = exc.body.count("\n", 0, pos) + 1
            column = pos - exc.body.rfind("\n", 0, pos)
            reason = (err.get("ctx") or {}).get("error") or "JSON decode error"
            return f"body: not valid JSON at line {line}, column {column}: {reason}"
        if loc == ("body",) and isinstance(err.get("input"), bytes):
            content_type = request.headers.get("content-type", "")
            return f"body: send the request as JSON with the header content-type: application/json (got {content_type})"
    return None


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, SchedulerError):  # registered for SchedulerError only
        raise exc
    status = error_status(exc)
    log = logger.warning if status >= 500 or status == 429 else logger.info
    log("request refused", extra={"status_code": status, "error": type(exc).__name__, "path": request.url.path})
    # Only throttling clears by waiting; an owner's quota or the account's schedule quota does not.
    headers = {"Retry-After": str(exc.retry_after_seconds)} if isinstance(exc, Throttled) else {}
    return JSONResponse(status_code=status, content=error_body(exc), headers=headers)


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, RequestValidationError):  # registered for RequestValidationError only
        raise exc
    detail = _unreadable_body(request, exc)
    if detail is not None:
        return JSONResponse(
            status_code=422, content=invalid([{"loc": ["body"], "msg": detail, "type": "body"}], detail)
        )
    return JSONResponse(status_code=422, content=invalid(exc.errors()))


async def _http_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, StarletteHTTPException):  # registered for HTTPException only
        raise exc
    if exc.status_code == 404 and "endpoint" not in request.scope:  # no route matched (a route's own 404 has one)
        path = request.url.path
        hint = (
            f"without the trailing slash: {path.rstrip('/')}"
            if path.endswith("/") and path != "/"
            else "the API is described at /docs"
        )
        return JSONResponse(status_code=404, content={"detail": f"no endpoint at {path}; {hint}", "code": "not_found"})
    # FastAPI answers 400 for a body json.loads cannot read (not UTF-8, nested too deep, a 5,000-digit number):
    # an invalid request like any other invalid JSON, so the documented 422.
    if exc.status_code == 400 and exc.detail == "There was an error parsing the body":
        cause = type(exc.__cause__) if exc.__cause__ is not None else None
        message = (
            f"body: not valid JSON: {_UNREADABLE.get(cause, 'it cannot be read') if cause else 'it cannot be read'}"
        )
        return JSONResponse(
            status_code=422, content=invalid([{"loc": ["body"], "msg": message, "type": "json_invalid"}], message)
        )
    return _http_answer(exc)


def _http_answer(exc: StarletteHTTPException) -> Response:
    """An HTTPException (the guide's 404, FastAPI's 405) as an error body with its code."""
    if exc.status_code < 400:  # not an error: nothing to add
        return Response(status_code=exc.status_code, headers=exc.headers)
    code = STATUS_CODES.get(exc.status_code, "upstream_error" if exc.status_code >= 500 else "invalid")
    return JSONResponse(status_code=exc.status_code, content={"detail": exc.detail, "code": code}, headers=exc.headers)


async def _misconfigured(request: Request, exc: Exception) -> JSONResponse:
    # The caller can do nothing about the function's environment: the log says what to fix.
    logger.error("misconfigured", extra={"reason": str(exc)})
    return JSONResponse(status_code=503, content=misconfigured_body())


def misconfigured_body() -> dict[str, Any]:
    """What a caller is told when the function cannot serve until its configuration is fixed."""
    return {"detail": MISCONFIGURED, "code": "service_unavailable"}


def install(app: FastAPI) -> None:
    """Answer every error of `app` as described above."""
    app.add_exception_handler(SchedulerError, _domain_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(ConfigurationError, _misconfigured)
