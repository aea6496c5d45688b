"""Code shared by the scheduler and callback functions, shipped once as a Lambda layer.

The public contract is ``__all__`` below: what an action imports (``action``, ``TaskContext``,
``TaskRejected``, ``Identifier``) and what both functions agree on (the task envelope, the proxy
event the schedule delivers, the limits). Anything else in the package is internal and may change.

The names are imported on first use (PEP 562), so ``import taskcore`` costs nothing at cold start
and ``from taskcore import action`` loads only the registry::

    from taskcore import Identifier, TaskContext, TaskRejected, action
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from taskcore.envelope import Identifier, TaskEnvelope, TaskId
    from taskcore.errors import describe_errors, validation_problem
    from taskcore.limits import LAMBDA_ASYNC_PAYLOAD_BYTES, MAX_DATA_DEPTH, MAX_TASK_EVENT_BYTES
    from taskcore.outbound.delivery import send_http_request
    from taskcore.outbound.request import HttpRequestData
    from taskcore.proxy import (
        CALLBACK_PATH,
        SchedulerContext,
        TaskFields,
        build_proxy_event,
        build_target_input,
        delivered_event,
        task_fields,
    )
    from taskcore.registry import TaskContext, TaskRejected, UnknownActionError, action
    from taskcore.secrets import SecretUnavailable, read_secret

#: Each public name and the module that defines it.
_HOMES = {
    # Writing an action
    "action": "taskcore.registry",
    "TaskContext": "taskcore.registry",
    "TaskRejected": "taskcore.registry",
    "Identifier": "taskcore.envelope",
    # The HTTP action's data and call, for an action of your own that calls your backend (docs/http-actions.md)
    "HttpRequestData": "taskcore.outbound.request",
    "send_http_request": "taskcore.outbound.delivery",
    # A secret for an action that needs one, read when it runs (docs/adding-an-action.md, "AWS access")
    "read_secret": "taskcore.secrets",  # nosec B105  # a module name, not a password
    "SecretUnavailable": "taskcore.secrets",
    # (The registry itself is `taskcore.registry.registry`: as a package attribute, `registry` is the module.)
    "UnknownActionError": "taskcore.registry",
    # The task and the event that carries it
    "TaskEnvelope": "taskcore.envelope",
    "TaskId": "taskcore.envelope",
    "CALLBACK_PATH": "taskcore.proxy",
    "SchedulerContext": "taskcore.proxy",
    "TaskFields": "taskcore.proxy",
    "build_proxy_event": "taskcore.proxy",
    "build_target_input": "taskcore.proxy",
    "delivered_event": "taskcore.proxy",
    "task_fields": "taskcore.proxy",
    # Limits and the one error shape
    "LAMBDA_ASYNC_PAYLOAD_BYTES": "taskcore.limits",
    "MAX_TASK_EVENT_BYTES": "taskcore.limits",
    "MAX_DATA_DEPTH": "taskcore.limits",
    "describe_errors": "taskcore.errors",
    "validation_problem": "taskcore.errors",
}

__all__ = [
    "CALLBACK_PATH",
    "LAMBDA_ASYNC_PAYLOAD_BYTES",
    "MAX_DATA_DEPTH",
    "MAX_TASK_EVENT_BYTES",
    "HttpRequestData",
    "Identifier",
    "SchedulerContext",
    "SecretUnavailable",
    "TaskContext",
    "TaskEnvelope",
    "TaskFields",
    "TaskId",
    "TaskRejected",
    "UnknownActionError",
    "action",
    "build_proxy_event",
    "build_target_input",
    "delivered_event",
    "describe_errors",
    "read_secret",
    "send_http_request",
    "task_fields",
    "validation_problem",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'taskcore' has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value  # the next lookup is an ordinary attribute
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
