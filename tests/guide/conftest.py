"""The scheduler fixtures (`api`) for the guide's payload tests."""

from tests.scheduler.conftest import (  # noqa: F401 - fixtures
    _module_cloud,
    api,
    aws,
    scheduler_env,
)
