"""`GET /docs`: Swagger UI loads its files from `API_DOCS_ASSETS_URL` (the CDN by default; the local cloud's own
vendored copy under `make dev`), and the CDN serves the very version that is vendored."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from localcloud.static_files import SWAGGER_UI_DIR
from scheduler_app.apidocs import CDN_ASSETS_URL, get_docs_settings


@pytest.fixture
def docs_settings() -> Iterator[None]:
    get_docs_settings.cache_clear()
    yield
    get_docs_settings.cache_clear()


def asset_urls(html: str) -> list[str]:
    return re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)


def test_the_docs_page_loads_swagger_ui_from_the_cdn_by_default(
    api: Any, docs_settings: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("API_DOCS_ASSETS_URL", raising=False)

    page = api.get("/docs")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert sorted(asset_urls(page.text)) == [
        f"{CDN_ASSETS_URL}/favicon-32x32.png",
        f"{CDN_ASSETS_URL}/swagger-ui-bundle.js",
        f"{CDN_ASSETS_URL}/swagger-ui.css",
    ]
    assert "'/openapi.json'" in page.text or '"/openapi.json"' in page.text
    assert '"validatorUrl": null' in page.text  # the document is sent to no validator service


def test_the_docs_page_loads_swagger_ui_from_where_the_setting_says(
    api: Any, docs_settings: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("API_DOCS_ASSETS_URL", "/_localcloud/swagger-ui/")

    urls = asset_urls(api.get("/docs").text)

    assert sorted(urls) == [
        "/_localcloud/swagger-ui/favicon-32x32.png",
        "/_localcloud/swagger-ui/swagger-ui-bundle.js",
        "/_localcloud/swagger-ui/swagger-ui.css",
    ]
    assert all((SWAGGER_UI_DIR / url.rsplit("/", 1)[1]).is_file() for url in urls)


def test_redoc_is_not_served(api: Any) -> None:
    assert api.get("/redoc").status_code == 404


def test_the_cdn_url_names_the_vendored_version() -> None:
    heading = (SWAGGER_UI_DIR / "VERSION.md").read_text().splitlines()[0]
    version = re.fullmatch(r"# Swagger UI (\d+\.\d+\.\d+) \(vendored\)", heading)

    assert version is not None
    assert CDN_ASSETS_URL.endswith(f"/swagger-ui-dist@{version[1]}")
    assert f"swagger-ui-dist-{version[1]}.tgz" in (SWAGGER_UI_DIR / "VERSION.md").read_text()
