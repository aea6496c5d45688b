"""The scheduler function's FastAPI app: its routers, its error answers and its OpenAPI document.

API Gateway (REST, IAM-authorized) proxies every request to `scheduler_app.handler.lambda_handler`,
which hands it to this app through Mangum. The routes call the engine (`scheduler_app.engine.Engine`, built in
scheduler_app.deps), which knows nothing of HTTP; its domain errors become statuses in scheduler_app.api_errors.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from scheduler_app import api_errors, apidocs, compat
from scheduler_app.openapi import build_openapi
from scheduler_app.routers import health, schedules

app = FastAPI(
    title="Scheduled tasks API",
    summary="Schedule named actions to run once or on a cron/rate, on EventBridge Scheduler and Lambda.",
    version="1.0.0",
    # No 307 to the path without its slash (to https://, which a plain-HTTP client cannot follow): a 404 naming it.
    redirect_slashes=False,
    # /docs is scheduler_app.apidocs' (its Swagger UI files from a setting); no ReDoc.
    docs_url=None,
    redoc_url=None,
)
api_errors.install(app)
app.include_router(health.router)
app.include_router(schedules.router)
app.include_router(compat.router)
app.include_router(apidocs.router)


def openapi() -> dict[str, Any]:
    """The OpenAPI document, with the registered actions and their data (built once per container)."""
    if app.openapi_schema is None:
        app.openapi_schema = build_openapi(app)
    return app.openapi_schema


app.openapi = openapi  # type: ignore[method-assign]
