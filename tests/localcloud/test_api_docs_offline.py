"""`make dev`'s `/docs` renders in a real browser that can reach nothing but loopback.

FastAPI's Swagger UI loads its JavaScript and CSS from a CDN, so without internet the page was blank. The local
cloud serves vendored copies (localcloud/static/swagger-ui) and points the docs page at them.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Route

from tests.console.conftest import browser
from tests.localcloud.test_dev_process import DevProcess
from tests.scheduler.test_openapi_operations import OPERATIONS

__all__ = ["browser"]

pytestmark = pytest.mark.integration

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


@pytest.fixture(scope="module")
def dev_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m localcloud.dev` (make dev) on a free port: its API's URL."""
    process = DevProcess(tmp_path_factory.mktemp("docs") / "state.json", "--quiet")
    try:
        url: str = process.state()["api_url"]
        yield url
    finally:
        process.stop()


def test_docs_render_every_operation_with_every_request_beyond_loopback_blocked(browser: Browser, dev_api: str) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    blocked: list[str] = []
    loaded: list[str] = []
    problems: list[str] = []

    def only_loopback(route: Route) -> None:
        url = route.request.url
        if urlsplit(url).hostname in LOOPBACK:
            loaded.append(url)
            route.continue_()
        else:
            blocked.append(url)
            route.abort("internetdisconnected")

    context.route("**/*", only_loopback)
    page = context.new_page()
    page.on("console", lambda message: problems.extend([message.text] if message.type == "error" else []))
    page.on("pageerror", lambda error: problems.append(str(error)))
    try:
        page.goto(f"{dev_api}/docs")
        page.locator(".opblock").nth(len(OPERATIONS) - 1).wait_for(timeout=30_000)
        operations = page.locator(".opblock")
        shown = {
            (
                operations.nth(i).locator(".opblock-summary-method").inner_text().strip(),
                operations.nth(i).locator(".opblock-summary-path").inner_text().replace("\u200b", "").strip(),
            )
            for i in range(operations.count())
        }
        operation_ids = set(page.locator(".opblock-summary-operation-id").all_inner_texts())
        title = page.locator(".info .title").inner_text()
    finally:
        context.close()

    assert blocked == []  # the page asked for nothing beyond loopback
    assert problems == []
    assert shown == set(OPERATIONS)
    assert operation_ids == set(OPERATIONS.values())
    assert title.startswith("Scheduled tasks API")
    assert any("/_localcloud/swagger-ui/swagger-ui-bundle.js" in url for url in loaded)
