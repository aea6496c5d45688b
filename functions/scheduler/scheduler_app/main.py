"""The scheduler function's FastAPI app, its routes and error mapping, and its Lambda entry point.

API Gateway (REST, IAM-authorized) proxies every request here; Mangum turns the proxy event into
an ASGI request. The work is done by `ScheduleService`, which knows nothing of HTTP: its domain
errors are mapped to status codes in one place below.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools import Logger
from fastapi import APIRouter, Body, Depends, FastAPI, HTTPException, Path, Query, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.models import Example
from fastapi.responses import JSONResponse
from mangum import Mangum
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from scheduler_app.clients import get_scheduler_client
from scheduler_app.errors import (
    InvalidSchedule,
    PayloadTooLarge,
    ScheduleConflict,
    ScheduleNotFound,
    SchedulerError,
    Throttled,
    UpstreamError,
)
from scheduler_app.models import (
    BatchItemResult,
    BatchRequest,
    BatchResponse,
    CancelScheduleResponse,
    ErrorBody,
    HealthResponse,
    SchedulePage,
    ScheduleRequest,
    ScheduleTaskRequest,
    ScheduleTaskResponse,
    ScheduleView,
)
from scheduler_app.openapi import build_openapi
from scheduler_app.service import ScheduleService
from scheduler_app.settings import SchedulerSettings, get_settings
from taskcore.envelope import TASK_ID_PATTERN
from taskcore.errors import describe_errors, validation_problem
from taskcore.limits import LAMBDA_SYNC_PAYLOAD_BYTES
from taskcore.proxy import oversized_body_response
from taskcore.registry import registry

logger = Logger()


class ConfigurationError(RuntimeError):
    """Raise when the function's environment lacks what template.yaml sets."""


def get_service() -> ScheduleService:
    """The engine, on the container's cached settings and client."""
    try:
        settings: SchedulerSettings = get_settings()
    except ValidationError as exc:
        raise ConfigurationError(f"the scheduler is misconfigured: {describe_errors(exc)}") from None
    return ScheduleService(get_scheduler_client(), settings)


async def schedule_service() -> ScheduleService:
    """The dependency (tests override it). `async` so FastAPI calls it inline: a sync dependency
    would start a thread-pool thread on every request."""
    return get_service()


SchedulerDep = Annotated[ScheduleService, Depends(schedule_service)]
TaskIdPath = Annotated[str, Path(pattern=TASK_ID_PATTERN, description="The task id (also the schedule's name)")]

#: Domain error -> HTTP status; the first match wins (PayloadTooLarge is an InvalidSchedule).
ERROR_STATUS: tuple[tuple[type[SchedulerError], int], ...] = (
    (PayloadTooLarge, 413),
    (InvalidSchedule, 422),
    (ScheduleNotFound, 404),
    (ScheduleConflict, 409),
    (Throttled, 429),
    (UpstreamError, 502),
)


def error_status(exc: SchedulerError) -> int:
    """The status a domain error is answered with (never a bare 500)."""
    return next((status for kind, status in ERROR_STATUS if isinstance(exc, kind)), 502)


def _error_headers(exc: SchedulerError) -> dict[str, str]:
    if isinstance(exc, Throttled):
        return {"Retry-After": str(exc.retry_after_seconds)}
    return {}


ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No schedule for this task (never created, cancelled, or already run)"},
    409: {"model": ErrorBody, "description": "The task id is taken by a different request"},
    413: {"model": ErrorBody, "description": "The task's event exceeds Lambda's asynchronous payload limit"},
    422: {"model": ErrorBody, "description": "Invalid request; the message says what is wrong; nothing was created"},
    429: {"model": ErrorBody, "description": "EventBridge Scheduler throttled the call; see Retry-After"},
    502: {"model": ErrorBody, "description": "EventBridge Scheduler failed; the message says how"},
}


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: ERRORS[code] for code in codes}


CREATE_EXAMPLES: dict[str, Example] = {
    "in-30-minutes": {
        "summary": "One-time, after a delay",
        "value": {
            "task_id": "payment-reminder-42",
            "user_id": 456,
            "action": "send_notification",
            "data": {"notification_type": "payment_expiration", "message": "Your payment expires soon"},
            "delay_minutes": 30,
        },
    },
    "at-a-time": {
        "summary": "One-time, at a time with its UTC offset",
        "value": {
            "task_id": "cleanup-tmp-7",
            "user_id": 456,
            "action": "cleanup",
            "data": {"resource_id": "tmp-7", "s3_bucket": "temp-storage", "s3_key": "temp/tmp-7"},
            "run_at": "2030-01-01T09:00:00+09:00",
        },
    },
    "daily-in-seoul": {
        "summary": "Recurring: every day at 09:00 Asia/Seoul",
        "value": {
            "task_id": "daily-report",
            "user_id": 0,
            "action": "generate_daily_report",
            "cron": "cron(0 9 * * ? *)",
            "timezone": "Asia/Seoul",
            "retry": {"max_attempts": 10, "max_event_age_seconds": 3600},
        },
    },
    "every-5-minutes": {
        "summary": "Recurring: a rate, within a window",
        "value": {
            "task_id": "poll-payment-9",
            "user_id": 456,
            "action": "process_payment",
            "data": {"payment_id": "pay_8f14e45f", "operation": "capture"},
            "rate": "rate(5 minutes)",
            "end_at": "2030-01-02T00:00:00Z",
            "flexible_window_minutes": 2,
        },
    },
}

#: API Gateway cannot hand the function more than Lambda's synchronous payload limit.
MAX_BODY_BYTES = LAMBDA_SYNC_PAYLOAD_BYTES

app = FastAPI(
    title="Scheduled tasks API",
    summary="Schedule named actions to run once or on a cron/rate, on EventBridge Scheduler and Lambda.",
    version="1.0.0",
    # No 307 to the path without its slash (to https://, which a plain-HTTP client cannot follow): a 404 naming it.
    redirect_slashes=False,
)


@app.exception_handler(SchedulerError)
async def _domain_error(request: Request, exc: SchedulerError) -> JSONResponse:
    status = error_status(exc)
    log = logger.warning if status >= 500 or status == 429 else logger.info
    log("request refused", extra={"status_code": status, "error": type(exc).__name__, "path": request.url.path})
    return JSONResponse(status_code=status, content={"detail": str(exc)}, headers=_error_headers(exc))


#: Why json.loads gave up on a body, beyond a syntax error (FastAPI answers those with a bare 400).
_UNREADABLE: dict[type[BaseException], str] = {
    UnicodeDecodeError: "the bytes are not UTF-8 text",
    RecursionError: "it is nested too deeply to read",
    ValueError: "a number in it has too many digits",
}


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


@app.exception_handler(RequestValidationError)
async def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    detail = _unreadable_body(request, exc)
    if detail is not None:
        return JSONResponse(
            status_code=422, content=validation_problem([{"loc": ["body"], "msg": detail, "type": "body"}], detail)
        )
    return JSONResponse(status_code=422, content=validation_problem(exc.errors()))


@app.exception_handler(StarletteHTTPException)
async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
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
        reason = _UNREADABLE.get(cause, "it cannot be read") if cause is not None else "it cannot be read"
        message = f"body: not valid JSON: {reason}"
        return JSONResponse(
            status_code=422,
            content={"detail": message, "errors": [{"loc": ["body"], "msg": message, "type": "json_invalid"}]},
        )
    return await http_exception_handler(request, exc)


@app.exception_handler(ConfigurationError)
async def _misconfigured(request: Request, exc: ConfigurationError) -> JSONResponse:
    # The caller can do nothing about the function's environment: the log says what to fix.
    logger.error("misconfigured", extra={"reason": str(exc)})
    return JSONResponse(
        status_code=500, content={"detail": "the scheduler function is misconfigured; its log says what to fix"}
    )


@app.get("/health", response_model=HealthResponse, tags=["health"])
async def health() -> HealthResponse:
    """Liveness, and which actions can be scheduled (touches neither configuration nor AWS)."""
    return HealthResponse(status="ok", service="scheduled-tasks-scheduler", actions=registry.names())


# -- the resource API -------------------------------------------------------------------------

schedules = APIRouter(prefix="/api/v1/schedules", tags=["schedules"])


@schedules.post(
    "",
    status_code=201,
    response_model=ScheduleView,
    responses={
        200: {"model": ScheduleView, "description": "The same task and request again: the existing schedule"},
        **_errors(409, 413, 422, 429, 502),
    },
)
async def create_schedule(
    body: Annotated[ScheduleRequest, Body(openapi_examples=CREATE_EXAMPLES)], service: SchedulerDep, response: Response
) -> ScheduleView:
    """Schedule a task once (`delay_seconds`, `delay_minutes`, `run_at`) or on a `cron`/`rate`."""
    # Sync calls on purpose: one request per Lambda container, so blocking costs nothing here.
    view, created = service.create(body)
    if not created:
        response.status_code = 200
    return view


@schedules.post("/batch", response_model=BatchResponse, responses=_errors(422))
async def create_schedules(body: BatchRequest, service: SchedulerDep) -> BatchResponse:
    """Up to 100 creates at once: each item gets the status and body its own POST would have had."""
    results: list[BatchItemResult] = []
    for outcome in service.create_batch(body.items):
        if outcome.error is not None:
            results.append(
                BatchItemResult(
                    index=outcome.index, status=error_status(outcome.error), body={"detail": str(outcome.error)}
                )
            )
        elif outcome.view is not None:  # an outcome has a view or an error
            status = 201 if outcome.created else 200
            results.append(
                BatchItemResult(index=outcome.index, status=status, body=outcome.view.model_dump(mode="json"))
            )
    return BatchResponse(
        items=results,
        created=sum(r.status == 201 for r in results),
        existing=sum(r.status == 200 for r in results),
        failed=sum(r.status >= 400 for r in results),
    )


@schedules.get("", response_model=SchedulePage, responses=_errors(422, 429, 502))
async def list_schedules(
    service: SchedulerDep,
    state: Annotated[Literal["ENABLED", "DISABLED"] | None, Query(description="Only schedules in this state")] = None,
    prefix: Annotated[
        str | None, Query(pattern=TASK_ID_PATTERN, description="Only task ids starting with this")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Page size (the service may return fewer)")] = 50,
    cursor: Annotated[str | None, Query(max_length=4096, description="From the previous page")] = None,
) -> SchedulePage:
    """The stack's schedules, a page at a time."""
    return service.list_schedules(state=state, prefix=prefix, limit=limit, cursor=cursor)


@schedules.get("/{task_id}", response_model=ScheduleView, responses=_errors(404, 422, 429, 502))
async def get_schedule(task_id: TaskIdPath, service: SchedulerDep) -> ScheduleView:
    """The task's schedule, with its next run time in UTC."""
    return service.get(task_id)


PATCH_CONTENT = {
    media: {"schema": {"$ref": "#/components/schemas/SchedulePatch"}}
    for media in ("application/json", "application/merge-patch+json")
}


@schedules.patch(
    "/{task_id}",
    response_model=ScheduleView,
    responses=_errors(404, 409, 413, 422, 429, 502),
    openapi_extra={"requestBody": {"required": True, "content": PATCH_CONTENT}},
)
async def update_schedule(
    task_id: TaskIdPath,
    body: Annotated[
        Any,
        Body(
            openapi_examples={
                "weekdays": {
                    "summary": "New timing",
                    "value": {"cron": "cron(30 8 ? * MON-FRI *)", "timezone": "Asia/Seoul"},
                },
                "later": {"summary": "Postpone a one-time task", "value": {"delay_minutes": 60}},
                "data": {
                    "summary": "Change one data member, remove another",
                    "value": {"data": {"message": "Updated text", "language": None}},
                },
            }
        ),
    ],
    service: SchedulerDep,
) -> ScheduleView:
    """Change the task with a JSON Merge Patch (RFC 7396) of its create request, validated exactly as a create.

    Members given replace, `null` removes, objects (`data`, `retry`) merge member by member; a new
    timing replaces the old one. `content-type: application/merge-patch+json` or `application/json`.
    """
    return service.update(task_id, body)


@schedules.delete("/{task_id}", status_code=204, response_class=Response, responses=_errors(404, 422, 429, 502))
async def delete_schedule(task_id: TaskIdPath, service: SchedulerDep) -> Response:
    """Cancel the task."""
    service.delete(task_id)
    return Response(status_code=204)


@schedules.post("/{task_id}/pause", response_model=ScheduleView, responses=_errors(404, 422, 429, 502))
async def pause_schedule(task_id: TaskIdPath, service: SchedulerDep) -> ScheduleView:
    """Disable the schedule; it keeps everything and does not run until resumed."""
    return service.pause(task_id)


@schedules.post("/{task_id}/resume", response_model=ScheduleView, responses=_errors(404, 422, 429, 502))
async def resume_schedule(task_id: TaskIdPath, service: SchedulerDep) -> ScheduleView:
    """Enable the schedule again."""
    return service.resume(task_id)


# -- the guide's API, kept as written (same engine) -------------------------------------------

guide = APIRouter(prefix="/api/v1/scheduler", tags=["scheduler (guide)"])


@guide.post("/schedule", response_model=ScheduleTaskResponse, responses=_errors(409, 413, 422, 429, 502))
async def schedule_task(request: ScheduleTaskRequest, service: SchedulerDep) -> ScheduleTaskResponse:
    """The guide's create: run `action` in `delay_minutes` minutes. The schedule is named after `task_id`."""
    view, created = service.create(request.to_schedule_request())
    logger.info(
        "guide task scheduled", extra={"task_id": view.task_id, "action": request.action, "new_schedule": created}
    )
    return ScheduleTaskResponse(
        success=True,
        message="Task scheduled successfully" if created else "Task already scheduled",
        schedule_arn=view.schedule_arn,
        task_id=view.task_id,
        scheduled_in_minutes=request.delay_minutes,
    )


@guide.delete(
    "/schedule/{schedule_arn:path}", response_model=CancelScheduleResponse, responses=_errors(404, 422, 429, 502)
)
async def cancel_schedule(schedule_arn: str, request: Request, service: SchedulerDep) -> CancelScheduleResponse:
    """The guide's cancel, by schedule ARN: 404 unless it is this stack's schedule, 429/502 when cancelling failed."""
    # Starlette's route pattern ends in `$`, which also matches before a final newline: take the path as sent.
    sent = request.scope["path"].removeprefix(f"{guide.prefix}/schedule/")
    try:
        service.delete_by_arn(sent)
    except ScheduleNotFound:
        raise HTTPException(status_code=404, detail="Schedule not found or already executed") from None
    return CancelScheduleResponse(success=True, message="Schedule cancelled successfully", schedule_arn=schedule_arn)


app.include_router(schedules)
app.include_router(guide)


def openapi() -> dict[str, Any]:
    """The OpenAPI document, with the registered actions and their data (built once per container)."""
    if app.openapi_schema is None:
        app.openapi_schema = build_openapi(app)
    return app.openapi_schema


app.openapi = openapi  # type: ignore[method-assign]

_mangum = Mangum(app, lifespan="off")


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point (API Gateway REST proxy event in, proxy response out)."""
    request_context = event.get("requestContext") if isinstance(event, dict) else None
    request_id = request_context.get("requestId") if isinstance(request_context, dict) else None
    # Set on every invocation (None included), so no log line carries the previous request's id.
    logger.set_correlation_id(str(request_id) if request_id else None)
    too_large = oversized_body_response(event, MAX_BODY_BYTES) if isinstance(event, dict) else None
    if too_large is not None:
        return too_large
    response: dict[str, Any] = _mangum(event, context)
    return response
