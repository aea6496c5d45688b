"""Every console URL the docs and the banners print, opened in a real browser: `make dev`'s and `make console`'s.

The URLs are read from README.md, docs/*.md, the banner `make dev` prints and the one `make console` prints; each
is opened as printed, with and without its trailing slash, on the running processes (the ports the docs name,
3000 and 8001, are the processes' own free ports here).
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

from localcloud.template import ROOT
from tests.console.conftest import Problems
from tests.localcloud.test_dev_process import DevProcess

pytestmark = pytest.mark.integration

#: The docs that print console URLs.
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: `http://127.0.0.1:3000/console...` as the docs print it (3000: make dev, 8001: make console).
_ABSOLUTE = re.compile(r"http://127\.0\.0\.1:(?P<port>\d+)(?P<path>/console[^\s)>`'\"\]]*)")
#: A console path in backticks, as docs/console.md's page table names them (`/console/tasks/{id}`).
_PATH = re.compile(r"`(?P<path>/console(?:/[\w.{}-]*)*)`")
DEV_PORT, CONSOLE_PORT = "3000", "8001"
TASK_ID = "front-door-1"


def printed_urls(text: str) -> list[tuple[str, str]]:
    """(port, path) of every console URL in `text`; a path without a host is make dev's."""
    found = [(m["port"], m["path"].rstrip(".,;:")) for m in _ABSOLUTE.finditer(text)]
    found += [(DEV_PORT, m["path"]) for m in _PATH.finditer(text)]
    return found


def lines_until(process_lines: queue.Queue[str], marker: str, timeout: float = 60) -> list[str]:
    """The lines a process printed, up to the first containing `marker`."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = process_lines.get(timeout=left)
        except queue.Empty:
            break
        seen.append(line)
        if marker in line:
            return seen
    raise AssertionError(f"{marker!r} not printed in {timeout} s:\n" + "\n".join(seen))


@dataclass
class Running:
    """`make dev` and `make console` (pointed at make dev's API), with the banners they printed."""

    dev_url: str
    console_url: str
    dev_banner: str
    console_banner: str


class MakeConsole:
    """`python -m console --api-url ...` (what `make console API_URL=...` runs), its stdout read line by line."""

    def __init__(self, api_url: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        # Credentials to sign with (the local API does not check them); nothing here talks to AWS.
        env.update(AWS_ACCESS_KEY_ID="AKIDFRONTDOOR", AWS_SECRET_ACCESS_KEY="front-door-secret")
        self.process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
            [sys.executable, "-m", "console", "--api-url", api_url, "--region", "eu-west-1", "--port", "0"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        assert self.process.stdout is not None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait(timeout=10)
        self._reader.join(timeout=10)
        assert self.process.stdout is not None
        self.process.stdout.close()


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    dev = DevProcess(tmp_path_factory.mktemp("front-door") / "state.json", "--quiet")
    console: MakeConsole | None = None
    try:
        dev_banner = "\n".join(lines_until(dev.lines, "Ctrl-C stops"))
        api_url = dev.state()["api_url"]
        created = httpx.post(
            f"{api_url}/api/v1/schedules",
            json={"task_id": TASK_ID, "user_id": 1, "action": "send_notification", "cron": "cron(0 9 * * ? *)"},
            timeout=10,
        )
        assert created.status_code == 201, created.text
        console = MakeConsole(api_url)
        console_banner = "\n".join(lines_until(console.lines, "Ctrl-C stops"))
        [console_url] = re.findall(r"http://\S+/console", console_banner)
        yield Running(api_url, console_url.removesuffix("/console"), dev_banner, console_banner)
    finally:
        if console is not None:
            console.stop()
        dev.stop()


def every_printed_url(running: Running) -> list[str]:
    """Every console URL printed anywhere, on the process that serves it, with and without a trailing slash."""
    printed: list[tuple[str, str]] = []
    for doc in DOCS:
        printed += printed_urls(doc.read_text(encoding="utf-8"))
    for banner in (running.dev_banner, running.console_banner):
        printed += [(str(urlsplit(url).port), urlsplit(url).path) for url in _urls(banner)]
    ports = {
        DEV_PORT: running.dev_url,
        CONSOLE_PORT: running.console_url,
        str(urlsplit(running.dev_url).port): running.dev_url,
        str(urlsplit(running.console_url).port): running.console_url,
    }
    urls: set[str] = set()
    for port, path in printed:
        base = ports[port]
        concrete = path.replace("{id}", TASK_ID).replace("{task_id}", TASK_ID)
        urls |= {base + concrete.rstrip("/"), base + concrete.rstrip("/") + "/"}
    return sorted(urls)


def _urls(banner: str) -> list[str]:
    return re.findall(r"http://[\w.:\[\]-]+/console[^\s]*", banner)


def test_the_docs_and_both_banners_print_the_consoles_front_door(running: Running) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    guide = (ROOT / "docs" / "console.md").read_text(encoding="utf-8")

    assert "http://127.0.0.1:3000/console" in readme
    assert "http://127.0.0.1:8001/console" in readme
    assert "http://127.0.0.1:3000/console" in guide
    assert f"{running.dev_url}/console" in running.dev_banner
    assert f"{running.console_url}/console" in running.console_banner


def test_every_console_url_the_docs_and_banners_print_opens_in_a_browser_over_plain_http(
    page: Page, problems: Problems, running: Running
) -> None:
    urls = every_printed_url(running)
    assert f"{running.dev_url}/console" in urls
    assert f"{running.console_url}/console/" in urls
    assert any("/console/tasks/" + TASK_ID in url for url in urls)

    failures: list[str] = []
    for url in urls:
        try:
            response = page.goto(url)
        except PlaywrightError as exc:
            failures.append(f"{url}: {exc.message.splitlines()[0]}")
            page.goto("about:blank")
            continue
        landed = page.url
        if response is None or not response.ok:
            failures.append(f"{url}: {response.status if response else 'no response'} at {landed}")
        elif not landed.startswith(url.split("/console", 1)[0] + "/console"):
            failures.append(f"{url}: ended at {landed}")
        if problems:
            failures.append(f"{url}: {list(problems)}")
            problems.clear()

    assert failures == [], "\n".join(failures)


def test_a_trailing_slash_is_redirected_relatively_and_never_to_https(running: Running) -> None:
    for base in (running.dev_url, running.console_url):
        for path in ("/console", "/console/", "/console/tasks/", f"/console/tasks/{TASK_ID}/"):
            answer = httpx.get(base + path, timeout=10)
            location = answer.headers.get("location", "")
            assert answer.status_code in (303, 307, 308), (path, answer.status_code)
            assert location.startswith("/console/"), (path, location)
