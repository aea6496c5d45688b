"""The console's ASGI app: the pages under /console, their static files, and the guard every request passes
(console/guard.py: its own Host only, no framing, a CSRF token on every change)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from console import acting, guard
from console.pages import router
from console.web import HERE, PREFIX, BadOwner, Console, page

__all__ = ["Console", "create_app", "lambda_handler_for"]

_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def create_app(console: Console) -> FastAPI:
    """The console's app, served under /console (`/`, `/console` and `/console/` lead to the task list)."""
    # No automatic slash redirects: Starlette's are absolute URLs built from the scheme Mangum assumes (https).
    app = FastAPI(
        title="Scheduled tasks console", docs_url=None, redoc_url=None, openapi_url=None, redirect_slashes=False
    )
    app.state.console = console
    app.mount(PREFIX + "/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(router, prefix=PREFIX)
    app.include_router(acting.router, prefix=PREFIX)

    @app.exception_handler(guard.BadForm)
    async def bad_form(request: Request, exc: guard.BadForm) -> Response:
        return PlainTextResponse(str(exc), status_code=400)

    @app.exception_handler(BadOwner)
    async def bad_owner(request: Request, exc: BadOwner) -> Response:
        task_id = str(request.path_params.get("task_id", ""))
        return page(request, "refused.html", {"section": "tasks", "task_id": task_id, "message": str(exc)}, 422)

    @app.middleware("http")
    async def guarded(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await _guarded(request, call_next, console)
        response.headers.update(guard.SECURITY_HEADERS)
        return response

    @app.get("/", include_in_schema=False)
    @app.get(PREFIX, include_in_schema=False)
    @app.get(PREFIX + "/", include_in_schema=False)
    async def front_door() -> RedirectResponse:
        return RedirectResponse(PREFIX + "/tasks", status_code=307)

    return app


async def _guarded(request: Request, call_next: Callable[[Request], Awaitable[Response]], console: Console) -> Response:
    """The request checked (Host, then for a change its origin and token), and the browser's id kept."""
    served_at = console.served_at()
    if not guard.host_allowed(request.headers.get("host"), served_at):
        return guard.misdirected(served_at)
    browser, new = guard.browser_id(request)
    request.state.browser = browser
    request.state.csrf_token = guard.sign(console.secret, "csrf", browser)
    path = request.url.path
    if request.method not in _SAFE_METHODS:
        response = await guard.refuse_change(request, request.state.csrf_token) or await call_next(request)
    elif path.endswith("/") and path.startswith(PREFIX + "/") and path != PREFIX + "/":
        # `/console/tasks/` is `/console/tasks`: a relative redirect keeps the browser's scheme and host.
        query = f"?{request.url.query}" if request.url.query else ""
        response = RedirectResponse(path.rstrip("/") + query, status_code=307)
    else:
        response = await call_next(request)
    if new:
        guard.set_browser(response, browser, PREFIX)
    return response


def lambda_handler_for(app: FastAPI) -> Callable[[Any, Any], Any]:
    """`app` as a Lambda entry point for the local API server (REST proxy events, through Mangum).

    The adapter is made on the first invocation, on the worker thread that runs them all: Mangum takes the
    event loop of the thread it is made on, and makes (and leaves open) one for a thread that has none.
    The local server speaks plain HTTP: the events say so (Mangum assumes API Gateway's https otherwise).
    """
    adapter: Any = None

    def handle(event: Any, context: Any) -> Any:
        nonlocal adapter
        if adapter is None:
            from mangum import Mangum

            adapter = Mangum(app, lifespan="off")
        plain = {
            **event,
            "headers": {**(event.get("headers") or {}), "x-forwarded-proto": "http"},
            "multiValueHeaders": {**(event.get("multiValueHeaders") or {}), "x-forwarded-proto": ["http"]},
        }
        return adapter(plain, context)

    return handle
