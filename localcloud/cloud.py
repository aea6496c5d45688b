"""The whole local cloud in one object: moto as the AWS endpoint, the API in front of SchedulerFunction,
the Scheduler emulator (the dispatcher) that fires schedules, and the Lambda emulator that runs them in
CallbackFunction. `make dev` runs it; so do the tests.

The two services each run their own loop (`serve`), and talk only through the invoke interface: the
dispatcher hands each event to Lambda's `submit`. CallbackFunction runs in execution environments (child
processes, `ConcurrentLambda`), as `make dev` runs it, unless a test hands in a `callback_handler`
callable: that runs in this process, one invocation at a time (`AsyncLambda`), on the thread of Lambda's
loop, or of the FakeClock driver (`run_until`, `localcloud.stepping`).

The console is not part of the emulator: whoever assembles the cloud (`localcloud.dev`, or a test) hands in
a `console` factory, and the cloud mounts what it builds at /console.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from localcloud import dynamo_throughput, functions, moto_journal
from localcloud.apiserver import ApiServer, FunctionWorker, Handler, serve_function
from localcloud.clock import Clock, FakeClock, SystemClock
from localcloud.delivery import DeliveryFault
from localcloud.dispatcher import Dispatcher
from localcloud.endpoint import LocalEndpoint, moto_endpoint, patched_environ
from localcloud.event_sources import SqsEventSource, ensure_template_schedules, template_schedule_roles
from localcloud.function_caches import reset_function_caches
from localcloud.journal import Journal
from localcloud.lambda_async import AsyncLambda, ConcurrentLambda, FunctionSpec, LambdaService
from localcloud.options import CloudOptions, ConsoleFactory, MountedConsole
from localcloud.persist import Clients, restore
from localcloud.queues import SqsSender
from localcloud.schedules import MotoScheduleStore, ScheduleDeleter
from localcloud.static_files import SWAGGER_UI_PATH, swagger_ui
from localcloud.stats import DispatchStats, LogSink, log_record, stdout_sink
from localcloud.stepping import Stepper
from localcloud.template import LocalResources, api_stage_name

__all__ = [
    "CloudOptions",
    "ConsoleFactory",
    "LocalCloud",
    "MountedConsole",
    "fresh_moto_state",
    "reset_function_caches",
]


def fresh_moto_state() -> None:
    """Empty moto's in-process backends (they are process-wide and outlive a server on its own)."""
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()


class LocalCloud:
    """Start with `with LocalCloud(options) as cloud:`, run with `cloud.serve()` on the main thread."""

    def __init__(
        self,
        options: CloudOptions | None = None,
        *,
        clock: Clock | None = None,
        log: LogSink = stdout_sink,
        fault: DeliveryFault | None = None,
        callback_handler: Handler | None = None,
        scheduler_handler: Handler | None = None,
        console: ConsoleFactory | None = None,
        function_handlers: Mapping[str, Handler] | None = None,
    ) -> None:
        self.options = options or CloudOptions()
        #: In-process handlers of the template's other functions, by logical id (with `callback_handler`).
        self._function_handlers = dict(function_handlers or {})
        self._sender: SqsSender | None = None
        #: The pollers of the template's SQS event source mappings.
        self.event_sources: list[SqsEventSource] = []
        self.clock = clock or SystemClock()
        self._log = log
        self._fault = fault
        self._callback_handler = callback_handler
        self._scheduler_handler = scheduler_handler
        self._console_factory = console
        self._stack = ExitStack()
        self._stopped = threading.Event()
        self.endpoint: LocalEndpoint | None = None
        self.environment: dict[str, str] = {}
        self.api: ApiServer | None = None
        self.dispatcher: Dispatcher | None = None
        self.lambda_: LambdaService | None = None
        #: What is served at /console (None without a console factory).
        self.console: MountedConsole | None = None
        #: CallbackFunction as its execution environments run it (None when it runs in process).
        self.callback: FunctionSpec | None = None
        #: What else caches something built from the actions (the console's copy of the OpenAPI document).
        self._action_caches: list[Callable[[], None]] = []

    def __enter__(self) -> LocalCloud:
        try:
            self._start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
        self._stack.close()

    def _start(self) -> None:
        options = self.options
        fresh_moto_state()
        endpoint = self._stack.enter_context(moto_endpoint(options.host, options.moto_port))
        limits = (options.adversity.dynamodb_wcu_per_key, options.adversity.dynamodb_rcu_per_key)
        # Units per second of the cloud's clock (virtual under a FakeClock).
        dynamo_throughput.set_limits(*limits, clock=lambda: self.clock.now().timestamp())
        self._stack.callback(dynamo_throughput.set_limits, None, None)
        self._stack.callback(fresh_moto_state)  # in memory only: nothing outlives the local cloud
        self.endpoint = endpoint
        journal = Journal(options.persist, moto_journal.key_attributes) if options.persist is not None else None
        saved = journal.load() if journal is not None else None
        if journal is not None:  # closed last: after the API and both services stopped changing anything
            self._stack.callback(self._close_journal, journal)
        # The scheduler's /docs loads Swagger UI from this server, not from the CDN: it works offline.
        variables = functions.function_variables(
            endpoint.resources
        )  # every function's own, e.g. a recorder's queue URLs
        env = {**variables, **endpoint.environment(), "API_DOCS_ASSETS_URL": SWAGGER_UI_PATH}
        self.environment = env
        self._stack.enter_context(patched_environ(env))
        reset_function_caches()
        self._stack.callback(reset_function_caches)
        if options.action_dirs:
            self._add_action_dirs(options.action_dirs)

        if self._scheduler_handler is None:
            from scheduler_app.handler import lambda_handler as scheduler_handler

            self._scheduler_handler = scheduler_handler

        import boto3

        if saved is not None:
            clients = Clients(boto3.client("scheduler"), boto3.client("dynamodb"), boto3.client("sqs"))
            restore(saved, clients, log=self._log)
        # (unless --persist restored them; in process, only those whose function runs here)
        in_process = None if self._callback_handler is None else ("CallbackFunction", *self._function_handlers)
        targets = functions.arns_of(self._resources, in_process)
        template_groups = ensure_template_schedules(boto3.client("scheduler"), targets)
        if not options.api_only:
            self.lambda_, self.dispatcher = self._services(template_groups)
            if saved is not None:
                self._restore(saved.get("dispatcher", {}))
            self._event_sources(self.lambda_)
        self.api = self._serve_api(self._scheduler_handler)
        if options.reload_actions:
            self._watch_actions()
        if journal is not None:
            self._journal(journal)

    def _serve_api(self, handler: Handler) -> ApiServer:
        """SchedulerFunction behind the local API Gateway, with the local cloud's own paths and the console."""
        options = self.options
        api = serve_function(
            handler,
            function_name="SchedulerFunction",
            host=options.host,
            port=options.port,
            stage=api_stage_name(),
            log=self._log if options.access_log else None,
            after_request=self._changed,
            local_routes={"/_localcloud/stats": self.stats},
            static=[swagger_ui()],
        )
        self._stack.callback(api.close)
        if self._console_factory is not None:
            self._mount_console(api, self._console_factory)
        return api

    def _mount_console(self, api: ApiServer, factory: ConsoleFactory) -> None:
        """The console at /console, talking to this API and reading this cloud's dead letters."""
        console = factory(lambda: api.url, self.environment, callback=self.callback_for_replays())
        self._stack.callback(console.close)
        self._action_caches.append(console.forget_actions)
        api.mount("/console", FunctionWorker(console.handler, function_name="Console"))
        self.console = console

    def _add_action_dirs(self, directories: tuple[Path, ...]) -> None:
        """Import actions from `directories` too, here and in the execution environments (FunctionSpec)."""
        from localcloud.actions_reload import add_action_directories
        from taskcore.registry import registry

        remove = add_action_directories(directories)
        registry.reload()  # already loaded in a test's process: the added directories count now

        def restore() -> None:
            remove()
            registry.reload()

        self._stack.callback(restore)

    def _watch_actions(self) -> None:
        """Reload the actions when their files change (localcloud/actions_reload.py)."""
        from localcloud import actions_reload

        lambda_ = self.lambda_
        reloader = actions_reload.ActionReloader(
            recycle=lambda_.recycle if isinstance(lambda_, ConcurrentLambda) else None,
            forget=[actions_reload.forget_scheduler_openapi, *self._action_caches],
            log=self._log,
        )
        watcher = actions_reload.ActionWatcher(actions_reload.action_directories(), reloader.reload).start()
        self._stack.callback(watcher.close)

    def callback_for_replays(self) -> FunctionSpec | None:
        """CallbackFunction as replays of dead letters run it (the console's, `make redrive`'s): in execution
        environments with the cloud's Handler and Timeout (also with `--api-only`); None when a test runs the
        callback in process (its actions live there), where replays run too."""
        if self._callback_handler is not None:
            return None
        return self.callback or FunctionSpec.from_template(
            "CallbackFunction",
            handler=self.options.callback_handler_path,
            timeout_seconds=self.options.callback_timeout,
            metric_lines=self.options.metrics,
        )

    def _journal(self, journal: Journal) -> None:
        """Every acknowledged change durable before it is acknowledged (`localcloud.journal`), from now on."""
        journal.open()
        moto_journal.set_journal(journal)
        if self.lambda_ is not None and self.dispatcher is not None:
            self.lambda_.persisted = True
            self.lambda_.journal = self.dispatcher.journal = journal.record

    def _close_journal(self, journal: Journal) -> None:
        moto_journal.set_journal(None)
        journal.close()
        self._log(log_record("persist", f"saved the local cloud's state to {journal.path}"))

    def _event_sources(self, lambda_: LambdaService) -> None:
        """Poll the template's SQS event source mappings (on threads of their own, unless a FakeClock steps them)."""
        import boto3

        self.event_sources = functions.event_sources(lambda_, self._resources, sqs=boto3.client("sqs"), log=self._log)
        if self._sender is not None:
            self._sender.polled = frozenset(source.queue_arn for source in self.event_sources)
        if not isinstance(self.clock, FakeClock):
            for source in self.event_sources:
                source.start()
                self._stack.callback(source.stop)

    def _services(self, template_groups: tuple[str, ...] = ()) -> tuple[LambdaService, Dispatcher]:
        """The Lambda emulator running the template's functions, and the Scheduler emulator handing it events."""
        env = self.environment
        callback_arn = env["CALLBACK_FUNCTION_ARN"]
        store = MotoScheduleStore(env["SCHEDULE_GROUP_NAME"], also=template_groups)
        sender = self._sender = SqsSender()
        stats = DispatchStats()
        lambda_ = self._lambda(callback_arn, sender=sender, stats=stats)
        self._stack.callback(lambda_.close)
        deleter = ScheduleDeleter(store, log=self._log)
        self._stack.callback(deleter.close)
        dispatcher = Dispatcher(
            store,
            lambda_,
            clock=self.clock,
            stats=stats,
            role_arn=env.get("SCHEDULER_ROLE_ARN"),
            also_roles=template_schedule_roles(),
            sender=sender,
            deleter=deleter,
            poll_interval=self.options.poll_interval,
            delivery_retry_base=self.options.delivery_retry_base,
            fault=self._fault,
            log=self._log,
            adversity=self.options.adversity,
        )
        return lambda_, dispatcher

    def _lambda(self, callback_arn: str, *, sender: SqsSender, stats: DispatchStats) -> LambdaService:
        """The template's functions in process (a test's handlers), else in execution environments as `make dev`
        runs them."""
        options = self.options
        resources = self._resources
        common: dict[str, Any] = {
            "clock": self.clock,
            "configs": functions.invoke_configs(resources),
            "retry_delays": options.lambda_retry_delays,
            "sender": sender,
            "stats": stats,
            "log": self._log,
            "adversity": options.adversity,
        }
        if self._callback_handler is not None:
            handlers, timeouts = functions.in_process_functions(
                resources, self._callback_handler, self._function_handlers, options.callback_timeout
            )
            return AsyncLambda(handlers, timeouts=timeouts, **common)
        specs = functions.function_specs(options, resources)
        self.callback = specs[callback_arn]
        return ConcurrentLambda(specs, concurrency=options.concurrency, **common)

    def _restore(self, saved: dict[str, Any]) -> None:
        """Give both services back what the journal kept of them (before they serve)."""
        if self.dispatcher is not None and self.lambda_ is not None:
            self.dispatcher.restore(saved)
            self.lambda_.restore_pending(saved.get("invocations", []))

    def _changed(self, path: str) -> None:
        if self.dispatcher is not None:
            self.dispatcher.wake()

    @property
    def _resources(self) -> LocalResources:
        if self.endpoint is None:
            raise RuntimeError("the local cloud is not started")
        return self.endpoint.resources

    @property
    def api_url(self) -> str:
        """Where the scheduler API is served."""
        if self.api is None:
            raise RuntimeError("the local cloud is not started")
        return self.api.url

    @property
    def moto_url(self) -> str:
        """The AWS endpoint (AWS_ENDPOINT_URL)."""
        if self.endpoint is None:
            raise RuntimeError("the local cloud is not started")
        return self.endpoint.url

    @property
    def queue_urls(self) -> dict[str, str]:
        """Logical id -> URL of the template's queues."""
        return dict(self.endpoint.resources.queue_urls) if self.endpoint is not None else {}

    def stats(self) -> dict[str, Any]:
        """Dispatch counts and lateness percentiles (`GET /_localcloud/stats`)."""
        if self.dispatcher is None or self.lambda_ is None:
            return {"dispatcher": False}
        lambda_ = self.lambda_
        return {
            "dispatcher": True,
            "lambda_mode": lambda_.mode,
            "pending_invocations": lambda_.pending,
            **({"environments": lambda_.environments} if isinstance(lambda_, ConcurrentLambda) else {}),
            **self.dispatcher.stats.summary(),
        }

    def serve(self, ready: Callable[[], None] | None = None) -> None:
        """Run until `stop()`: each service its own loop, Lambda's on this thread (the main one for an in-process
        callback, whose Mangum adapter needs its event loop) and the dispatcher's on another; or just the API
        with `api_only`. Returns with Lambda stopped (its environments too)."""
        if ready is not None:
            ready()
        if self.dispatcher is None or self.lambda_ is None:
            while not self._stopped.wait(0.5):
                pass
            return
        dispatcher, lambda_ = self.dispatcher, self.lambda_

        def scheduler() -> None:
            try:
                dispatcher.serve()
            finally:
                lambda_.stop()  # Lambda stops after the last delivery, never before

        thread = threading.Thread(target=scheduler, name="localcloud-scheduler", daemon=True)
        thread.start()
        try:
            lambda_.serve()
        finally:
            dispatcher.stop()
            thread.join(timeout=30)

    def stop(self) -> None:
        """Make `serve()` return (safe from a signal handler)."""
        self._stopped.set()
        if self.dispatcher is not None:
            self.dispatcher.stop()

    def run_until(self, until: datetime) -> None:
        """With a FakeClock: live through every moment that matters up to `until` (`localcloud.stepping`)."""
        self._stepper().run_until(until)

    def run_pending(self) -> None:
        """With a FakeClock: fire and run everything due at the clock's current time."""
        self._stepper().run_pending()

    def _stepper(self) -> Stepper:
        if self.dispatcher is None or self.lambda_ is None:
            raise RuntimeError("the local cloud runs no dispatcher (api_only)")
        return Stepper(self.clock, self.dispatcher, self.lambda_, self.event_sources)
