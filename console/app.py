"""The console's ASGI app: the pages under /console, their static files, and a guard against cross-site posts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from console.pages import router
from console.web import HERE, PREFIX, Console, same_origin

__all__ = ["Console", "create_app", "lambda_handler_for"]


def create_app(console: Console) -> FastAPI:
    """The console's app, served under /console (and / redirects there)."""
    app = FastAPI(title="Scheduled tasks console", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.console = console
    app.mount(PREFIX + "/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(router, prefix=PREFIX)

    @app.middleware("http")
    async def refuse_cross_site(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if request.method not in ("GET", "HEAD") and not same_origin(request):
            return Response("cross-site request refused", status_code=403, media_type="text/plain")
        return await call_next(request)

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse(PREFIX + "/tasks", status_code=307)

    return app


def lambda_handler_for(app: FastAPI) -> Callable[[Any, Any], Any]:
    """`app` as a Lambda entry point for the local API server (REST proxy events, through Mangum).

    The adapter is made on the first invocation, on the worker thread that runs them all: Mangum takes the
    event loop of the thread it is made on, and makes (and leaves open) one for a thread that has none.
    """
    adapter: Any = None

    def handle(event: Any, context: Any) -> Any:
        nonlocal adapter
        if adapter is None:
            from mangum import Mangum

            adapter = Mangum(app, lifespan="off")
        return adapter(event, context)

    return handle
