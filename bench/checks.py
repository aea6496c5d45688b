"""Facts about the artifacts that explain figures: the X-Ray SDK in the layer, thread-pool FastAPI dependencies."""

from __future__ import annotations

import inspect
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any


def xray_sdk_in(layer: Path) -> bool:
    """Whether the layer ships the X-Ray SDK (without it Powertools' Tracer stays off)."""
    return (layer / "aws_xray_sdk").is_dir()


def threadpool_dependencies() -> dict[str, list[str]]:
    """The FastAPI dependencies each function's app runs in the thread pool (plain `def`, not generators):
    FastAPI calls such a dependency with `run_in_threadpool` on every request that uses it."""
    out: dict[str, list[str]] = {}
    for key, entry_point in (("callback_sync_dependencies", _callback), ("scheduler_sync_dependencies", _scheduler)):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out[key] = sync_dependencies(entry_point())
        except Exception as exc:  # a function that does not import is reported, not fatal
            out[key] = [f"(could not import its entry point: {type(exc).__name__})"]
    return out


def _callback() -> ModuleType:
    import callback_app.handler

    return callback_app.handler


def _scheduler() -> ModuleType:
    import scheduler_app.handler

    return scheduler_app.handler


def sync_dependencies(entry_point: ModuleType) -> list[str]:
    """The thread-pool dependencies of the FastAPI app that `entry_point` (a Lambda handler's module) serves."""
    from fastapi import FastAPI
    from fastapi.routing import APIRoute

    apps = [value for value in vars(entry_point).values() if isinstance(value, FastAPI)]
    routes = [route for app in apps for route in app.routes if isinstance(route, APIRoute)]
    return sorted(set[str]().union(*(_walk(route.dependant) for route in routes)))


def _walk(dependant: Any) -> set[str]:
    names: set[str] = set()
    for dep in dependant.dependencies:
        if dep.call is not None and _in_threadpool(dep.call):
            names.add(getattr(dep.call, "__name__", repr(dep.call)))
        names |= _walk(dep)
    return names


def _in_threadpool(call: Any) -> bool:
    target = call if inspect.isfunction(call) or inspect.ismethod(call) else getattr(call, "__call__", call)  # noqa: B004
    checks = (inspect.iscoroutinefunction, inspect.isgeneratorfunction, inspect.isasyncgenfunction)
    return not any(check(inspect.unwrap(target)) for check in checks)
