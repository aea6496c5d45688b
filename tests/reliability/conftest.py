"""Reliability fixtures: the scheduler's moto (once per module) and the local cloud harness.

The fixtures are the ones the scheduler and local cloud tests use, imported rather than copied,
so the reliability tests run on exactly the wiring the functional tests prove. Every figure a test counts
goes to `FIGURES`; the terminal summary prints them (run without `-n` to see them: docs/reliability.md).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.localcloud.conftest import make_harness
from tests.reliability.figures import FIGURES
from tests.scheduler.conftest import (
    _module_cloud,
    api,
    aws,
    clock,
    faults,
    group,
    scheduler,
    scheduler_env,
    schedules,
    sent,
)

__all__ = [
    "_module_cloud",
    "api",
    "aws",
    "clock",
    "faults",
    "group",
    "make_harness",
    "scheduler",
    "scheduler_env",
    "schedules",
    "sent",
]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The counted figures of this run (empty under xdist: the workers keep their own)."""
    lines = FIGURES.summary()
    if lines:
        terminalreporter.section("reliability figures")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture
def figures() -> Any:
    """Where tests count what they proved (printed at the end of the run)."""
    return FIGURES
