"""Run one occurrence of a task exactly once: Powertools idempotency around the registered action.

Knows nothing of HTTP. The idempotency key is (task_id, scheduled time): the same across Lambda
and Scheduler retries of one occurrence, different for each occurrence of a recurring schedule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from typing import TYPE_CHECKING, Any

from pydantic_core import to_jsonable_python

from callback_app.deadline import Deadline, deadline_seconds
from callback_app.errors import IdempotencyStoreNotConfigured, ResultNotRecorded, RetryBudgetExhausted, TaskNotLive
from callback_app.observability import logger, tracer
from callback_app.settings import get_settings
from callback_app.start import Start, finished, starting
from taskcore.caches import container_cache
from taskcore.clients import aws_client
from taskcore.clock import utcnow
from taskcore.envelope import TaskEnvelope
from taskcore.proxy import SchedulerContext, format_scheduled_time
from taskcore.registry import Action, TaskContext, occurrence_key, registry

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer, IdempotencyConfig

#: Record ids read `task#<md5 of the occurrence>`, whatever the function is called.
KEY_PREFIX = "task"


#: The key Powertools' response hook adds to a replayed result (removed before anyone sees it).
REPLAYED = "__replayed__"


def mark_replay(response: Any, idempotent_data: Any) -> Any:
    """Powertools' `response_hook`: called only when a stored result is returned instead of running again."""
    return {**response, REPLAYED: True} if isinstance(response, dict) else response


@dataclass(frozen=True)
class RunResult:
    """An occurrence's stored result, and whether this delivery replayed it (the action did not run now)."""

    stored: dict[str, Any]
    replayed: bool


@dataclass
class _Attempt:
    """One call of the idempotent function: set when the action itself ran."""

    executed: bool = False
    #: The start write of this attempt (None: no ledger), and what to do at the deadline off the main thread.
    start: Start | None = None
    on_deadline: Callable[[], None] | None = None
    lambda_context: Any = None


def occurrence_of(task_id: str, scheduler: SchedulerContext) -> dict[str, str | None]:
    """The idempotency payload: task id and scheduled time (None for a direct invocation), and the owner's scope
    for a task of an owner's own namespace (`Isolation=owner`: two owners may use one task id for one time).
    Without a scope the payload, and so the key, is what it always was."""
    scheduled = format_scheduled_time(scheduler.scheduled_time.astimezone(UTC)) if scheduler.scheduled_time else None
    occurrence = {"task_id": task_id, "scheduled_time": scheduled}
    if scheduler.task_scope is not None:
        occurrence["scope"] = scheduler.task_scope
    return occurrence


def remaining_time(lambda_context: Any) -> Callable[[], float | None]:
    """What TaskContext.time_left asks: Lambda's remaining time in seconds (None without a Lambda context)."""
    remaining = getattr(lambda_context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return lambda: None
    return lambda: remaining() / 1000


class TaskRunner:
    """Runs the envelope's action under an idempotency record in `persistence_store`."""

    def __init__(
        self,
        persistence_store: BasePersistenceLayer,
        config: IdempotencyConfig,
    ) -> None:
        from aws_lambda_powertools.utilities.idempotency import idempotent_function

        self.store = persistence_store
        self._config = config
        self._run_once = idempotent_function(
            data_keyword_argument="occurrence",
            persistence_store=persistence_store,
            config=config,
            key_prefix=KEY_PREFIX,
        )(self._execute)

    def run(
        self,
        envelope: TaskEnvelope,
        scheduler: SchedulerContext,
        lambda_context: Any = None,
        *,
        start: Start | None = None,
        on_deadline: Callable[[], None] | None = None,
    ) -> RunResult:
        """The stored result of this occurrence: computed now, or replayed from an earlier delivery.

        `start` makes the in-progress record's write the attempt's start write (callback_app.start): it
        counts the attempt and refuses a task cancelled or paused (TaskNotLive: the action does not run).
        `on_deadline` records a timeout the watchdog sees (callback_app.deadline).

        Raises TaskNotLive, the Powertools idempotency errors (in progress elsewhere, store unavailable),
        ResultNotRecorded when the action ran and its result could not be stored, ActionTimedOut,
        RetryBudgetExhausted, and whatever the action raises; in every such case no completed record is
        left behind.
        """
        from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyPersistenceLayerError

        # Lets an attempt that timed out be retried once its in-progress record expires. (The
        # guide's own test passes `{}` as the context: without the method there is nothing to register.)
        self._config.register_lambda_context(
            lambda_context if hasattr(lambda_context, "get_remaining_time_in_millis") else None  # type: ignore[arg-type]
        )
        attempt = _Attempt(start=start, on_deadline=on_deadline, lambda_context=lambda_context)
        token = starting(start)
        try:
            stored: dict[str, Any] = self._run_once(
                occurrence=occurrence_of(envelope.task_id, scheduler),
                envelope=envelope,
                scheduler=scheduler,
                attempt=attempt,
                lambda_context=lambda_context,
            )
        except IdempotencyPersistenceLayerError as exc:
            if isinstance(exc.__cause__, TaskNotLive):
                raise exc.__cause__ from None
            if attempt.executed:
                raise ResultNotRecorded(str(exc)) from exc
            raise
        finally:
            finished(token)
        replayed = bool(stored.pop(REPLAYED, False))
        return RunResult(stored=stored, replayed=replayed)

    # Neither the result nor the exception goes into the trace: both may hold the task's personal data.
    @tracer.capture_method(capture_response=False, capture_error=False)
    def _execute(
        self,
        *,
        occurrence: dict[str, str | None],
        envelope: TaskEnvelope,
        scheduler: SchedulerContext,
        attempt: _Attempt,
        lambda_context: Any = None,
    ) -> dict[str, Any]:
        action = registry.get(envelope.action)
        counted = attempt.start.attempts if attempt.start is not None else None
        if action.max_attempts is not None and counted is not None and counted > action.max_attempts:
            raise RetryBudgetExhausted(f"retry budget exhausted: attempt {counted} of at most {action.max_attempts}")
        attempt.executed = True
        context = TaskContext(
            task_id=envelope.task_id,
            user_id=envelope.user_id,
            action=envelope.action,
            scheduled_time=scheduler.scheduled_time,
            attempt=scheduler.attempt,
            schedule_arn=scheduler.schedule_arn,
            execution_id=scheduler.execution_id,
            idempotency_key=occurrence_key(occurrence),
            remaining=remaining_time(lambda_context),
        )
        data = envelope.parsed_data()
        output = self._deadline(action, attempt).run(lambda: action.run(data, context))
        return {
            "task_id": envelope.task_id,
            "action": envelope.action,
            "scheduled_time": occurrence["scheduled_time"],
            # The stored result's own format (`+00:00`), kept so that records already stored read the same;
            # nothing reads it back (the ledger's timestamps are taskcore.states.timestamp's).
            "completed_at": utcnow().isoformat(timespec="milliseconds"),
            # Whatever the action returned, made JSON-safe so it can be stored and replayed.
            "result": to_jsonable_python(dict(output) if output is not None else None, fallback=str),
        }

    def _deadline(self, action: Action[Any], attempt: _Attempt) -> Deadline:
        """The attempt's deadline: the action's timeout, or the function's remaining time less the margin."""
        context = attempt.lambda_context
        remaining = context.get_remaining_time_in_millis() if hasattr(context, "get_remaining_time_in_millis") else None
        margin = get_settings().timeout_margin_seconds
        seconds = deadline_seconds(action.timeout, remaining, margin)
        return Deadline(seconds, attempt.on_deadline, grace=margin / 2)


@container_cache
def get_dynamodb_client() -> Any:
    """The container's DynamoDB client: the idempotency records and the task ledger share it."""
    return aws_client("dynamodb", get_settings().client_settings())


@container_cache
def get_task_runner() -> TaskRunner:
    """The runner, its DynamoDB client and persistence layer: built once per container."""
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    from callback_app.persistence import LedgerPersistenceLayer

    settings = get_settings()
    if not settings.idempotency_table_name:
        raise IdempotencyStoreNotConfigured(
            "IDEMPOTENCY_TABLE_NAME is not set; refusing to run a task without a record"
        )
    client = get_dynamodb_client()
    store = LedgerPersistenceLayer(table_name=settings.idempotency_table_name, boto3_client=client)
    config = IdempotencyConfig(
        expires_after_seconds=settings.idempotency_expires_after_seconds, response_hook=mark_replay
    )
    logger.debug("task runner ready", extra={"table": settings.idempotency_table_name})
    return TaskRunner(store, config)
