"""How the API answers what goes wrong: domain errors to statuses, request errors to precise 422s, unknown paths.

Every error body is `{"detail": "<what is wrong>"}`; validation errors add `"errors"` (one shape for
both functions, taskcore.errors). No AWS failure is answered with a bare 500.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from scheduler_app.deps import ConfigurationError
from scheduler_app.errors import (
    InvalidSchedule,
    PayloadTooLarge,
    QuotaExceeded,
    ScheduleConflict,
    ScheduleNotFound,
    SchedulerError,
    Throttled,
    UpstreamError,
)
from scheduler_app.models import ErrorBody
from taskcore.errors import validation_problem

logger = Logger()

#: Domain error -> HTTP status; the first match wins (PayloadTooLarge is an InvalidSchedule).
ERROR_STATUS: tuple[tuple[type[SchedulerError], int], ...] = (
    (PayloadTooLarge, 413),
    (InvalidSchedule, 422),
    (ScheduleNotFound, 404),
    (ScheduleConflict, 409),
    (Throttled, 429),
    (QuotaExceeded, 429),
    (UpstreamError, 502),
)

#: The OpenAPI document's description of each error status.
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No schedule for this task (never created, cancelled, or already run)"},
    409: {"model": ErrorBody, "description": "The task id is taken by a different request"},
    413: {"model": ErrorBody, "description": "The task's event exceeds Lambda's asynchronous payload limit"},
    422: {"model": ErrorBody, "description": "Invalid request; the message says what is wrong; nothing was created"},
    429: {"model": ErrorBody, "description": "EventBridge Scheduler throttled the call; see Retry-After"},
    502: {"model": ErrorBody, "description": "EventBridge Scheduler failed; the message says how"},
}

#: Why json.loads gave up on a body, beyond a syntax error (FastAPI answers those with a bare 400).
_UNREADABLE: dict[type[BaseException], str] = {
    UnicodeDecodeError: "the bytes are not UTF-8 text",
    RecursionError: "it is nested too deeply to read",
    ValueError: "a number in it has too many digits",
}


def error_body(exc: SchedulerError) -> dict[str, Any]:
    """`{"detail": ...}`, and for invalid input its field errors too (the one 422 shape, docs/api.md)."""
    body: dict[str, Any] = {"detail": str(exc)}
    if isinstance(exc, InvalidSchedule) and exc.errors:
        body["errors"] = exc.errors
    return body


def error_status(exc: SchedulerError) -> int:
    """The status a domain error is answered with (never a bare 500)."""
    return next((status for kind, status in ERROR_STATUS if isinstance(exc, kind)), 502)


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
    headers = {"Retry-After": str(exc.retry_after_seconds)} if isinstance(exc, Throttled) else {}
    return JSONResponse(status_code=status, content=error_body(exc), headers=headers)


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, RequestValidationError):  # registered for RequestValidationError only
        raise exc
    detail = _unreadable_body(request, exc)
    if detail is not None:
        return JSONResponse(
            status_code=422, content=validation_problem([{"loc": ["body"], "msg": detail, "type": "body"}], detail)
        )
    return JSONResponse(status_code=422, content=validation_problem(exc.errors()))


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
        return JSONResponse(status_code=404, content={"detail": f"no endpoint at {path}; {hint}"})
    # FastAPI answers 400 for a body json.loads cannot read (not UTF-8, nested too deep, a 5,000-digit number):
    # an invalid request like any other invalid JSON, so the documented 422.
    if exc.status_code == 400 and exc.detail == "There was an error parsing the body":
        cause = type(exc.__cause__) if exc.__cause__ is not None else None
        message = (
            f"body: not valid JSON: {_UNREADABLE.get(cause, 'it cannot be read') if cause else 'it cannot be read'}"
        )
        return JSONResponse(
            status_code=422,
            content=validation_problem([{"loc": ["body"], "msg": message, "type": "json_invalid"}], message),
        )
    return await http_exception_handler(request, exc)


async def _misconfigured(request: Request, exc: Exception) -> JSONResponse:
    # The caller can do nothing about the function's environment: the log says what to fix.
    logger.error("misconfigured", extra={"reason": str(exc)})
    return JSONResponse(
        status_code=500, content={"detail": "the scheduler function is misconfigured; its log says what to fix"}
    )


def install(app: FastAPI) -> None:
    """Answer every error of `app` as described above."""
    app.add_exception_handler(SchedulerError, _domain_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(ConfigurationError, _misconfigured)
