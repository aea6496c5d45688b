"""`make test` leaves docs/console alone: the browser tests take screenshots only when CONSOLE_SCREENSHOTS names a
directory, and only `make screenshots` names docs/console."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page

from localcloud.template import ROOT
from tests.console.conftest import SCREENSHOTS_VARIABLE, screenshot

DOCS_SHOTS = ROOT / "docs" / "console"


def fingerprint(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.glob("*"))}


def make_target(name: str) -> str:
    """The recipe of one Makefile target."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    found = re.search(rf"^{name}:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert found is not None, f"no target {name} in the Makefile"
    return found.group(1)


def test_without_the_variable_a_browser_test_writes_no_screenshot(
    page: Page, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(SCREENSHOTS_VARIABLE, raising=False)
    before = fingerprint(DOCS_SHOTS)
    page.set_content("<!doctype html><title>shot</title><p>a page</p>")

    assert screenshot(page, "tasks.png") is None

    assert fingerprint(DOCS_SHOTS) == before


def test_with_the_variable_the_screenshot_goes_to_the_directory_it_names(
    page: Page, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(SCREENSHOTS_VARIABLE, str(tmp_path))
    before = fingerprint(DOCS_SHOTS)
    page.set_content("<!doctype html><title>shot</title><p>a page</p>")

    written = screenshot(page, "tasks.png")

    assert written == tmp_path / "tasks.png"
    assert written.read_bytes().startswith(b"\x89PNG")
    assert fingerprint(DOCS_SHOTS) == before


def test_only_make_screenshots_names_docs_console_and_make_test_never_does() -> None:
    screenshots = make_target("screenshots")
    test = make_target("test")

    assert f"{SCREENSHOTS_VARIABLE}=$(ROOT)/docs/console" in screenshots
    assert "tests/console" in screenshots
    assert "docs/console" not in test
    assert f"-u {SCREENSHOTS_VARIABLE}" in test  # not even one set in the caller's environment
