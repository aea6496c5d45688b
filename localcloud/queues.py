"""The SQS side of the local cloud's services: Scheduler and Lambda send their dead letters (reading them back is
`ops.queues`'s, the same for any AWS), and `--persist` saves and restores every queue's messages."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from localcloud.stats import DispatchStats, LogSink, log_record
from ops.queues import queue_name


class QueueNotFound(LookupError):
    """Raise when a dead-letter ARN names a queue the local cloud does not have."""


class SqsSender:
    """Sends messages to queues named by ARN (the way Scheduler and Lambda address them), from any thread."""

    def __init__(self, client: Any = None) -> None:
        self._client = client
        self._urls: dict[str, str] = {}
        self._lock = threading.Lock()
        #: The queues an event source mapping of this local cloud reads (their letters are not forwarded).
        self.polled: frozenset[str] = frozenset()

    @property
    def client(self) -> Any:
        with self._lock:  # boto3 builds clients from a shared session: not from two threads at once
            if self._client is None:
                import boto3

                self._client = boto3.client("sqs")
            return self._client

    def url(self, arn: str) -> str:
        """The queue URL for `arn`; raises QueueNotFound."""
        if arn not in self._urls:
            try:
                self._urls[arn] = self.client.get_queue_url(QueueName=queue_name(arn))["QueueUrl"]
            except self.client.exceptions.QueueDoesNotExist as exc:
                raise QueueNotFound(f"no queue {queue_name(arn)!r} (from {arn})") from exc
        return self._urls[arn]

    def send(self, arn: str, body: str, attributes: Mapping[str, str] | None = None) -> str:
        """Send `body` with string message attributes; returns the message id.

        A letter for one of the recorder's inboxes that no event source mapping of this local cloud reads (its
        function does not run here: a test's in-process cloud without the recorder) goes straight on to the
        operator queue the inbox forwards to (`unread_inboxes`), so the letter is where `make dlq` looks; where
        the recorder runs (`make dev`), it reads the inbox, records the ending and forwards it itself.
        """
        if arn not in self.polled:
            arn = unread_inboxes().get(arn, arn)
        params: dict[str, Any] = {"QueueUrl": self.url(arn), "MessageBody": body}
        if attributes:
            params["MessageAttributes"] = {
                key: {"DataType": "String", "StringValue": value} for key, value in attributes.items()
            }
        message_id: str = self.client.send_message(**params)["MessageId"]
        return message_id


@cache
def unread_inboxes() -> dict[str, str]:
    """Queue ARN -> the ARN its RedrivePolicy names, for each queue a template event source mapping reads.

    The recorder's inboxes (CallbackFailureInbox, ScheduleDeliveryInbox) are read by RecorderFunction's SQS event
    source mappings, which record the ending and forward each message to its operator queue. Where the recorder
    does not run (SqsSender.polled), a letter for an inbox is sent to the operator queue directly, so `make dlq`,
    `make redrive` and the console see it as before.
    """
    from localcloud.template import Resolver, load_template, resources_of_type

    template = load_template()
    resolver = Resolver(template)
    queues = resources_of_type(template, "AWS::SQS::Queue")
    read = {
        str(mapping["Properties"]["EventSourceArn"]["Fn::GetAtt"][0])
        for mapping in resources_of_type(template, "AWS::Lambda::EventSourceMapping").values()
        if isinstance(mapping.get("Properties", {}).get("EventSourceArn"), dict)
    }
    forwards: dict[str, str] = {}
    for inbox in read & set(queues):
        target = (queues[inbox].get("Properties", {}).get("RedrivePolicy") or {}).get("deadLetterTargetArn")
        if isinstance(target, dict) and "Fn::GetAtt" in target:
            forwards[resolver.arn(inbox)] = resolver.arn(str(target["Fn::GetAtt"][0]))
    return forwards


@dataclass(frozen=True)
class DeadLetterEnding:
    """How one service (Scheduler, Lambda) ends an event that failed for good: its words and its counters.

    `send` is the ending itself, written once for both: the event goes to the service's dead-letter
    queue, or, when there is none (or the queue does not exist), is dropped; either way it is counted
    and said in an ERROR line.
    """

    #: Whose line it is: `localcloud.<component>`.
    component: str
    #: What happened, the start of every line: "delivery failed for good".
    failure: str
    #: Why it is dropped when the event names no queue: "no dead-letter queue".
    no_queue: str
    #: The commands that show (and replay) what the queue holds, said when a letter is sent.
    commands: str
    #: The counters of `DispatchStats`: events sent to the queue, and events dropped.
    sent_counter: str
    dropped_counter: str

    def send(
        self,
        sender: SqsSender,
        queue_arn: str | None,
        body: str,
        attributes: Mapping[str, str] | None = None,
        *,
        stats: DispatchStats,
        log: LogSink,
        fields: Mapping[str, Any],
    ) -> None:
        """Send `body` (with `attributes`) to `queue_arn`, else drop it; count and log the outcome with `fields`."""
        if queue_arn is None:
            self._drop(self.no_queue, stats=stats, log=log, fields=fields)
            return
        try:
            sender.send(queue_arn, body, attributes)
        except QueueNotFound as exc:
            self._drop(str(exc), stats=stats, log=log, fields=fields)
            return
        stats.count(self.sent_counter)
        log(
            log_record(
                self.component,
                f"{self.failure}; sent to {queue_name(queue_arn)} ({self.commands})",
                level="ERROR",
                **fields,
            )
        )

    def _drop(self, why: str, *, stats: DispatchStats, log: LogSink, fields: Mapping[str, Any]) -> None:
        stats.count(self.dropped_counter)
        log(log_record(self.component, f"{self.failure}; {why}", level="ERROR", **fields))


def _moto_queues(account: str, region: str) -> dict[str, Any]:
    from moto.sqs.models import sqs_backends

    queues: dict[str, Any] = sqs_backends[account][region].queues
    return queues


def moto_messages(*, account: str, region: str) -> dict[str, list[dict[str, Any]]]:
    """Every queue's messages, visible or in flight (only moto's model knows the latter), by queue name."""
    found: dict[str, list[dict[str, Any]]] = {}
    for name, queue in dict(_moto_queues(account, region)).items():
        found[name] = [
            {
                "id": message.id,
                "body": message.body,
                "attributes": message.message_attributes,
                "sent_timestamp": message.sent_timestamp,
            }
            for message in list(queue._messages)
        ]
    return found


def add_moto_messages(queues: Mapping[str, list[dict[str, Any]]], *, account: str, region: str) -> None:
    """Put saved messages back, with their ids, visible at once (a reader that held one has stopped)."""
    from moto.sqs.models import Message

    existing = _moto_queues(account, region)
    for name, messages in queues.items():
        queue = existing.get(name)
        if queue is None:
            continue  # not one of the template's queues any more
        for saved in messages:
            message = Message(saved["id"], saved["body"])
            message.message_attributes = dict(saved.get("attributes") or {})
            message.sent_timestamp = saved.get("sent_timestamp")
            queue.add_message(message)
