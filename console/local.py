"""The console's adapter to the local cloud: the one module of the console that imports `localcloud`.

- `LocalConsole` is the console inside the local cloud (`make dev`), a `localcloud.options.ConsoleFactory`:
  the local cloud's composition root (`localcloud.dev`) hands it to `LocalCloud`, which mounts it at /console
  on the API's own port without importing the console. It talks to that API, and replays the dead letters of
  the local cloud's queues through the callback as the cloud runs it: in execution environments under its
  Timeout (`callback`), or in this process (a test's in-process callback). It answers only to that port's
  Host, and lets the operator act as any principal (`X-Local-Principal`), an administrator among them, as
  only the local cloud allows.
- `serve_console` serves the console (`make console`, against a deployed stack) on the local cloud's HTTP
  server, which turns each request into the proxy event the console's Mangum adapter reads.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from console.api import SchedulerApi
from console.app import create_app, lambda_handler_for
from console.deadletters import DeadLetterDesk
from console.web import ActAs, Console
from localcloud.apiserver import LOCAL_PRINCIPAL_HEADER, ApiServer, FunctionWorker, serve_function
from localcloud.dlq import dead_letter_queues
from localcloud.environments import FunctionSpec
from localcloud.replays import EnvironmentInvoker, redrive_handler
from ops.ledger_copy import LedgerCopy
from ops.replay import Invoker

__all__ = ["LocalConsole", "local_act_as", "serve_console"]


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
        self._callback = FunctionWorker(redrive_handler, function_name="CallbackFunction")
        hold = {"hold_seconds": self._environments.hold_seconds} if self._environments is not None else {}
        desk = DeadLetterDesk(
            dead_letter_queues(environment),
            # A session of its own: boto3's default session must not build clients from two threads at once.
            sqs=lambda: boto3.session.Session().client("sqs"),
            invoker=self._invoker,
            where="the local cloud",
            ledger=lambda: ledger_copy(environment),
            **hold,
        )
        self.api = SchedulerApi(api_url)
        self.console = Console(self.api, desk, where="local cloud", act_as=local_act_as(), served_at=api_url)
        self.app = create_app(self.console)
        self.handler = lambda_handler_for(self.app)

    def _invoker(self) -> Invoker:
        return self._environments if self._environments is not None else self._callback.invoke

    def forget_actions(self) -> None:
        """Forget the API's OpenAPI document (it lists the actions, which were reloaded)."""
        self.api.forget_openapi()

    def close(self) -> None:
        """Stop the callback's containers and the API client."""
        self._callback.close()
        if self._environments is not None:
            self._environments.close()
        self.api.close()


def serve_console(console: Console, host: str, port: int) -> ApiServer:
    """Serve `console` on `host:port` in the background, on the local cloud's HTTP server; `close()` it."""
    return serve_function(
        lambda_handler_for(create_app(console)), function_name="Console", host=host, port=port, log=None
    )


def ledger_copy(environment: Mapping[str, str]) -> LedgerCopy | None:
    """The local cloud's task ledger, for redriving a failure record without its payload."""
    import boto3

    table = environment.get("TASK_LEDGER_TABLE")
    return LedgerCopy(boto3.session.Session().client("dynamodb"), table) if table else None
