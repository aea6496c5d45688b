"""The recorder's Lambda entry point: the endings no invocation can write, then the letters forwarded unchanged.

Two kinds of event reach it (template.yaml, RecorderFunction):

- an SQS batch from one of its inboxes (event source mappings with ReportBatchItemFailures, read with
  Powertools' batch processing): `CallbackFailureInbox` holds Lambda's failure records of the callback
  (its on-failure destination), `ScheduleDeliveryInbox` EventBridge Scheduler's dead letters (every
  schedule's DeadLetterConfig). Each message's ending is recorded in the task ledger (callback_app.endings),
  then the message is sent on, body and attributes unchanged, to the operator queue (`CallbackFailureQueue`,
  `ScheduleDeliveryDLQ`), where `make dlq`, `make redrive` and the console read it as before. A message that
  fails either step is reported as a batch item failure and received again; after 5 receives the inbox's
  RedrivePolicy moves it to the operator queue unrecorded: a broken recorder loses nothing.
- `{"sweep": "due"}` from RecorderSweepSchedule, once a minute (callback_app.sweep).

A failure record whose payload Lambda dropped (too large for the destination) names its request
(`requestContext.requestId`): the run is found through the pointer item the callback's start write keeps
(taskcore.ledger.request_pointer_item).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from callback_app.backoff import retrying, within
from callback_app.endings import Ending, EndingsLedger
from callback_app.ledger import RunLedger
from callback_app.observability import logger
from taskcore.caches import container_cache
from taskcore.clients import ClientSettings, aws_client
from taskcore.clock import utcnow
from taskcore.ledger import SCOPE_PATTERN, run_sk, task_pk
from taskcore.proxy import SchedulerContext, task_fields
from taskcore.redaction import redact
from taskcore.states import RunOutcome, TimingKind

#: Lambda's failure record says this `condition` when the event waited too long (MaximumEventAgeInSeconds).
EVENT_AGE_EXCEEDED = "EventAgeExceeded"
#: The sweep's event (RecorderSweepSchedule's Input).
SWEEP = "sweep"
#: A throttled write waits only while the recorder has more than this left (seconds; its Timeout is 60 s).
MARGIN_SECONDS = 5.0
_SCOPE = re.compile(SCOPE_PATTERN)


class RecorderSettings(BaseSettings):
    """What the recorder reads from its environment (template.yaml, RecorderFunction)."""

    model_config = SettingsConfigDict(extra="ignore")

    task_ledger_table: str = Field(description="DynamoDB table of tasks and runs (the ledger)")
    task_retention_seconds: int = Field(default=7 * 86_400, ge=3_600)
    callback_failure_inbox_arn: str = Field(default="")
    callback_failure_queue_url: str = Field(default="")
    schedule_delivery_inbox_arn: str = Field(default="")
    schedule_delivery_dlq_url: str = Field(default="")
    schedule_group_name: str = Field(default="")
    #: The callback's idempotency records (IdempotencyTable): a run reported failed whose record is COMPLETED succeeded.
    idempotency_table_name: str = Field(default="")
    #: How long after its due time a one-time task without a run and without a schedule is `missed`.
    sweep_delivery_window_seconds: int = Field(default=300, ge=0)


@container_cache
def get_recorder_settings() -> RecorderSettings:
    return RecorderSettings()


@container_cache
def get_clients() -> tuple[Any, Any]:
    """The container's DynamoDB and SQS clients."""
    settings = ClientSettings(total_max_attempts=4, connect_timeout_seconds=2.0, read_timeout_seconds=5.0)
    return aws_client("dynamodb", settings), aws_client("sqs", settings)


@container_cache
def get_scheduler_client() -> Any:
    """The sweep's EventBridge Scheduler client (GetSchedule only)."""
    return aws_client("scheduler", ClientSettings(total_max_attempts=4))


@container_cache
def get_endings() -> EndingsLedger:
    settings = get_recorder_settings()
    dynamodb, _ = get_clients()
    return EndingsLedger(dynamodb, settings.task_ledger_table, retention_seconds=settings.task_retention_seconds)


@container_cache
def get_idempotency_store() -> Any:
    """A reader of the callback's idempotency records (callback_app.completed)."""
    from callback_app.completed import idempotency_store

    dynamodb, _ = get_clients()
    return idempotency_store(dynamodb, get_recorder_settings().idempotency_table_name)


@container_cache
def get_run_ledger() -> RunLedger:
    """The callback's own ledger writer, for a success the recorder records (callback_app.completed)."""
    settings = get_recorder_settings()
    dynamodb, _ = get_clients()
    return RunLedger(
        dynamodb, settings.task_ledger_table, retention_seconds=settings.task_retention_seconds, max_invocations=3
    )


@dataclass(frozen=True)
class Letter:
    """One message of an inbox: its body, its attributes (as SQS's SendMessage takes them) and its inbox."""

    body: str
    attributes: dict[str, dict[str, str]]
    source_arn: str

    @classmethod
    def of(cls, record: SQSRecord) -> Letter:
        raw = record.raw_event.get("messageAttributes") or {}
        attributes = {
            name: {"DataType": value.get("dataType", "String"), "StringValue": value.get("stringValue", "")}
            for name, value in raw.items()
            if value.get("stringValue") is not None
        }
        return cls(record.body or "", attributes, record.event_source_arn or "")

    def attribute(self, name: str) -> str | None:
        value = self.attributes.get(name)
        return value["StringValue"] if value else None


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    """The sweep's event, or an SQS batch of one of the inboxes (partial batch failures)."""
    with within(context, MARGIN_SECONDS):  # a throttled ledger write waits while there is time (callback_app.backoff)
        if isinstance(event, Mapping) and SWEEP in event:
            from callback_app.sweep import sweep

            return sweep(utcnow()).as_dict()
        processor = BatchProcessor(event_type=EventType.SQS)
        answer = process_partial_response(event=event, record_handler=handle, processor=processor, context=context)
        return dict(answer)


def handle(record: SQSRecord) -> None:
    """Record one letter's ending, then forward it unchanged; raise (a batch item failure) when either fails."""
    letter = Letter.of(record)
    settings = get_recorder_settings()
    ending = ending_of(letter, settings, utcnow())
    if ending is not None and succeeded(ending, settings):
        return  # the run succeeded: nothing for an operator to redrive (docs/operating.md)
    if ending is not None:
        recorded = get_endings().record(ending)
        logger.info(
            "ending recorded" if recorded else "ending not recorded: the run had succeeded",
            extra={"outcome": ending.outcome, "run": ending.run_sk},
        )
    else:
        logger.warning("a letter with no task to record it on: forwarded only")
    forward(letter, settings)


def succeeded(ending: Ending, settings: RecorderSettings) -> bool:
    """Whether the ending's occurrence had in fact succeeded (its idempotency record is COMPLETED): then it is
    recorded `succeeded`, with the stored result, and the letter is not forwarded."""
    if not settings.idempotency_table_name:
        return False
    from callback_app.completed import record_success, stored_result

    stored = retrying(stored_result, get_idempotency_store(), ending)
    if stored is None:
        return False
    attempts = record_success(get_run_ledger(), ending, stored)
    logger.warning(
        "a run reported failed had succeeded (its result is stored): recorded succeeded, the letter not forwarded",
        extra={"reported": ending.outcome, "run": ending.run_sk, "attempts": attempts},
    )
    return True


def forward(letter: Letter, settings: RecorderSettings) -> None:
    """Send the letter, body and attributes unchanged, to its inbox's operator queue."""
    queue = {
        settings.callback_failure_inbox_arn: settings.callback_failure_queue_url,
        settings.schedule_delivery_inbox_arn: settings.schedule_delivery_dlq_url,
    }.get(letter.source_arn)
    if not queue:
        raise ValueError(f"no operator queue for the inbox {letter.source_arn!r}")
    _, sqs = get_clients()
    params: dict[str, Any] = {"QueueUrl": queue, "MessageBody": letter.body}
    if letter.attributes:
        params["MessageAttributes"] = letter.attributes
    sqs.send_message(**params)


def ending_of(letter: Letter, settings: RecorderSettings, now: datetime) -> Ending | None:
    """The ending a letter tells of, or None when it names no task."""
    try:
        body = json.loads(letter.body)
    except ValueError:
        body = None
    if letter.source_arn == settings.callback_failure_inbox_arn and isinstance(body, Mapping):
        return failure_record_ending(body, now)
    return dead_letter_ending(body, letter, now)


def failure_record_ending(record: Mapping[str, Any], now: datetime) -> Ending | None:
    """Lambda's failure record: retries exhausted (failed, or timed out) or the event too old (expired)."""
    context = record.get("requestContext") or {}
    outcome, error_type, message = _failure_of(context, record.get("responsePayload"))
    place = _place_of_event(record.get("requestPayload"))
    if place is None:  # Lambda dropped the payload (too large): its request id still names the run
        place = _place_of_request(str(context.get("requestId") or ""))
    if place is None:
        return None
    pk, sk, kind, scheduled = place
    attempts = context.get("approximateInvokeCount")
    return Ending(
        pk,
        sk,
        outcome,
        error_type,
        message,
        now,
        kind=kind,
        scheduled_time=scheduled,
        attempts=attempts if isinstance(attempts, int) else None,
    )


def _failure_of(context: Mapping[str, Any], response: Any) -> tuple[RunOutcome, str, str]:
    """(outcome, error type, message) of a failure record's condition and response."""
    if context.get("condition") == EVENT_AGE_EXCEEDED:
        return RunOutcome.EXPIRED, EVENT_AGE_EXCEEDED, "the event waited past its maximum age"
    response = response if isinstance(response, Mapping) else {}
    error_type = str(response.get("errorType") or "Error")
    message = str(response.get("errorMessage") or "")
    if "timed out" in message.lower() or "timedout" in error_type.lower():
        return RunOutcome.TIMED_OUT, error_type, message  # Lambda's own words ("Task timed out after 30.00 seconds")
    return RunOutcome.FAILED, error_type, redact(message)


def dead_letter_ending(event: Any, letter: Letter, now: datetime) -> Ending | None:
    """Scheduler's dead letter: the body is the event it could not deliver, its attributes say why."""
    place = _place_of_event(event)
    if place is None:
        return None
    pk, sk, kind, scheduled = place
    retries = letter.attribute("RETRY_ATTEMPTS")
    return Ending(
        pk,
        sk,
        RunOutcome.UNDELIVERED,
        letter.attribute("ERROR_CODE") or "Undelivered",
        redact(letter.attribute("ERROR_MESSAGE") or "EventBridge Scheduler could not deliver the event"),
        now,
        kind=kind,
        scheduled_time=scheduled or letter.attribute("SCHEDULED_TIME"),
        attempts=0 if retries is not None else None,  # no attempt of the callback ran
    )


def _place_of_event(event: Any) -> tuple[str, str, TimingKind | None, str | None] | None:
    """(task partition, run sort key, kind, scheduled time) of a proxy event, or None when it names no task."""
    fields = task_fields(event)
    if fields.task_id is None or not isinstance(event, Mapping):
        return None
    headers = event.get("headers")
    scheduler = SchedulerContext.from_headers(
        {str(k): str(v) for k, v in headers.items()} if isinstance(headers, Mapping) else {}
    )
    scope = scheduler.task_scope if scheduler.task_scope and _SCOPE.fullmatch(scheduler.task_scope) else None
    kind = TimingKind(scheduler.task_kind) if scheduler.task_kind else None
    scheduled = scheduler.scheduled_time_raw
    return task_pk(fields.task_id, scope), run_sk(scheduled), kind, scheduled


def _place_of_request(request_id: str) -> tuple[str, str, TimingKind | None, str | None] | None:
    found = get_endings().run_of_request(request_id) if request_id else None
    if found is None:
        return None
    pk, sk, kind = found
    scheduled = sk.removeprefix("RUN#")
    return pk, sk, TimingKind(kind) if kind else None, None if scheduled == "direct" else scheduled


__all__ = ["Letter", "RecorderSettings", "dead_letter_ending", "failure_record_ending", "handle", "lambda_handler"]
