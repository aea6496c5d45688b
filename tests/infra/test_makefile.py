"""`make help`, the Makefile's default target, reads well wherever it is printed."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from localcloud.template import ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def make_help() -> str:
    result = subprocess.run(
        ["make", "--no-print-directory", "help"],  # noqa: S607 - make from PATH, as a developer runs it
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin:/usr/local/bin", "TERM": "xterm-256color"},
    )
    return result.stdout


def test_help_printed_to_a_file_or_a_pipe_has_no_terminal_colour_codes() -> None:
    text = make_help()

    assert "\x1b[" not in text
    assert "make dev" in text
    assert "make test" in text


def test_help_lists_every_documented_target_once() -> None:
    targets = [line.split()[1] for line in make_help().splitlines() if line.strip().startswith("make ")]

    assert len(targets) == len(set(targets))
    assert {"dev", "test", "dlq", "redrive", "bench", "deploy"} <= set(targets)
