"""Lambda execution environments for the local cloud: one child process per concurrent invocation.

What Lambda does, and this module with it:

- An environment is created when an invocation finds no idle one (a cold start: the Init phase
  imports the handler's module), then kept warm and reused, one invocation at a time.
- The function's `Timeout` limits each invocation, not Init. At the timeout Lambda stops the
  invocation and resets the environment: here the process is killed and the next invocation gets a
  new one. The invocation fails with `Sandbox.Timedout`, "RequestId: <id> Error: Task timed out after
  30.00 seconds", an Unhandled function error that Lambda's asynchronous retries then follow.
- A runtime that exits fails the invocation with `Runtime.ExitError` ("Runtime exited with error:
  exit status 3"); a handler that cannot be imported with `Runtime.ImportModuleError`; an Init that
  outlives both 10 s and the function's timeout with `Sandbox.Timedout`.
- The handler gets a context carrying the function's timeout: `get_remaining_time_in_millis()` counts
  down from it (Powertools idempotency lets a timed-out attempt's record expire at that deadline).

The processes use the `spawn` start method (the local cloud's process has threads: forking it could
copy a held lock). Each inherits the environment (AWS_ENDPOINT_URL: it talks to moto over HTTP) and
writes to the same stdout, so the function's log lines appear where the local cloud's do. A child
whose parent dies exits too: no environment outlives the local cloud.
"""

from __future__ import annotations

import importlib
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

# An environment imports this module first (to find `environment_main`), before it uses the bytecode
# cache: this module imports little, and the local cloud's own modules only where they are needed.

ROOT = Path(__file__).resolve().parent.parent
#: Where the environments keep the bytecode they compile, so that only the first cold start compiles
#: (the deployed artifact ships precompiled bytecode; this machine's Python writes none by default).
BYTECODE_CACHE = ROOT / ".localcloud" / "pycache"
#: The functions' processes yield the CPU to the local cloud's own (moto, the API, the dispatcher):
#: on AWS the service never waits for a function's CPU, and deliveries must stay on time.
ENVIRONMENT_NICENESS = 10

_SPAWN = multiprocessing.get_context("spawn")


@dataclass(frozen=True)
class FunctionSpec:
    """What an environment needs to run a function: its entry point, code directories and limits."""

    name: str
    #: `module.function`, as a template's `Handler`.
    handler: str
    timeout_seconds: float
    memory_mb: int = 512
    #: Put first on `sys.path`, in this order (the function's code, its layers, the repository root).
    paths: tuple[str, ...] = ()
    #: Print the functions' CloudWatch EMF metric lines (`make dev --metrics`); hidden otherwise.
    metric_lines: bool = False
    bytecode_cache: str | None = str(BYTECODE_CACHE)
    #: Lambda limits Init to 10 s, then retries it within the invocation under the function's timeout:
    #: here Init may take the longer of the two, and fails the invocation as a timeout after that.
    init_limit_seconds: float = 10.0
    #: Directories added to the `taskcore.actions` package (`make dev --actions-dir`), as in the local cloud.
    action_dirs: tuple[str, ...] = ()

    @classmethod
    def from_template(
        cls,
        logical_id: str,
        *,
        handler: str | None = None,
        timeout_seconds: float | None = None,
        metric_lines: bool = False,
        action_dirs: tuple[str, ...] = (),
    ) -> FunctionSpec:
        """The function as template.yaml declares it; `handler` and `timeout_seconds` override (tests)."""
        from localcloud.template import function_settings

        settings = function_settings(logical_id)
        paths = (settings.code_uri, *settings.layers, ".")
        return cls(
            name=logical_id,
            handler=handler or settings.handler,
            timeout_seconds=settings.timeout_seconds if timeout_seconds is None else timeout_seconds,
            memory_mb=settings.memory_mb,
            paths=tuple(str((ROOT / path).resolve()) for path in paths),
            metric_lines=metric_lines,
            action_dirs=action_dirs,
        )


# -- what the runtime reports ------------------------------------------------------------------------------------


def error_payload(exc: BaseException, request_id: str) -> dict[str, Any]:
    """What the Python runtime reports for an exception that escapes the handler."""
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": request_id,
        "stackTrace": [line.rstrip("\n") for line in traceback.format_list(traceback.extract_tb(exc.__traceback__))],
    }


def timeout_payload(request_id: str, timeout_seconds: float) -> dict[str, Any]:
    """What Lambda reports for an invocation stopped at the function's timeout."""
    return {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {request_id} Error: Task timed out after {timeout_seconds:.2f} seconds",
    }


def exit_payload(request_id: str, exitcode: int | None) -> dict[str, Any]:
    """What Lambda reports when the runtime process ends during an invocation."""
    if exitcode is not None and exitcode < 0:
        status = f"signal: {signal.Signals(-exitcode).name.removeprefix('SIG').lower()}"
    else:
        status = f"exit status {exitcode}"
    return {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: {status}",
    }


def import_error_payload(handler: str, exc: BaseException) -> dict[str, Any]:
    """What the Python runtime reports when the handler cannot be loaded (every invocation then fails)."""
    module, _, function = handler.rpartition(".")
    if isinstance(exc, AttributeError):
        return {
            "errorType": "Runtime.HandlerNotFound",
            "errorMessage": f"Handler '{function}' missing on module '{module}'",
        }
    return {
        "errorType": "Runtime.ImportModuleError",
        "errorMessage": f"Unable to import module '{module}': {exc}",
    }


# -- the environment's side (the child process) ------------------------------------------------------------------


@contextmanager
def handler_event_loop() -> Iterator[None]:
    """A fresh current event loop for this thread while the block runs (Mangum runs the app on it)."""
    import asyncio

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        yield
    finally:
        asyncio.set_event_loop(None)
        loop.close()


def load_handler(handler: str) -> Callable[[Any, Any], Any]:
    """Import `module.function` (the template's Handler) and return the function."""
    module, _, function = handler.rpartition(".")
    loaded: Callable[[Any, Any], Any] = getattr(importlib.import_module(module), function)
    return loaded


def _exit_with_parent() -> None:
    parent = multiprocessing.parent_process()
    if parent is None:  # pragma: no cover - always set in a spawned process
        return

    def watch() -> None:
        wait([parent.sentinel])
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _prepare_process(spec: FunctionSpec) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the local cloud's: it stops the environments
    os.nice(ENVIRONMENT_NICENESS)
    _exit_with_parent()
    sys.path[:0] = [path for path in spec.paths if path not in sys.path]
    if spec.bytecode_cache:
        sys.dont_write_bytecode = False
        sys.pycache_prefix = spec.bytecode_cache
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)  # the runtime's stdout is unbuffered
    if not spec.metric_lines:
        from localcloud.stats import MetricLineFilter

        sys.stdout = MetricLineFilter(sys.stdout)
    if spec.action_dirs:
        import taskcore.actions

        taskcore.actions.__path__.extend(d for d in spec.action_dirs if d not in taskcore.actions.__path__)


def environment_main(conn: Connection, spec: FunctionSpec) -> None:
    """The runtime of one environment: Init (import the handler), then invocations until told to stop."""
    _prepare_process(spec)
    from localcloud.lambda_context import ClientContext, LocalLambdaContext

    started = time.perf_counter()
    with handler_event_loop():  # Mangum runs the app on this (the main) thread's event loop
        try:
            handler = load_handler(spec.handler)
        except Exception as exc:
            conn.send(("init_error", import_error_payload(spec.handler, exc)))
            return
        conn.send(("ready", round((time.perf_counter() - started) * 1000, 1)))
        while True:
            try:
                message = conn.recv()
            except EOFError:
                return
            if message is None:
                return
            request_id, event, custom = message
            context = LocalLambdaContext(
                function_name=spec.name,
                aws_request_id=request_id,
                timeout_seconds=spec.timeout_seconds,
                memory_limit_in_mb=spec.memory_mb,
                # A synchronous invoke's ClientContext (a redrive's `{"redrive": true}`); None for an asynchronous one.
                client_context=ClientContext(custom=custom) if custom is not None else None,
            )
            try:
                reply: tuple[str, Any] = ("result", handler(event, context))
            except Exception as exc:
                reply = ("error", error_payload(exc, request_id))
            try:
                json.dumps(reply[1])  # the runtime answers JSON: what it cannot serialise fails the invocation
            except (TypeError, ValueError) as exc:
                reply = ("error", {"errorType": "Runtime.MarshalError", "errorMessage": f"Unable to marshal: {exc}"})
            conn.send(reply)


# -- the service's side ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """How one invocation in an environment ended: its response, or the error Lambda reports."""

    response: Any = None
    error: dict[str, Any] | None = None
    #: The environment is gone (timeout, exit, failed Init): the next invocation gets a new one.
    environment_lost: bool = False


class Environment:
    """One execution environment: a child process that runs the function, one invocation at a time."""

    def __init__(self, spec: FunctionSpec, number: int, *, generation: int = 0) -> None:
        self.spec = spec
        self.number = number
        #: Which code it runs: environments started before the function's code changed are of an older one.
        self.generation = generation
        self.init_ms: float | None = None
        self.invocations = 0
        self._conn, child = _SPAWN.Pipe()
        self._process = _SPAWN.Process(
            target=environment_main, args=(child, spec), name=f"{spec.name}-{number}", daemon=True
        )
        self._child_end = child

    @property
    def pid(self) -> int | None:
        """The process id (None before `start`)."""
        return self._process.pid

    def alive(self) -> bool:
        """Whether the process runs."""
        return self._process.is_alive()

    def start(self, request_id: str = "(init)") -> dict[str, Any] | None:
        """Start the process and wait for its Init (for the invocation `request_id`, which then waits for it);
        the error Lambda would report if Init failed or outlived its limit, else None."""
        self._process.start()
        self._child_end.close()
        limit = max(self.spec.init_limit_seconds, self.spec.timeout_seconds)
        try:
            if not self._conn.poll(limit):
                self.stop()
                return timeout_payload(request_id, limit)
            kind, value = self._conn.recv()
        except (EOFError, OSError):
            self.stop()
            return exit_payload(request_id, self._process.exitcode)
        if kind != "ready":
            self.stop()
            return dict(value)
        self.init_ms = float(value)
        return None

    def invoke(self, request_id: str, event: Any, *, client_context: dict[str, Any] | None = None) -> Outcome:
        """Run one invocation (with a synchronous invoke's ClientContext `custom`, if given); stop the process
        when it outlives the function's timeout."""
        self.invocations += 1
        try:
            self._conn.send((request_id, event, client_context))
            done = self._conn.poll(self.spec.timeout_seconds)
        except (OSError, ValueError):
            done = True
        if not done:
            self.stop()
            return Outcome(error=timeout_payload(request_id, self.spec.timeout_seconds), environment_lost=True)
        try:
            kind, value = self._conn.recv()
        except (EOFError, OSError):
            self._process.join(timeout=5)
            code = self._process.exitcode
            self.stop()
            return Outcome(error=exit_payload(request_id, code), environment_lost=True)
        return Outcome(response=value) if kind == "result" else Outcome(error=dict(value))

    def stop(self) -> None:
        """Kill the process (what Lambda does at a timeout or a shutdown) and wait until it is gone."""
        if self._process.pid is not None:
            if self._process.is_alive():
                self._process.kill()
            self._process.join(timeout=10)
        self._conn.close()

    def kill(self) -> None:
        """Kill the process without waiting (from another thread: its owner sees it end and cleans up)."""
        if self._process.pid is not None and self._process.is_alive():
            self._process.kill()
