"""The console's ASGI app: the pages under /console, their static files, and a guard against cross-site posts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from console.pages import router
from console.web import HERE, PREFIX, Console, same_origin

__all__ = ["Console", "create_app"]


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
