"""The test kit: the whole system in this process on one virtual clock, for a test of your own actions.

`TaskCloud` is the local cloud (`localcloud.cloud.LocalCloud`: moto with template.yaml's tables, queues and
schedule group, the scheduler API through its real entry point, the Scheduler emulator, the Lambda emulator
running the real callback in this process) on a `FakeClock` that only `advance()` moves. The scheduler plans
with that clock, the dispatcher fires on it, the callback stamps runs with it and an action reads it
(`TaskContext.now()`); moto's Scheduler and Powertools' idempotency read it too (`localcloud.virtual_time`).
Lambda retries a failed invocation at AWS's delays (about 1 and 2 minutes) and its Timeout counts in
virtual time (`sleep()` inside an action spends it). `receiver(app)` stands up a receiver for the `http_request`
action on loopback (`localcloud.receivers`), `signing_secret` is what it verifies with. `localcloud.pytest_plugin`
makes it the `task_cloud` fixture; docs/testing.md shows how to use it.
"""

from __future__ import annotations

import copy
import os
import random
import uuid
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any
from unittest import mock

from localcloud.adverse import Adversity
from localcloud.clock import FakeClock
from localcloud.cloud import CloudOptions, LocalCloud
from localcloud.endpoint import LOCAL_HTTP_ACTION_HOSTS, patched_environ
from localcloud.environments import timeout_payload
from localcloud.lambda_async import AsyncLambda
from localcloud.lambda_context import LocalLambdaContext
from localcloud.lambda_service import Handler, Invocation, InvokeConfig, LambdaService
from localcloud.queues import SqsSender
from localcloud.replays import REDRIVE_CONTEXT
from localcloud.stats import DispatchStats
from localcloud.taskruns import RunStart, TaskRun, outcome_of
from localcloud.template import function_settings
from localcloud.virtual_time import VirtualLambdaContext, virtual_time

if TYPE_CHECKING:
    from ops.letters import DeadLetter
    from ops.replay import RedriveResult
    from taskclient import TaskClient

#: Lambda's delays before its two retries of a failed asynchronous invocation (AWS: about 1 and 2 minutes).
LAMBDA_RETRY_DELAYS = (60.0, 120.0)


@dataclass(frozen=True)
class Adverse:
    """AWS's adverse behaviour, on demand (each off by default; the draws are seeded: a test is repeatable).

    `duplicate_deliveries`: the share (0..1) of deliveries Lambda runs twice (at-least-once: the same event,
    a second request id). `late_within_minute`: each delivery runs anywhere in its scheduled minute (up to
    59.999 s late; EventBridge Scheduler's precision is one minute).
    """

    duplicate_deliveries: float = 0.0
    late_within_minute: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.duplicate_deliveries <= 1.0:
            raise ValueError(f"duplicate_deliveries is a share between 0 and 1, got {self.duplicate_deliveries}")


class InvocationTimedOut(Exception):
    """The invocation outlived the function's Timeout in virtual time (Lambda stops it; `_KitLambda` reports it
    as Lambda does, `Sandbox.Timedout`)."""


class _Killed(BaseException):
    """Raised inside an action whose invocation reached its Timeout: a BaseException, so the action's own
    `except Exception` does not swallow it and Powertools leaves the in-progress record, as a kill does."""


class _KitLambda(AsyncLambda):
    """The in-process Lambda with the kit's adverse knobs (duplicates, lateness) and Lambda's timeout report."""

    def __init__(self, functions: Mapping[str, Handler], *, adverse: Adverse, timeout_seconds: float, **options: Any):
        super().__init__(functions, **options)
        self._adverse = adverse
        # Repeatable draws (a seed per test), not secrets.
        self._random = random.Random(adverse.seed)  # noqa: S311  # nosec B311
        self._timeout = timeout_seconds

    def submit(self, invocation: Invocation) -> None:
        """Accept an event; with the adverse knobs, maybe twice, maybe later within its minute."""
        copies = [invocation]
        if self._random.random() < self._adverse.duplicate_deliveries:
            copies.append(replace(invocation, event=copy.deepcopy(invocation.event), request_id=str(uuid.uuid4())))
        for each in copies:
            late = self._random.uniform(0.0, 59.999) if self._adverse.late_within_minute else 0.0
            if late <= 0:
                super().submit(each)
                continue
            with self._changed:  # held back like a retry: the stepper runs it when its moment comes
                self._retries.append((each.received_at + timedelta(seconds=late), next(self._sequence), each))
                self._retries.sort(key=lambda entry: (entry[0], entry[1]))

    def _failed(self, invocation: Invocation, error: dict[str, Any]) -> None:
        if error.get("errorType") == InvocationTimedOut.__name__:
            error = timeout_payload(invocation.request_id, self._timeout)
        super()._failed(invocation, error)


class _KitCloud(LocalCloud):
    """The local cloud with the kit's Lambda."""

    def __init__(self, options: CloudOptions, *, adverse: Adverse, timeout_seconds: float, **kwargs: Any) -> None:
        super().__init__(options, **kwargs)
        self._adverse = adverse
        self._timeout = timeout_seconds

    def _lambda(self, callback_arn: str, *, sender: SqsSender, stats: DispatchStats) -> LambdaService:
        handler = self._callback_handler
        if handler is None:
            raise RuntimeError("the task cloud runs the callback in process: it needs its handler")
        return _KitLambda(
            {callback_arn: handler},
            adverse=self._adverse,
            timeout_seconds=self._timeout,
            clock=self.clock,
            configs={callback_arn: InvokeConfig.from_template("CallbackFunction")},
            retry_delays=self.options.lambda_retry_delays,
            sender=sender,
            stats=stats,
            log=self._log,
        )


@dataclass
class _Current:
    """The invocation running now (one at a time): its deadline, and whether `sleep` killed it."""

    deadline: datetime
    killed: bool = False
    crashed: bool = False


def default_start() -> datetime:
    """The wall clock's time, to the second: where a task cloud starts unless told otherwise."""
    return datetime.now(UTC).replace(microsecond=0)


class TaskCloud:
    """The whole system on a virtual clock: `client` to schedule, `advance()` to live through time."""

    def __init__(
        self,
        *,
        start: datetime | None = None,
        adverse: Adverse | None = None,
        timeout_seconds: float | None = None,
        retry_delays: tuple[float, ...] = LAMBDA_RETRY_DELAYS,
        adversity: Adversity | None = None,
    ) -> None:
        self.clock = FakeClock(start or default_start())
        self.adverse = adverse or Adverse()
        #: The local cloud's adverse knobs for what the kit does not imitate itself (DynamoDB's per-key throughput,
        #: counted in virtual seconds; Scheduler's invocation rate; payload-less failure records): docs/local-cloud.md.
        self.adversity = adversity or Adversity()
        #: The callback's Timeout in virtual seconds (template.yaml's unless told).
        self.timeout_seconds = timeout_seconds or function_settings("CallbackFunction").timeout_seconds
        self._retry_delays = retry_delays
        #: The local cloud's log lines (the dispatcher's and Lambda's), for a test that wants to read them.
        self.logs: list[dict[str, Any]] = []
        self._runs: list[TaskRun] = []
        self._attempts: dict[str, int] = {}
        self._current: _Current | None = None
        self._crashes = 0
        self._stack = ExitStack()
        self._cloud: LocalCloud | None = None
        self._client: TaskClient | None = None
        self._signing_secret: str | None = None

    # -- life ----------------------------------------------------------------------------------------------------

    def __enter__(self) -> TaskCloud:
        try:
            self._start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self._stack.close()

    def _start(self) -> None:
        from callback_app.handler import lambda_handler  # imported now: the first run is not a cold start's import
        from taskclient import TaskClient
        from taskcore.outbound import delivery

        self._handler: Handler = lambda_handler
        self._stack.enter_context(virtual_time(self.clock.now))
        # The http_request action waits out a receiver's Retry-After in virtual time, inside its invocation.
        self._stack.enter_context(mock.patch.object(delivery, "sleep", self.sleep))
        # Receivers on loopback (`receiver()`) are callable whatever allowlist the shell sets for `make dev`.
        shell_hosts = os.environ.get("HTTP_ACTION_ALLOWED_HOSTS", "")
        hosts = ",".join(part for part in (shell_hosts, LOCAL_HTTP_ACTION_HOSTS) if part)
        self._stack.enter_context(patched_environ({"HTTP_ACTION_ALLOWED_HOSTS": hosts}))
        options = CloudOptions(
            port=0, access_log=False, lambda_retry_delays=self._retry_delays, adversity=self.adversity
        )
        cloud = _KitCloud(
            options,
            adverse=self.adverse,
            timeout_seconds=self.timeout_seconds,
            clock=self.clock,
            log=self.logs.append,
            callback_handler=self._invoke,
        )
        self._cloud = self._stack.enter_context(cloud)
        # Not signed (loopback); a retry's backoff waits in virtual time.
        self._client = self._stack.enter_context(TaskClient(cloud.api_url, sign=False, sleep=self._backoff))

    @property
    def cloud(self) -> LocalCloud:
        """The local cloud underneath (its endpoint, environment, queues)."""
        if self._cloud is None:
            raise RuntimeError("the task cloud is not started (use it as a context manager)")
        return self._cloud

    @property
    def client(self) -> TaskClient:
        """A `taskclient.TaskClient` on this cloud's scheduler API."""
        if self._client is None:
            raise RuntimeError("the task cloud is not started (use it as a context manager)")
        return self._client

    # -- receivers of the http_request action -------------------------------------------------------------------

    @property
    def signing_secret(self) -> str:
        """The development key the `http_request` action signs with (the local HttpSigningSecret, read once):
        what a receiver verifies with, `signed_delivery(lambda: [task_cloud.signing_secret])`."""
        if self._signing_secret is None:
            self._signing_secret = self._read_signing_secret()
        return self._signing_secret

    def _read_signing_secret(self) -> str:
        from localcloud.endpoint import signing_secret

        value = signing_secret(self.cloud.environment)
        if value is None:
            raise RuntimeError("the local cloud has no HttpSigningSecret (template.yaml declares it)")
        return value

    def receiver(self, app: Any) -> str:
        """Serve `app` (an ASGI app: FastAPI) with uvicorn on a free loopback port until the cloud stops; its base
        URL (`http://127.0.0.1:<port>`), one the action may call here. It answers in real time, in its own thread."""
        from localcloud.receivers import serve_asgi

        if self._signing_secret is None:  # read now, on the test's thread: the receiver's requests find it known
            self._signing_secret = self._read_signing_secret()
        return self._stack.enter_context(serve_asgi(app))

    # -- time ----------------------------------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        """The virtual time (aware UTC)."""
        return self.clock.now()

    def advance(
        self,
        delta: timedelta | float | None = None,
        *,
        seconds: float = 0,
        minutes: float = 0,
        hours: float = 0,
        days: float = 0,
    ) -> list[TaskRun]:
        """Move the clock forward, running in time order everything that falls due on the way (deliveries,
        Lambda's retries, dead letters, recurring occurrences); the runs that happened, in order."""
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta or 0)
        step += timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        if step < timedelta(0):
            raise ValueError(f"time only moves forward: advance({step}) is negative")
        mark = len(self._runs)
        self.cloud.run_until(self.clock.now() + step)
        return self._runs[mark:]

    def sleep(self, seconds: float) -> None:
        """Spend `seconds` of virtual time inside an action (a slow call, made instant). When that passes the
        invocation's Timeout, the invocation is stopped there, as Lambda stops it."""
        current = self._current
        target = self.clock.now() + timedelta(seconds=seconds)
        if current is not None and target >= current.deadline:
            self.clock.set(current.deadline)
            current.killed = True
            raise _Killed(f"Task timed out after {self.timeout_seconds:.2f} seconds")
        self.clock.set(target)

    def crash_after_action(self, times: int = 1) -> None:
        """The next `times` invocations die between their action's end and its record (a crash, an out-of-memory
        kill): the effect happened, nothing says so, and Lambda retries the event about a minute later."""
        self._crashes += times

    def _crash(self, current: _Current) -> Any:
        """What replaces the store's end write for an invocation that crashes: the process is gone."""

        def crashed(*args: Any, **kwargs: Any) -> None:
            self._crashes -= 1
            current.crashed = True
            raise _Killed("Runtime exited without providing a reason")

        return crashed

    def _backoff(self, seconds: float) -> None:
        """The client's wait between two attempts: virtual time passes, and what falls due meanwhile runs."""
        self.advance(seconds=seconds)

    # -- what ran ------------------------------------------------------------------------------------------------

    @property
    def runs(self) -> list[TaskRun]:
        """Every invocation so far, in order."""
        return list(self._runs)

    def dead_letters(self) -> list[DeadLetter]:
        """The dead letters in the three queues (Lambda gave up, Scheduler could not deliver, rejected)."""
        from localcloud.dlq import dead_letters

        with dead_letters(self._run_state()) as letters:
            return list(letters)

    def redrive(self) -> RedriveResult:
        """Replay every dead letter through the callback now; a letter is deleted when its replay succeeded."""
        import boto3

        from localcloud.dlq import dead_letters
        from ops.replay import RedriveResult, replay_all

        result = RedriveResult()
        with dead_letters(self._run_state()) as letters:
            for replay in replay_all(letters, self._replay, client=boto3.client("sqs"), concurrency=1):
                result.count(replay)
        return result

    def _run_state(self) -> Any:
        from localcloud.runstate import RunState

        cloud = self.cloud
        return RunState(pid=os.getpid(), api_url=cloud.api_url, moto_url=cloud.moto_url, environment=cloud.environment)

    # -- the callback, as Lambda runs it here -------------------------------------------------------------------

    def _replay(self, event: Any) -> Any:
        return self._invoke(event, LocalLambdaContext(client_context=REDRIVE_CONTEXT))

    def _invoke(self, event: Any, context: Any) -> Any:
        """The real callback entry point under a Lambda context that counts down in virtual time; records the run."""
        request_id = str(context.aws_request_id)
        attempt = self._attempts[request_id] = self._attempts.get(request_id, 0) + 1
        virtual = VirtualLambdaContext(
            function_name=context.function_name,
            aws_request_id=request_id,
            timeout_seconds=self.timeout_seconds,
            client_context=context.client_context,
        )
        run = RunStart(event, attempt, self.clock.now(), redrive=context.client_context is REDRIVE_CONTEXT)
        current = self._current = _Current(virtual.deadline)
        try:
            if self._crashes > 0:
                from callback_app.persistence import LedgerPersistenceLayer

                with mock.patch.object(LedgerPersistenceLayer, "_update_record", self._crash(current)):
                    response = self._handler(event, virtual)
            else:
                response = self._handler(event, virtual)
        except Exception as exc:
            if not (current.killed or current.crashed):
                self._runs.append(run.ended(self.clock.now(), "failed", error=f"{type(exc).__name__}: {exc}"))
                raise
        finally:
            self._current = None
        if current.crashed:  # whatever the app made of it afterwards is not seen; Lambda retries the event
            self._runs.append(run.ended(self.clock.now(), "crashed", error="Runtime.ExitError"))
            raise RuntimeError("Runtime exited without providing a reason")
        if current.killed:  # stopped at its Timeout: whatever the app made of it afterwards is not seen
            message = f"Task timed out after {self.timeout_seconds:.2f} seconds"
            self._runs.append(run.ended(self.clock.now(), "timed_out", error=message))
            raise InvocationTimedOut(message)
        outcome, status, result, error = outcome_of(response)
        self._runs.append(run.ended(self.clock.now(), outcome, status=status, result=result, error=error))
        return response


__all__ = ["LAMBDA_RETRY_DELAYS", "Adverse", "InvocationTimedOut", "TaskCloud", "TaskRun", "default_start"]
