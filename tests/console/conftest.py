"""Console fixtures: Debian's chromium driven by Playwright, pages that fail a test on any console error,
and `make dev` itself (a subprocess on free ports) for the browser to use.

Screenshots for the docs are taken only when CONSOLE_SCREENSHOTS names a directory (`make screenshots` names
docs/console): a test run leaves the tracked images alone."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from tests.localcloud.test_dev_process import DevProcess

#: Debian's package (`apt-get install -y chromium`; `make test` installs it): Playwright's own download is unreachable.
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS_VARIABLE = "CONSOLE_SCREENSHOTS"


def screenshot(page: Page, name: str) -> Path | None:
    """A full-page screenshot into the directory CONSOLE_SCREENSHOTS names (`make screenshots`); none without it."""
    directory = os.environ.get(SCREENSHOTS_VARIABLE, "").strip()
    if not directory:
        return None
    path = Path(directory) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=path, full_page=True)
    return path


_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client: Any, path: str = "/console/create") -> str:
    """The CSRF token a console page gives this client (an httpx or test client that keeps its cookies)."""
    page = client.get(path)
    found = _TOKEN.search(page.text)
    assert found is not None, f"no CSRF token on {path} ({page.status_code})"
    return found.group(1)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """A headless chromium for one module's tests.

    Not per session: while Playwright's sync API is alive it marks the main thread's event loop as running, and
    every other test that runs a Mangum adapter on the main thread would fail ("This event loop is already
    running"). Module scope ends it before the worker moves on to another module.
    """
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (as root), or run `apt-get install -y chromium`")
    with sync_playwright() as playwright:
        # As root, chromium's sandbox cannot start; the pages it opens are this project's own, on loopback.
        args = ["--no-sandbox"] if os.geteuid() == 0 else []
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=args)
        yield launched
        launched.close()


class Problems(list[str]):
    """Console errors and warnings, and uncaught exceptions, of one page."""

    def console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            self.append(f"console {message.type}: {message.text} at {message.location}")

    def page_error(self, error: Any) -> None:
        self.append(f"uncaught: {error}")


@pytest.fixture
def problems() -> Problems:
    return Problems()


@pytest.fixture
def page(browser: Browser, problems: Problems) -> Iterator[Page]:
    """A page at 1280x800 whose console errors fail the test (checked after the test, on every page it opened)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    opened = context.new_page()
    opened.on("console", problems.console)
    opened.on("pageerror", problems.page_error)
    opened.set_default_timeout(15_000)
    yield opened
    context.close()
    assert list(problems) == [], "the console's pages logged errors"


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`make dev` (python -m localcloud.dev) on free ports; its published state (api_url, moto_url, environment)."""
    process = DevProcess(tmp_path_factory.mktemp("dev") / "state.json", "--quiet")
    try:
        yield process.state()
    finally:
        process.stop()


@pytest.fixture
def dev_sqs(dev: dict[str, Any]) -> Any:
    """An SQS client on the dev process's AWS endpoint (moto)."""
    return boto3.client("sqs", endpoint_url=dev["moto_url"], region_name=dev["environment"]["AWS_DEFAULT_REGION"])
