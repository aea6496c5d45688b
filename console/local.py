"""The console inside the local cloud (`make dev`): mounted at /console on the API's own port, talking to that
API, with the dead letters of the local cloud's queues replayed through the callback as the cloud runs it: in
execution environments under its Timeout (`callback`), or in this process (a test's in-process callback). It
answers only to that port's Host, and lets the operator act as any principal (`X-Local-Principal`), an
administrator among them, as only the local cloud allows."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from console.api import SchedulerApi
from console.app import create_app, lambda_handler_for
from console.deadletters import DeadLetterDesk
from console.web import ActAs, Console
from localcloud.apiserver import LOCAL_PRINCIPAL_HEADER, FunctionWorker
from localcloud.dlq import REDRIVE_CONTEXT, Invoker, dead_letter_queues
from localcloud.environments import FunctionSpec
from localcloud.lambda_context import LocalLambdaContext
from localcloud.replays import EnvironmentInvoker


def _redrive_handler(event: Any, context: Any) -> Any:
    """The callback's entry point, invoked as a redrive (no second copy of a rejection is kept)."""
    from callback_app.handler import lambda_handler

    return lambda_handler(event, LocalLambdaContext(client_context=REDRIVE_CONTEXT))


def local_act_as(environ: Mapping[str, str] | None = None) -> ActAs:
    """Whom the local console may act as: the isolation and administrators the scheduler function reads too."""
    env = os.environ if environ is None else environ
    admins = tuple(arn.strip() for arn in env.get("ADMIN_PRINCIPALS", "").split(",") if arn.strip())
    return ActAs(LOCAL_PRINCIPAL_HEADER, isolation=env.get("TASK_ISOLATION", "shared") or "shared", admins=admins)


class LocalConsole:
    """The console's handler for the local API server, and the callback container its replays run in."""

    def __init__(
        self, api_url: Callable[[], str], environment: Mapping[str, str], *, callback: FunctionSpec | None = None
    ) -> None:
        import boto3

        # Replays under the callback's Timeout, in its execution environments; without a spec, in this process
        # (its Mangum adapter needs a thread with its own event loop: one container, as for the API).
        self._environments = EnvironmentInvoker(callback) if callback is not None else None
        self._callback = FunctionWorker(_redrive_handler, function_name="CallbackFunction")
        hold = {"hold_seconds": self._environments.hold_seconds} if self._environments is not None else {}
        desk = DeadLetterDesk(
            dead_letter_queues(environment),
            # A session of its own: boto3's default session must not build clients from two threads at once.
            sqs=lambda: boto3.session.Session().client("sqs"),
            invoker=self._invoker,
            where="the local cloud",
            **hold,
        )
        self.api = SchedulerApi(api_url)
        self.console = Console(self.api, desk, where="local cloud", act_as=local_act_as(), served_at=api_url)
        self.app = create_app(self.console)
        self.handler = lambda_handler_for(self.app)

    def _invoker(self) -> Invoker:
        return self._environments if self._environments is not None else self._callback.invoke

    def close(self) -> None:
        """Stop the callback's containers and the API client."""
        self._callback.close()
        if self._environments is not None:
            self._environments.close()
        self.api.close()
