"""One reset forgets everything the functions built once per container.

The local cloud changes the environment (its endpoint, its tables) and runs the functions in its own process,
so it must forget their cached settings and clients each time, as a new container would. A cached factory
that the reset misses keeps the previous cloud's endpoint or table silently: these tests find every cached
factory in both functions' packages and fail when one is not reached.
"""

from __future__ import annotations

import importlib
import pkgutil
from contextlib import suppress
from typing import Any

import pytest

from localcloud.function_caches import reset_function_caches
from localcloud.template import LocalResources
from taskcore.caches import registered_caches


def cached_factories() -> dict[str, Any]:
    """Every cached function (`functools.cache`, `container_cache`) defined in either function's package."""
    found: dict[str, Any] = {}
    for package_name in ("callback_app", "scheduler_app"):
        package = importlib.import_module(package_name)
        for info in pkgutil.walk_packages(package.__path__, f"{package_name}."):
            module = importlib.import_module(info.name)
            for name, value in vars(module).items():
                if hasattr(value, "cache_clear") and getattr(value, "__module__", None) == module.__name__:
                    found[f"{module.__name__}:{name}"] = value
    return found


def test_the_reset_reaches_every_cached_factory_of_both_functions() -> None:
    factories = cached_factories()
    reached = {id(cached) for cached in registered_caches()}

    assert len(factories) >= 10  # settings, clients, the runner, the ledger, the cursors' seal, ...
    assert sorted(name for name, cached in factories.items() if id(cached) not in reached) == []


def test_after_the_reset_no_factory_keeps_what_it_built_before(
    aws: LocalResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given every factory that can build here has built (the environment of a local stack)
    monkeypatch.setenv("IDEMPOTENCY_TABLE_NAME", aws.names["IdempotencyTable"])
    monkeypatch.setenv("TASK_LEDGER_TABLE", aws.names["TaskLedgerTable"])
    monkeypatch.setenv("REJECTED_TASK_QUEUE_URL", aws.queue_urls["RejectedTaskQueue"])
    monkeypatch.setenv("SCHEDULE_GROUP_NAME", aws.names["ScheduleGroup"])
    monkeypatch.setenv("CALLBACK_FUNCTION_ARN", aws.arns["CallbackFunction"])
    monkeypatch.setenv("SCHEDULER_ROLE_ARN", aws.arns["SchedulerInvokeRole"])
    monkeypatch.setenv("SCHEDULER_DLQ_ARN", aws.arns["ScheduleDeliveryDLQ"])
    factories = cached_factories()
    reset_function_caches()
    for cached in factories.values():
        with suppress(Exception):  # one that needs more than this environment stays empty
            cached()
    built = sorted(name for name, cached in factories.items() if cached.cache_info().currsize)
    assert len(built) >= 8

    # When the local cloud resets them
    reset_function_caches()

    # Then none keeps a value
    assert sorted(name for name, cached in factories.items() if cached.cache_info().currsize) == []
