"""The two ways the local Lambda runs its invocations (the queue, retries and dead letters are
`localcloud.lambda_service.LambdaService`'s, shared by both):

- `ConcurrentLambda`, the **environments** mode (`make dev`): up to `concurrency` execution
  environments, child processes that import the function's handler by its import path
  (`localcloud.environments`), each running one invocation at a time, with the function's Timeout.
  Worker threads hand the events to them, so accepting an event never waits for a running one, and
  events beyond the concurrency wait in Lambda's queue.
- `AsyncLambda`, the **in-process** mode (tests): the handler is a callable of this process, run one
  invocation at a time by `run_next()` on the thread of the service's loop (`serve`), or of the test's
  FakeClock driver (`localcloud.stepping`); an action a test registers in this process is visible to it.
  The function's Timeout is enforced there too (`localcloud.deadline`), unless the adverse mode's
  `in_process_timeout` knob is off.
"""

from __future__ import annotations

import copy
import itertools
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from localcloud.deadline import call_with_deadline
from localcloud.environments import Environment, FunctionSpec, error_payload, handler_event_loop, timeout_payload
from localcloud.lambda_context import LocalLambdaContext
from localcloud.lambda_service import (
    DEFAULT_RETRY_DELAYS,
    INVOCATION_ENDING,
    Handler,
    Invocation,
    InvokeConfig,
    LambdaService,
    function_arn,
    invocation_record,
    unqualified,
)
from localcloud.stats import log_record


class AsyncLambda(LambdaService):
    """The in-process mode: each function is a callable of this process, run by `run_next()` on the calling
    thread, one invocation at a time (Mangum runs the app on that thread's event loop). For tests."""

    mode = "in-process"

    def __init__(
        self, functions: Mapping[str, Handler], *, timeouts: Mapping[str, float] | None = None, **options: Any
    ) -> None:
        super().__init__(functions, **options)
        self._functions = {unqualified(arn): handler for arn, handler in functions.items()}
        #: Each function's Timeout (seconds); a function without one runs unbounded.
        self._timeouts = {unqualified(arn): seconds for arn, seconds in (timeouts or {}).items()}

    def run_next(self) -> bool:
        """Run one queued invocation on this thread; False when none was queued."""
        invocation = self._take()
        if invocation is None:
            return False
        try:
            self._started(invocation)
            arn = unqualified(invocation.function_arn)
            timeout = self._timeouts.get(arn) if self.adversity.in_process_timeout else None
            context = LocalLambdaContext(
                function_name=arn.rsplit(":", 1)[-1],
                aws_request_id=invocation.request_id,
                timeout_seconds=timeout if timeout is not None else self._timeouts.get(arn, 30.0),
            )
            # A copy: the same event is retried and dead-lettered as it was accepted.
            event = copy.deepcopy(invocation.event)
            try:
                if timeout is None:
                    self._functions[arn](event, context)
                elif call_with_deadline(lambda: self._functions[arn](event, context), timeout)[1]:
                    self.stats.count("invocation_timeouts")
                    self._failed(invocation, timeout_payload(invocation.request_id, timeout))
            except Exception as exc:
                self._failed(invocation, error_payload(exc, invocation.request_id))
        finally:
            self._done(invocation)
        return True

    def invoke_sync(self, function_arn: str, event: Any) -> tuple[Any, dict[str, Any] | None]:
        """Run the function on the calling thread, under its Timeout: (response, error)."""
        arn = unqualified(function_arn)
        request_id = str(uuid.uuid4())
        timeout = self._timeouts.get(arn) if self.adversity.in_process_timeout else None
        context = LocalLambdaContext(
            function_name=arn.rsplit(":", 1)[-1],
            aws_request_id=request_id,
            timeout_seconds=timeout if timeout is not None else self._timeouts.get(arn, 30.0),
        )
        handler = self._functions[arn]
        try:
            if timeout is None:
                return handler(copy.deepcopy(event), context), None
            response, timed_out = call_with_deadline(lambda: handler(copy.deepcopy(event), context), timeout)
        except Exception as exc:
            return None, error_payload(exc, request_id)
        return (None, timeout_payload(request_id, timeout)) if timed_out else (response, None)

    @contextmanager
    def _serving(self) -> Iterator[None]:
        """The loop's thread gets an event loop of its own for Mangum, unless it is the main thread (which has one)."""
        if threading.current_thread() is threading.main_thread():
            yield
            return
        with handler_event_loop():
            yield


class ConcurrentLambda(LambdaService):
    """The environments mode (`make dev`): up to `concurrency` execution environments (child processes),
    each running one invocation at a time with the function's Timeout, fed by one worker thread each.

    `submit` only queues: the dispatcher never waits for an invocation. An environment is started when
    an event finds none idle (a cold start), kept warm for the next, and replaced after a timeout or a
    crash. Events beyond the concurrency wait in the queue, as Lambda throttles them. Cold starts run
    one at a time, and the environments run at a lower CPU priority than this process.
    """

    mode = "environments"

    def __init__(self, functions: Mapping[str, FunctionSpec], *, concurrency: int = 10, **options: Any) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        super().__init__(functions, **options)
        self.concurrency = concurrency
        self._specs = {unqualified(arn): spec for arn, spec in functions.items()}
        self._idle: list[tuple[str, Environment]] = []
        self._environments: set[Environment] = set()
        self._numbers = itertools.count(1)
        #: Raised by `recycle`: an environment of an older generation runs old code and is not reused.
        self._generation = 0
        # A cold start is CPU work (imports): two at once only make each one slower, the first invocations
        # wait longer, and the deliveries share the cores with them (measured with bench.dispatch).
        self._cold_start = threading.Lock()
        self._workers = [
            threading.Thread(target=self._work, name=f"lambda-worker-{n}", daemon=True) for n in range(concurrency)
        ]
        for worker in self._workers:
            worker.start()

    @property
    def environments(self) -> int:
        """Execution environments alive now (busy or idle)."""
        with self._changed:
            return len(self._environments)

    def close(self) -> None:
        """Stop every environment (a running invocation is lost with it) and the workers."""
        super().close()
        with self._changed:
            environments = list(self._environments)
            idle = [env for _, env in self._idle]
            self._idle.clear()
        for env in environments:
            env.kill()  # a busy one's worker sees it end, and cleans up
        for env in idle:
            env.stop()
        for worker in self._workers:
            worker.join(timeout=15)
        with self._changed:
            leftover = list(self._environments)
        for env in leftover:
            env.stop()

    def recycle(self) -> int:
        """Retire every environment (the function's code changed): idle ones stop now, busy ones after their
        invocation; later invocations start new ones. Answers how many were alive."""
        with self._changed:
            self._generation += 1
            idle = [env for _, env in self._idle]
            self._idle.clear()
            alive = len(self._environments)
            self._environments.difference_update(idle)
        for env in idle:
            env.stop()
        return alive

    def invoke_sync(self, function_arn: str, event: Any) -> tuple[Any, dict[str, Any] | None]:
        """Run one synchronous invocation in an environment of the function (warm, else cold): (response, error)."""
        arn = unqualified(function_arn)
        request_id = str(uuid.uuid4())
        env = self._environment(arn)
        if env is None:
            return None, {"errorType": "ServiceException", "errorMessage": "the local Lambda is stopping"}
        if env.init_ms is None:
            with self._cold_start:
                init_error = env.start(request_id)
            if init_error is not None:
                self._release(arn, env, lost=True)
                return None, init_error
        outcome = env.invoke(request_id, event)
        self._release(arn, env, lost=outcome.environment_lost)
        return outcome.response, outcome.error

    def _work(self) -> None:
        while True:
            with self._changed:
                while not self._closed and not self._ready:
                    self._changed.wait()
                if self._closed:
                    return
            invocation = self._take()
            if invocation is None:
                continue  # another worker took it
            try:
                self._run(invocation)
            except Exception as exc:  # a bug here must not kill the worker; say so and go on
                self._log(log_record("lambda", "worker error", level="ERROR", error=f"{type(exc).__name__}: {exc}"))
            finally:
                self._done(invocation)

    def _environment(self, arn: str) -> Environment | None:
        """An idle environment of the function (warm), else a new one (cold); None once closed."""
        with self._changed:
            if self._closed:
                return None
            for i in range(len(self._idle) - 1, -1, -1):  # the most recently used first
                if self._idle[i][0] == arn:
                    return self._idle.pop(i)[1]
            if len(self._environments) >= self.concurrency and self._idle:
                _, evicted = self._idle.pop(0)  # at the limit: make room by stopping another function's
                self._environments.discard(evicted)
            else:
                evicted = None
            env = Environment(self._specs[arn], next(self._numbers), generation=self._generation)
            self._environments.add(env)
        if evicted is not None:
            evicted.stop()
        return env

    def _release(self, arn: str, env: Environment, *, lost: bool) -> None:
        with self._changed:
            if lost or self._closed or env.generation != self._generation:
                self._environments.discard(env)
            else:
                self._idle.append((arn, env))
                return
        env.stop()

    def _run(self, invocation: Invocation) -> None:
        arn = unqualified(invocation.function_arn)
        env = self._environment(arn)
        if env is None:
            return
        if env.init_ms is None:
            with self._cold_start:
                init_error = env.start(invocation.request_id)
            if self._closed:
                self._release(arn, env, lost=True)
                return
            if init_error is not None:
                self._started(invocation)
                self._release(arn, env, lost=True)
                self._failed(invocation, init_error)
                return
            self.stats.count("environments_started")
            self._log(
                log_record(
                    "lambda",
                    "execution environment started (cold start)",
                    function=env.spec.name,
                    environment=env.number,
                    pid=env.pid,
                    init_ms=env.init_ms,
                )
            )
        self._started(invocation)
        outcome = env.invoke(invocation.request_id, invocation.event)
        self._release(arn, env, lost=outcome.environment_lost)
        if self._closed:
            return  # stopped with the local cloud: neither a result nor a failure
        if outcome.error is not None:
            if outcome.error.get("errorType") == "Sandbox.Timedout":
                self.stats.count("invocation_timeouts")
            self._failed(invocation, outcome.error)


__all__ = [
    "DEFAULT_RETRY_DELAYS",
    "INVOCATION_ENDING",
    "AsyncLambda",
    "ConcurrentLambda",
    "FunctionSpec",
    "Handler",
    "Invocation",
    "InvokeConfig",
    "LambdaService",
    "error_payload",
    "function_arn",
    "handler_event_loop",
    "invocation_record",
    "unqualified",
]
