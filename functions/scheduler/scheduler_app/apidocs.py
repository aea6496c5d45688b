"""`GET /docs`: Swagger UI on the OpenAPI document, its files loaded from where `API_DOCS_ASSETS_URL` says.

Deployed, that is the CDN (the default): the API is IAM-signed, so a browser reaches `/docs` only through a
signing proxy, and the Lambda artifacts stay free of 2 MB of JavaScript. The local cloud serves the same files,
vendored from npm (localcloud/static/swagger-ui), and points the setting at them, so `make dev`'s `/docs` works
without internet. ReDoc is not served: it would need its own bundle and web fonts for the same document.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from taskcore.caches import container_cache

#: The version vendored in localcloud/static/swagger-ui (a test keeps the two equal), on the CDN FastAPI uses.
CDN_ASSETS_URL = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5.36.0"

router = APIRouter(include_in_schema=False)


class DocsSettings(BaseSettings):
    """Where the docs page loads Swagger UI from (read on the first request, not at import)."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    assets_url: str = Field(
        default=CDN_ASSETS_URL,
        alias="API_DOCS_ASSETS_URL",
        min_length=1,
        description="A URL (or an absolute path) holding swagger-ui-bundle.js, swagger-ui.css and favicon-32x32.png",
    )


@container_cache
def get_docs_settings() -> DocsSettings:
    """The docs settings, read once per container (tests call `get_docs_settings.cache_clear()`)."""
    return DocsSettings()


@router.get("/docs")
async def docs(request: Request) -> HTMLResponse:
    """Swagger UI, with each operation's id shown (the name a generated client gives its method)."""
    assets = get_docs_settings().assets_url.rstrip("/")
    # Behind a path prefix (an API Gateway stage), the document is under it too: FastAPI's own /docs does the same.
    root_path = str(request.scope.get("root_path", "")).rstrip("/")
    return get_swagger_ui_html(
        openapi_url=f"{root_path}{request.app.openapi_url}",
        title=f"{request.app.title} - Swagger UI",
        swagger_js_url=f"{assets}/swagger-ui-bundle.js",
        swagger_css_url=f"{assets}/swagger-ui.css",
        swagger_favicon_url=f"{assets}/favicon-32x32.png",
        # validatorUrl None: Swagger UI sends the document to no validator service.
        swagger_ui_parameters={"displayOperationId": True, "validatorUrl": None},
    )
