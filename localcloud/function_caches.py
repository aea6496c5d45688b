"""Forget what the functions built once per container (settings, AWS clients), as a new container would.

The functions run in this process (the API always, the callback in a test's in-process mode), and their
cached settings and clients read the environment once: the local cloud forgets them whenever it changes
the environment (`AWS_ENDPOINT_URL`, the table names). One registry does it: `taskcore.caches`
(`@container_cache` registers a factory, `reset_container_caches()` forgets them all), so a new cache cannot
be missed by the reset (tests/localcloud/test_function_caches.py finds every cached factory of both functions).
"""

from __future__ import annotations

from taskcore.caches import reset_container_caches

__all__ = ["reset_function_caches"]


def reset_function_caches() -> None:
    """Forget the functions' cached settings and clients (they read the environment once per container)."""
    reset_container_caches()
