"""What a Lambda container builds once: one registry of the cached factories, and one way to forget them all.

Settings and AWS clients are built on first use and kept for the container's life (outside the
handler, never at import). A factory registers itself with `container_cache`; tests and the local
cloud, which run many "containers" in one process, call `reset_container_caches()` after changing the
environment. A new cache cannot be forgotten by that reset: registering is what makes it a cache.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import cache
from typing import Any, Protocol, TypeVar, cast

R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)


class ContainerCached(Protocol[R_co]):
    """A registered factory: call it for the container's value; `cache_clear()` forgets it."""

    def __call__(self) -> R_co: ...

    def cache_clear(self) -> None: ...


_REGISTERED: list[ContainerCached[Any]] = []
_LOCK = threading.Lock()


def container_cache(factory: Callable[[], R]) -> ContainerCached[R]:
    """`functools.cache` for a container-wide factory of no arguments, registered for `reset_container_caches`."""
    cached = cast("ContainerCached[R]", cache(factory))
    with _LOCK:
        _REGISTERED.append(cached)
    return cached


def reset_container_caches() -> int:
    """Forget every registered factory's value (a new container, as far as the code can tell); returns how many."""
    with _LOCK:
        registered = list(_REGISTERED)
    for cached in registered:
        cached.cache_clear()
    return len(registered)


def registered_caches() -> list[ContainerCached[Any]]:
    """The registered factories (for tests that check a reset reaches them all)."""
    with _LOCK:
        return list(_REGISTERED)
