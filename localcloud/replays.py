"""Replaying dead letters under the limits of a delivery: the callback's Timeout, and no letter waiting on another.

`make redrive` and the console's Replay run each letter's event through the callback as a redrive
(`localcloud.dlq.replay`). In AWS that is a synchronous Invoke, which runs under the function's own
Timeout like any invocation (Lambda stops it and answers `FunctionError: Unhandled`, "Task timed out
after 30.00 seconds"). Locally it is the same: `EnvironmentInvoker` runs each replay in an execution
environment of the callback (`localcloud.environments`: a child process with the function's Timeout,
killed when it outlives it), as the local Lambda runs deliveries. A replay that times out fails, and its
letter stays in its queue with the reason.

`replay_all` replays a list of letters at most `concurrency` at a time, so a slow letter holds up only its
own slot, and each letter is held (invisible to other readers) for as long as its replay may take.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from localcloud.dlq import REDRIVE_CONTEXT, DeadLetter, InvocationFailed, Invoker, Replay, replay
from localcloud.environments import Environment, FunctionSpec

#: Letters replayed at once by `make redrive` and the console (each in its own execution environment).
REPLAY_CONCURRENCY = 4
#: How long a letter whose replay time is unknown (AWS: the function's Timeout, at most 900 s) stays held.
LAMBDA_LONGEST_TIMEOUT_SECONDS = 900
#: Added to a replay's longest time when holding its letter: the SQS calls around it.
HOLD_MARGIN_SECONDS = 30


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
        outcome = env.invoke(request_id, event, client_context=dict(REDRIVE_CONTEXT.custom or {}))
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


def replay_all(
    letters: Sequence[DeadLetter],
    invoke: Invoker,
    *,
    client: Any,
    concurrency: int = REPLAY_CONCURRENCY,
    hold_seconds: int | None = None,
    done: Callable[[Replay], None] | None = None,
) -> list[Replay]:
    """Replay every letter, at most `concurrency` at once; the outcomes in the letters' order.

    `hold_seconds`: how long each letter is held while its replay runs (None: as long as it already is).
    `done` is called with each outcome as it comes (`make redrive` prints it).
    """
    if not letters:
        return []

    def one(letter: DeadLetter) -> Replay:
        outcome = replay(letter, invoke, client=client, hold_seconds=hold_seconds)
        if done is not None:
            done(outcome)
        return outcome

    workers = max(1, min(concurrency, len(letters)))
    if workers == 1:  # on this thread: an in-process callback runs its Mangum adapter on this thread's event loop
        return [one(letter) for letter in letters]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="replay") as pool:
        return list(pool.map(one, letters))


def replay_lambda_client(session: Any, region: str) -> Any:
    """A Lambda client for replays on AWS: it waits as long as an invocation may run (botocore's 60 s read timeout
    would cut a longer one off) and never re-sends an Invoke (a retried replay would run the callback again)."""
    from botocore.config import Config

    retries: Any = {"mode": "standard", "total_max_attempts": 1}
    config = Config(read_timeout=LAMBDA_LONGEST_TIMEOUT_SECONDS + 5, retries=retries)
    return session.client("lambda", region_name=region, config=config)


def _error(payload: dict[str, Any]) -> str:
    return f"{payload.get('errorType', 'Error')}: {payload.get('errorMessage', '')}"


__all__ = [
    "HOLD_MARGIN_SECONDS",
    "LAMBDA_LONGEST_TIMEOUT_SECONDS",
    "REPLAY_CONCURRENCY",
    "EnvironmentInvoker",
    "replay_all",
    "replay_lambda_client",
]
