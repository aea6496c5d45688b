"""Callback fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from taskcore.registry import registry
from tests.callback.helpers import ActionSpy, AnyData


@pytest.fixture
def spy_action() -> Iterator[ActionSpy]:
    """A registered action named `spy` that records its runs."""
    spy = ActionSpy()
    registry.action("spy", AnyData)(spy)
    yield spy
    registry.unregister("spy")
