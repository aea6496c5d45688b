"""Forget what the functions built once per container (settings, AWS clients), as a new container would.

The functions run in this process (the API always, the callback in a test's in-process mode), and their
cached settings and clients read the environment once: the local cloud forgets them whenever it changes
the environment (`AWS_ENDPOINT_URL`, the table names). One registry does it: `taskcore.caches`
(`@container_cache` registers a factory, `reset_container_caches()` forgets them all).

Until every factory of both functions is registered, `LEGACY_CACHES` names those still on `functools.cache`
(tests/localcloud/test_function_caches.py fails when a cached factory is in neither).
"""

from __future__ import annotations

import importlib
from typing import Any


__all__ = ["LEGACY_CACHES", "legacy_caches", "reset_function_caches"]

#: `module:factory` of the functions' cached factories not yet registered with `taskcore.caches`.
LEGACY_CACHES = (
    "callback_app.settings:get_settings",
    "callback_app.service:get_dynamodb_client",
    "callback_app.service:get_task_runner",
    "callback_app.ledger:get_run_ledger",
    "callback_app.rejections:get_rejection_queue",
    "scheduler_app.settings:get_settings",
    "scheduler_app.clients:get_scheduler_client",
    "scheduler_app.clients:get_dynamodb_client",
    "scheduler_app.clients:get_secrets_client",
    "scheduler_app.apidocs:get_docs_settings",
    "scheduler_app.keys:get_cursor_seal",
)


def legacy_caches() -> list[Any]:
    """The factories `LEGACY_CACHES` names that exist and are not registered (a registered one is reset anyway)."""
    from taskcore.caches import registered_caches

    registered = {id(cached) for cached in registered_caches()}
    found = []
    for name in LEGACY_CACHES:
        module_name, _, attribute = name.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            continue  # moved: the test of this module names what is then left unreset
        cached = getattr(module, attribute, None)
        if cached is not None and hasattr(cached, "cache_clear") and id(cached) not in registered:
            found.append(cached)
    return found


def reset_function_caches() -> None:
    """Forget the functions' cached settings and clients (they read the environment once per container)."""
    from taskcore.caches import reset_container_caches

    reset_container_caches()
    for cached in legacy_caches():
        cached.cache_clear()
