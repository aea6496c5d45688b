"""`/api/v1/schedules`: create (one or a batch), read, list, change (a merge patch), pause, resume and cancel."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Response

from scheduler_app.api_errors import error_body, error_status, errors
from scheduler_app.deps import AddressedSchedulerDep, SchedulerDep, TaskIdPath
from scheduler_app.engine import BatchOutcome
from scheduler_app.examples import CREATE_EXAMPLES, PATCH_EXAMPLES
from scheduler_app.models import ScheduleRequest
from scheduler_app.responses import (
    BatchItemResult,
    BatchRequest,
    BatchResponse,
    RunPage,
    SchedulePage,
    ScheduleView,
)
from taskcore.envelope import TASK_ID_PATTERN

router = APIRouter(prefix="/api/v1/schedules", tags=["schedules"])

#: The PATCH body is any JSON (a merge patch); the document names its schema for both media types.
PATCH_CONTENT = {
    media: {"schema": {"$ref": "#/components/schemas/SchedulePatch"}}
    for media in ("application/json", "application/merge-patch+json")
}


@router.post(
    "",
    operation_id="createSchedule",
    status_code=201,
    response_model=ScheduleView,
    responses={
        200: {"model": ScheduleView, "description": "The same task and request again: the existing schedule"},
        **errors(409, 413, 422, 429, 502, 507),
    },
)
async def create_schedule(
    body: Annotated[ScheduleRequest, Body(openapi_examples=CREATE_EXAMPLES)], service: SchedulerDep, response: Response
) -> ScheduleView:
    """Schedule a task once (`delay_seconds`, `delay_minutes`, `run_at`) or on a `cron`/`rate`."""
    # Sync calls on purpose: one request per Lambda container, so blocking costs nothing here.
    result = service.create(body)
    if not result.created:
        response.status_code = 200
    return result.view


@router.post("/batch", operation_id="createSchedulesBatch", response_model=BatchResponse, responses=errors(422))
async def create_schedules(body: BatchRequest, service: SchedulerDep) -> BatchResponse:
    """Up to 100 creates at once: each item gets the status and body its own POST would have had."""
    results = [_batch_result(outcome) for outcome in service.create_batch(body.items)]
    return BatchResponse(
        items=results,
        created=sum(r.status == 201 for r in results),
        existing=sum(r.status == 200 for r in results),
        failed=sum(r.status >= 400 for r in results),
    )


def _batch_result(outcome: BatchOutcome) -> BatchItemResult:
    if outcome.error is not None or outcome.view is None:
        status = error_status(outcome.error) if outcome.error is not None else 502
        body = (
            error_body(outcome.error)
            if outcome.error is not None
            else {"detail": "no answer", "code": "upstream_error"}
        )
        return BatchItemResult(index=outcome.index, status=status, body=body)
    status = 201 if outcome.created else 200
    return BatchItemResult(index=outcome.index, status=status, body=outcome.view.model_dump(mode="json"))


#: The stored states a listing filters on (taskcore.ledger.STATES; running and retrying are derived, not stored).
ListedStatus = Literal["scheduled", "paused", "succeeded", "failed", "rejected", "missed", "cancelled", "ended"]


@router.get("", operation_id="listSchedules", response_model=SchedulePage, responses=errors(422, 429, 502))
async def list_schedules(
    service: AddressedSchedulerDep,
    user_id: Annotated[
        str | None, Query(min_length=1, max_length=128, description="Only this user's tasks (every status)")
    ] = None,
    status: Annotated[
        ListedStatus | None,
        Query(description="Only tasks in this stored state (default: scheduled and paused, the live ones)"),
    ] = None,
    action: Annotated[str | None, Query(min_length=1, max_length=128, description="Only this action's tasks")] = None,
    state: Annotated[
        Literal["ENABLED", "DISABLED"] | None,
        Query(description="Only tasks whose schedule is in this state (the same as status=scheduled or paused)"),
    ] = None,
    prefix: Annotated[
        str | None, Query(pattern=TASK_ID_PATTERN, description="Only task ids starting with this")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Page size (a page may hold fewer)")] = 50,
    cursor: Annotated[str | None, Query(max_length=4096, description="From the previous page")] = None,
) -> SchedulePage:
    """The tasks in the ledger, newest first, a page at a time (each page one DynamoDB Query)."""
    return service.list_schedules(
        state=state, prefix=prefix, limit=limit, cursor=cursor, status=status, user_id=user_id, action=action
    )


@router.get("/{task_id}", operation_id="getSchedule", response_model=ScheduleView, responses=errors(404, 422, 429, 502))
async def get_schedule(task_id: TaskIdPath, service: AddressedSchedulerDep) -> ScheduleView:
    """The task for its whole life: its request, schedule, state, next run (UTC) and latest runs."""
    return service.get(task_id)


@router.get(
    "/{task_id}/runs", operation_id="listScheduleRuns", response_model=RunPage, responses=errors(404, 422, 429, 502)
)
async def list_runs(
    task_id: TaskIdPath,
    service: AddressedSchedulerDep,
    limit: Annotated[int, Query(ge=1, le=100, description="Page size")] = 20,
    cursor: Annotated[str | None, Query(max_length=4096, description="From the previous page")] = None,
) -> RunPage:
    """The task's runs, newest first: attempts, timing, outcome, result or error of each occurrence."""
    return service.runs(task_id, limit=limit, cursor=cursor)


@router.patch(
    "/{task_id}",
    operation_id="updateSchedule",
    response_model=ScheduleView,
    responses=errors(404, 409, 413, 422, 429, 502),
    openapi_extra={"requestBody": {"required": True, "content": PATCH_CONTENT}},
)
async def update_schedule(
    task_id: TaskIdPath, body: Annotated[Any, Body(openapi_examples=PATCH_EXAMPLES)], service: AddressedSchedulerDep
) -> ScheduleView:
    """Change the task with a JSON Merge Patch (RFC 7396) of its create request, validated exactly as a create.

    Members given replace, `null` removes, objects (`data`, `retry`) merge member by member; a new
    timing replaces the old one. `content-type: application/merge-patch+json` or `application/json`.
    """
    return service.update(task_id, body)


@router.delete(
    "/{task_id}",
    operation_id="deleteSchedule",
    status_code=204,
    response_class=Response,
    responses=errors(404, 422, 429, 502),
)
async def delete_schedule(task_id: TaskIdPath, service: AddressedSchedulerDep) -> Response:
    """Cancel the task."""
    service.delete(task_id)
    return Response(status_code=204)


@router.post(
    "/{task_id}/pause", operation_id="pauseSchedule", response_model=ScheduleView, responses=errors(404, 422, 429, 502)
)
async def pause_schedule(task_id: TaskIdPath, service: AddressedSchedulerDep) -> ScheduleView:
    """Disable the schedule; it keeps everything and does not run until resumed."""
    return service.pause(task_id)


@router.post(
    "/{task_id}/resume",
    operation_id="resumeSchedule",
    response_model=ScheduleView,
    responses=errors(404, 422, 429, 502),
)
async def resume_schedule(task_id: TaskIdPath, service: AddressedSchedulerDep) -> ScheduleView:
    """Enable the schedule again."""
    return service.resume(task_id)
