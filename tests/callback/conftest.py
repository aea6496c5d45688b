"""Callback fixtures beyond the shared ones: the callback's log lines as JSON."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Callable[[], list[dict[str, Any]]]:
    """The JSON log lines so far, rendered by the callback's own Powertools formatter."""
    from callback_app.observability import logger

    def read() -> list[dict[str, Any]]:
        lines = [json.loads(logger.registered_formatter.format(record)) for record in caplog.records]
        caplog.clear()
        return lines

    return read
