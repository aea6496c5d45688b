"""What template.yaml wires besides the API: SQS event source mappings and the schedules it declares itself.

- **Event source mappings** (`AWS::Lambda::EventSourceMapping` with an SQS `EventSourceArn`, and SAM's
  `Events: Type: SQS`, which SAM translates into one): Lambda's poller, as AWS runs it. It receives up to
  `BatchSize` messages, invokes the function *synchronously* with Lambda's SQS event (`Records`, each with
  `messageId`, `receiptHandle`, `body`, `attributes`, `messageAttributes`, `md5OfBody`, `eventSource`,
  `eventSourceARN`, `awsRegion`), and then deletes the batch when the invocation succeeded; with
  `FunctionResponseTypes: [ReportBatchItemFailures]` it keeps the messages the response names in
  `batchItemFailures` (an unparseable response keeps the whole batch). A failed invocation deletes nothing:
  the messages come back after their visibility timeout, and the queue's RedrivePolicy moves them on after
  `maxReceiveCount` receives (moto applies it).
- **Schedules** (`AWS::Scheduler::Schedule`): created in moto when the local cloud starts, in their declared
  group, so the dispatcher fires them like the API's.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from localcloud.stats import LogSink, log_record
from localcloud.template import LOCAL_REGION, Resolver, load_template, resources_of_type

__all__ = [
    "QueueMapping",
    "SqsEventSource",
    "create_template_schedule",
    "ensure_template_schedules",
    "queue_mappings",
    "sqs_event",
    "template_schedule_names",
    "template_schedule_roles",
]

#: Invoke a function synchronously: (function ARN, event) -> (response, error payload or None).
SyncInvoke = Callable[[str, Any], tuple[Any, dict[str, Any] | None]]


@dataclass(frozen=True)
class QueueMapping:
    """One SQS event source mapping of the template."""

    function: str
    queue: str
    batch_size: int = 10
    report_batch_item_failures: bool = False
    enabled: bool = True


def _logical_id(reference: Any) -> str | None:
    """The logical id a `!GetAtt X.Arn`, `!Ref X` or `X.Arn` string names."""
    if isinstance(reference, dict):
        ((key, arg),) = reference.items()
        if key == "Fn::GetAtt":
            return str(arg[0] if isinstance(arg, list) else arg.split(".", 1)[0])
        if key == "Ref":
            return str(arg)
    return None


def queue_mappings(template: Mapping[str, Any] | None = None) -> list[QueueMapping]:
    """Every SQS event source mapping template.yaml declares (SAM events and plain resources)."""
    template = template or load_template()
    found = []
    for function, resource in resources_of_type(template, "AWS::Serverless::Function").items():
        for event in (resource.get("Properties", {}).get("Events") or {}).values():
            if event.get("Type") == "SQS":
                found.append(_mapping(function, event.get("Properties", {}), "Queue"))
    for resource in resources_of_type(template, "AWS::Lambda::EventSourceMapping").values():
        props = resource.get("Properties", {})
        target = _logical_id(props.get("FunctionName"))
        source = _logical_id(props.get("EventSourceArn"))
        if target and source and template["Resources"].get(source, {}).get("Type") == "AWS::SQS::Queue":
            found.append(_mapping(target, props, "EventSourceArn"))
    return [m for m in found if m.queue]


def _mapping(function: str, props: Mapping[str, Any], queue_key: str) -> QueueMapping:
    return QueueMapping(
        function=function,
        queue=_logical_id(props.get(queue_key)) or "",
        batch_size=int(props.get("BatchSize", 10)),
        report_batch_item_failures="ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
        enabled=props.get("Enabled", True) is not False,
    )


def _template_schedules(template: Mapping[str, Any] | None = None) -> dict[tuple[str, str], dict[str, Any]]:
    """(group, name) -> the resolved properties of every `AWS::Scheduler::Schedule` of the template."""
    template = template or load_template()
    resolver = Resolver(template)
    found = {}
    for logical_id, resource in resources_of_type(template, "AWS::Scheduler::Schedule").items():
        props = {k: v for k, v in resolver.resolve(resource.get("Properties", {})).items() if v is not None}
        name = str(props.pop("Name", logical_id))
        group = str(props.pop("GroupName", "default"))
        found[(group, name)] = props
    return found


def template_schedule_names(template: Mapping[str, Any] | None = None) -> list[tuple[str, str]]:
    """(group, name) of every schedule template.yaml declares."""
    return sorted(_template_schedules(template))


def template_schedule_roles(template: Mapping[str, Any] | None = None) -> frozenset[str]:
    """The roles template.yaml's own schedules invoke their targets with."""
    roles = (props.get("Target", {}).get("RoleArn") for props in _template_schedules(template).values())
    return frozenset(str(role) for role in roles if role)


def create_template_schedule(scheduler: Any, group: str, name: str, template: Mapping[str, Any] | None = None) -> None:
    """Create one schedule of the template in moto (ConflictException when it exists)."""
    props = _template_schedules(template)[(group, name)]
    allowed = ("ScheduleExpression", "ScheduleExpressionTimezone", "Description", "State", "Target")
    window = props.get("FlexibleTimeWindow") or {"Mode": "OFF"}
    scheduler.create_schedule(Name=name, GroupName=group, FlexibleTimeWindow=window, **_only(props, allowed))


def ensure_template_schedules(scheduler: Any, targets: frozenset[str] | None = None) -> tuple[str, ...]:
    """Create the template's schedules that do not exist yet (--persist restores the others); their groups.

    With `targets` (the ARNs of the functions that run here: a test's in-process cloud), only the schedules whose
    target is one of them: one that would fire into a function that does not run here (the recorder's sweep,
    every minute) is not made, rather than fail every time it comes due.
    """
    groups = set()
    schedules = _template_schedules()
    for group, name in template_schedule_names():
        if targets is not None and schedules[(group, name)].get("Target", {}).get("Arn") not in targets:
            continue
        with suppress(scheduler.exceptions.ConflictException):
            create_template_schedule(scheduler, group, name)
        groups.add(group)
    return tuple(sorted(groups))


def _only(props: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {key: props[key] for key in keys if key in props}


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """Lambda's event for a batch of SQS messages (as ReceiveMessage returned them)."""
    return {"Records": [_record(message, queue_arn) for message in messages]}


def _record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    attributes = message.get("MessageAttributes") or {}
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": value.get("BinaryValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value.get("DataType"),
            }
            for name, value in attributes.items()
        },
        "md5OfBody": message.get("MD5OfBody")
        or hashlib.md5(message["Body"].encode(), usedforsecurity=False).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": LOCAL_REGION,
    }


def failed_ids(response: Any, batch: list[str]) -> set[str]:
    """The message ids a ReportBatchItemFailures response keeps (all of them when it cannot be read)."""
    if response is None or (isinstance(response, dict) and not response.get("batchItemFailures")):
        return set()
    try:
        ids = {str(failure["itemIdentifier"]) for failure in response["batchItemFailures"]}
    except (KeyError, TypeError):
        return set(batch)  # Lambda treats an invalid response as a failure of the whole batch
    return set(batch) if not ids <= set(batch) else ids


class SqsEventSource:
    """Lambda's poller for one mapping: receive a batch, invoke the function with it, delete what succeeded."""

    def __init__(
        self,
        mapping: QueueMapping,
        *,
        sqs: Any,
        queue_url: str,
        queue_arn: str,
        function_arn: str,
        invoke: SyncInvoke,
        log: LogSink,
        wait_seconds: int = 1,
    ) -> None:
        self.mapping = mapping
        self.queue_arn = queue_arn
        self._sqs = sqs
        self._queue_url = queue_url
        self._queue_arn = queue_arn
        self._function_arn = function_arn
        self._invoke = invoke
        self._log = log
        self._wait = wait_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.batches = 0

    def poll_once(self, *, wait: int = 0) -> int:
        """One batch (waiting up to `wait` seconds for it); how many messages it held."""
        received = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=min(10, self.mapping.batch_size),
            WaitTimeSeconds=wait,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not received:
            return 0
        self.batches += 1
        response, error = self._invoke(self._function_arn, sqs_event(received, self._queue_arn))
        ids = [m["MessageId"] for m in received]
        if error is not None:
            kept = set(ids)
        elif self.mapping.report_batch_item_failures:
            kept = failed_ids(response, ids)
        else:
            kept = set()
        done = [m for m in received if m["MessageId"] not in kept]
        for start in range(0, len(done), 10):
            entries = [
                {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(done[start : start + 10])
            ]
            self._sqs.delete_message_batch(QueueUrl=self._queue_url, Entries=entries)
        if kept:
            self._log(
                log_record(
                    "lambda",
                    "event source batch failed; messages kept in the queue",
                    level="WARNING",
                    function=self.mapping.function,
                    queue=self.mapping.queue,
                    kept=len(kept),
                    deleted=len(done),
                    error=f"{error['errorType']}: {error['errorMessage']}" if error else None,
                )
            )
        return len(received)

    def start(self) -> SqsEventSource:
        """Poll on a thread of its own until `stop()`."""
        self._thread = threading.Thread(target=self._serve, name=f"esm-{self.mapping.queue}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop polling (the batch in progress finishes)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once(wait=self._wait)
            except Exception as exc:  # a bug or a stopped endpoint must not end the poller silently
                if self._stop.is_set():
                    return
                self._log(
                    log_record("lambda", "event source error", level="ERROR", error=f"{type(exc).__name__}: {exc}")
                )
                self._stop.wait(1.0)


def describe(mappings: list[QueueMapping]) -> str:
    """One line per mapping (the banner)."""
    return json.dumps([f"{m.queue} -> {m.function}" for m in mappings])
