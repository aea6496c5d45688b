"""The `task_cloud` pytest fixture: the whole system in the test's process on a virtual clock (docs/testing.md).

Registered as a pytest plugin by pyproject.toml (`[project.entry-points.pytest11]`), so every test run in
this repository's environment has it. Options per test, with a marker::

    @pytest.mark.task_cloud(start=datetime(2027, 3, 1, tzinfo=UTC), adverse=Adverse(duplicate_deliveries=1.0))
    def test_...(task_cloud): ...

Importing this module costs nothing: the local cloud is imported when a test asks for the fixture.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from localcloud.taskkit import TaskCloud

MARKER = "task_cloud"
MARKER_HELP = (
    "task_cloud(start=None, adverse=None, timeout_seconds=None, retry_delays=(60.0, 120.0), adversity=None): "
    "options of the task_cloud fixture (the virtual clock's start, AWS's adverse behaviour, the callback's "
    "Timeout, Lambda's retry delays, the local cloud's adverse knobs); see docs/testing.md"
)


def pytest_configure(config: pytest.Config) -> None:
    """Declare the marker (the project runs pytest with --strict-markers)."""
    config.addinivalue_line("markers", f"{MARKER_HELP}")


@pytest.fixture
def task_cloud(request: pytest.FixtureRequest) -> Iterator[TaskCloud]:
    """The scheduler API, the callback, the ledger, the dead-letter queues and the dispatcher, in this process,
    on one virtual clock (`localcloud.taskkit.TaskCloud`): `client`, `advance()`, `now`, `dead_letters()`,
    `redrive()`, `receiver(app)`, `signing_secret`. The test's `@pytest.mark.task_cloud(...)` gives its options."""
    from localcloud.taskkit import TaskCloud

    marker = request.node.get_closest_marker(MARKER)
    if marker is not None and marker.args:
        raise TypeError("@pytest.mark.task_cloud takes keyword arguments only (start=, adverse=, ...)")
    options = dict(marker.kwargs) if marker is not None else {}
    with TaskCloud(**options) as cloud:
        yield cloud
