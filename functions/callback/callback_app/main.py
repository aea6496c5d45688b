"""The callback function's FastAPI app: `POST /api/v1/tasks/callback` runs one occurrence of a task once.

The Lambda entry point (callback_app.handler) hands the app each event through Mangum and owns the
failure semantics. The route runs the occurrence and says how it ended on the invocation's run
(callback_app.run), whose one table gives each exception its status; the response it answers with is
plain HTTP: a 2xx for a task done (run now, or replayed), a 422 for one that can never run, a 5xx for
one that failed and must be retried.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from callback_app.compat import TaskCallbackRequest, TaskCallbackResponse
from callback_app.errors import IdempotencyStoreNotConfigured, RetryBudgetExhausted, TaskNotLive
from callback_app.run import Run, current_run
from callback_app.service import TaskRunner, get_task_runner
from taskcore.errors import validation_problem
from taskcore.proxy import CALLBACK_PATH, SchedulerContext
from taskcore.registry import registry

HEALTH_PATH = "/health"


async def task_runner() -> TaskRunner:
    """The container's runner. `async` so FastAPI calls it inline: a sync dependency would start a
    thread-pool thread on every invocation (measured: warm p50 0.9 ms -> 0.4 ms)."""
    return get_task_runner()


def this_run(request: Request) -> Run:
    """The invocation's run, made by the entry point; a request that did not come through it (a TestClient's)
    gets one of its own. Called by the route, not a FastAPI dependency: each dependency costs its resolution on
    every invocation (measured by `make bench`'s warm rows)."""
    return current_run() or Run(scheduler=SchedulerContext.from_headers(request.headers))


TaskRunnerDep = Annotated[TaskRunner, Depends(task_runner)]

app = FastAPI(
    title="Scheduled task callback",
    summary="Invoked by EventBridge Scheduler with an API Gateway proxy event; runs one task once.",
    version="1.0.0",
    # A path with a trailing slash is not the callback: 404, not a 307 that would count as done.
    redirect_slashes=False,
)


@app.exception_handler(RequestValidationError)
async def _invalid_task(request: Request, exc: RequestValidationError) -> JSONResponse:
    # FastAPI's default handler echoes each invalid input: task data in the response, and a 500 when the
    # input cannot be rendered as JSON (NaN, Infinity, a lone surrogate). Location, message and type only.
    problem = validation_problem(exc.errors())
    if (run := current_run()) is not None:
        run.answered(422, str(problem["detail"]), error_type="ValidationError")
    return JSONResponse(status_code=422, content=problem)


@app.exception_handler(StarletteHTTPException)
async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    """FastAPI's own answer; the run learns it, unless the route already said how it ended (a wrong path or
    method, a body that cannot be parsed)."""
    if (run := current_run()) is not None:
        run.answered(exc.status_code, str(exc.detail))
    return await http_exception_handler(request, exc)


@app.exception_handler(IdempotencyStoreNotConfigured)
async def _store_not_configured(request: Request, exc: IdempotencyStoreNotConfigured) -> JSONResponse:
    run = current_run() or Run()
    ending = run.failed(exc, task_id=run.task_id, action=run.action)
    return JSONResponse(status_code=ending.status_code, content={"detail": ending.detail})


@app.get(HEALTH_PATH)
async def health() -> dict[str, Any]:
    """Liveness, and which actions this deployment can run."""
    return {"status": "ok", "service": "scheduled-tasks-callback", "actions": registry.names()}


@app.post(
    CALLBACK_PATH,
    response_model=TaskCallbackResponse,
    responses={
        422: {"description": "Permanent: unknown action, invalid data, or the action rejected the task"},
        500: {"description": "The action failed; the invocation fails and Lambda retries it"},
        503: {"description": "Another delivery is running, or the idempotency store is unavailable; retried"},
    },
)
async def handle_task_callback(
    task: TaskCallbackRequest, runner: TaskRunnerDep, request: Request
) -> TaskCallbackResponse:
    """Run the task's action once for this occurrence; a duplicate delivery replays the stored result."""
    run = this_run(request)
    try:
        # Sync on purpose: one request per container, so blocking here costs nothing, and it skips
        # the thread-pool hop that would also break Powertools' per-thread state.
        run.start = run.open_start() if run.open_start is not None else None
        ran = runner.run(task, run.scheduler, run.lambda_context, start=run.start, on_deadline=run.on_deadline)
    except (TaskNotLive, RetryBudgetExhausted) as exc:  # the action did not run, and no retry would run it
        ending = run.skipped(exc) if isinstance(exc, TaskNotLive) else run.ended_for_good(exc)
        message = f"Task {task.task_id} was not run: {ending.detail}"
        return TaskCallbackResponse(success=False, message=message, task_id=task.task_id)
    except Exception as exc:
        ending = run.failed(exc, task_id=task.task_id, action=task.action)
        raise HTTPException(status_code=ending.status_code, detail=ending.detail) from exc
    run.succeeded(ran.stored.get("result"), replayed=ran.replayed)
    return TaskCallbackResponse(
        success=True,
        message=f"Task {task.task_id} {'was already processed' if ran.replayed else 'processed successfully'}",
        task_id=task.task_id,
        duplicate=ran.replayed,
        result=ran.stored.get("result"),
    )
