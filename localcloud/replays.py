"""The callback as the local cloud runs a replay of a dead letter: under the limits of a delivery.

`make redrive` and the console's Replay run each letter's event through the callback as a redrive
(`ops.replay`). In AWS that is a synchronous Invoke, which runs under the function's own Timeout like any
invocation (Lambda stops it and answers `FunctionError: Unhandled`, "Task timed out after 30.00 seconds").
Locally it is the same: `EnvironmentInvoker` runs each replay in an execution environment of the callback
(`localcloud.environments`: a child process with the function's Timeout, killed when it outlives it), as the
local Lambda runs deliveries. A replay that times out fails, and its letter stays in its queue with the reason.

A test's cloud whose callback runs in this process (its actions live here) replays in this process too:
`redrive_handler`, the callback's entry point invoked as a redrive.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

from localcloud.environments import Environment, FunctionSpec
from localcloud.lambda_context import ClientContext, LocalLambdaContext
from ops.replay import HOLD_MARGIN_SECONDS, REDRIVE_CUSTOM, InvocationFailed, Invoker

__all__ = ["REDRIVE_CONTEXT", "EnvironmentInvoker", "in_process_invoker", "redrive_handler"]

#: The ClientContext a redrive invokes with: the callback keeps no copy of a rejection the caller keeps.
REDRIVE_CONTEXT = ClientContext(custom=dict(REDRIVE_CUSTOM))


def redrive_handler(event: Any, context: Any = None) -> Any:
    """The callback's entry point in this process, invoked as a redrive (the environment is the caller's)."""
    from callback_app.handler import lambda_handler

    return lambda_handler(event, LocalLambdaContext(client_context=REDRIVE_CONTEXT))


def in_process_invoker() -> Invoker:
    """`redrive_handler` as an Invoker (on the calling thread: its Mangum adapter uses that thread's event loop)."""
    return redrive_handler


class EnvironmentInvoker:
    """Synchronous invocations of a function in its execution environments (child processes), each under the
    function's Timeout, as a redrive (ClientContext `{"redrive": true}`). An Invoker; safe from several threads."""

    def __init__(self, spec: FunctionSpec) -> None:
        self.spec = spec
        self._idle: list[Environment] = []
        self._all: set[Environment] = set()
        self._lock = threading.Lock()
        # As the local Lambda does: a cold start is CPU work, and two at once only make each slower (Init has
        # 10 s); the invocations themselves run side by side.
        self._cold_start = threading.Lock()
        self._numbers = iter(range(1, 1 << 30))

    @property
    def hold_seconds(self) -> int:
        """How long a replay can take at most: a cold start's Init, then the invocation's Timeout."""
        init = max(self.spec.init_limit_seconds, self.spec.timeout_seconds)
        return int(init + self.spec.timeout_seconds) + HOLD_MARGIN_SECONDS

    def __call__(self, event: Any) -> Any:
        """The function's response; raise InvocationFailed with Lambda's error (a timeout's `Sandbox.Timedout`)."""
        request_id = str(uuid.uuid4())
        env = self._environment()
        if env.init_ms is None:
            with self._cold_start:
                init_error = env.start(request_id)
            if init_error is not None:
                self._release(env, lost=True)
                raise InvocationFailed(_error(init_error))
        outcome = env.invoke(request_id, event, client_context=dict(REDRIVE_CUSTOM))
        self._release(env, lost=outcome.environment_lost)
        if outcome.error is not None:
            raise InvocationFailed(_error(outcome.error))
        return outcome.response

    def close(self) -> None:
        """Stop every environment."""
        with self._lock:
            environments = list(self._all)
            self._all.clear()
            self._idle.clear()
        for env in environments:
            env.stop()

    def _environment(self) -> Environment:
        with self._lock:
            if self._idle:
                return self._idle.pop()
            env = Environment(self.spec, next(self._numbers))
            self._all.add(env)
            return env

    def _release(self, env: Environment, *, lost: bool) -> None:
        with self._lock:
            if not lost and env in self._all:
                self._idle.append(env)
                return
            self._all.discard(env)
        env.stop()


def _error(payload: dict[str, Any]) -> str:
    return f"{payload.get('errorType', 'Error')}: {payload.get('errorMessage', '')}"
