"""`make dlq` / `make redrive`: the tasks that failed for good in the running local cloud, and replaying them.

Three queues hold them (all from template.yaml):
- CallbackFailureQueue: the callback raised on every attempt (Lambda's retries exhausted); each message
  is Lambda's invocation record, with the event (`requestPayload`) and the error (`responsePayload`).
- ScheduleDeliveryDLQ: EventBridge Scheduler could not deliver the event at all (wrong target or role,
  bad payload, retries exhausted); the message body is the event, the error is in its attributes.
- RejectedTaskQueue: the callback rejected the task (4xx: unknown action, invalid data, TaskRejected),
  which Lambda never retries; the callback's record has the shape of Lambda's, with the reason.

`redrive` runs each event through the callback's real entry point (in this process, against the
running local cloud's endpoint, as a redrive: the callback then keeps no second copy of a rejection)
and deletes the message only when the replay succeeded (2xx, a replayed duplicate included). A
replay that is rejected (4xx) or fails keeps its message, says why, and the exit status is 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import localcloud.paths  # noqa: F401 - the callback's packages on sys.path
from localcloud.dev import MetricLineFilter
from localcloud.endpoint import patched_environ
from localcloud.lambda_async import InvokeConfig, handler_event_loop
from localcloud.lambda_context import ClientContext, LocalLambdaContext
from localcloud.queues import QueuedMessage, delete_message, held_messages, queue_name
from localcloud.runstate import DEFAULT_STATE_FILE, NotRunning, RunState, read_state
from taskcore.proxy import task_fields


@dataclass
class DeadLetter:
    """One dead-lettered task, whichever queue it is in."""

    message: QueuedMessage
    kind: str  # "invocation" (Lambda gave up), "delivery" (Scheduler gave up) or "rejected" (the callback refused)
    event: Any
    task_id: str | None
    action: str | None
    scheduled_time: str | None
    error: str
    attempts: int | None
    condition: str | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-able summary (`make dlq ARGS=--json`)."""
        return {
            "queue": self.message.queue,
            "message_id": self.message.message_id,
            "kind": self.kind,
            "task_id": self.task_id,
            "action": self.action,
            "scheduled_time": self.scheduled_time,
            "error": self.error,
            "attempts": self.attempts,
            "condition": self.condition,
        }


def describe(message: QueuedMessage, kind: str) -> DeadLetter:
    """Read a dead-letter message of any kind: an invocation record (Lambda's, or the callback's for a
    rejection), else Scheduler's letter, whose body is the event and whose attributes say the error."""
    body = message.json_body()
    if kind in ("invocation", "rejected") and isinstance(body, dict) and "requestPayload" in body:
        event, failure = body["requestPayload"], _record_failure(body, rejected=kind == "rejected")
    else:
        event, failure = (body if body is not None else message.body), _attribute_failure(message.attributes)
    fields = task_fields(event)
    scheduled = fields.scheduled_time
    if scheduled is None and kind == "delivery":
        scheduled = message.attributes.get("SCHEDULED_TIME")
    return DeadLetter(
        message,
        kind,
        event,
        fields.task_id,
        fields.action,
        scheduled,
        error=failure.error,
        attempts=failure.attempts,
        condition=failure.condition,
    )


class _Failure(NamedTuple):
    """How a task failed, as its dead letter says: the error, the attempts made, the condition that ended them."""

    error: str
    attempts: int | None
    condition: str | None


def _record_failure(record: dict[str, Any], *, rejected: bool) -> _Failure:
    """From an invocation record (Lambda's, or the callback's for a rejection, which has its shape)."""
    response = record.get("responsePayload") or {}
    context = record.get("requestContext") or {}
    if rejected:
        status = (record.get("responseContext") or {}).get("statusCode")
        error = f"rejected by the callback ({status}): {response.get('detail', '')}"
    else:
        error = f"{response.get('errorType', 'Error')}: {response.get('errorMessage', '')}"
    return _Failure(error, context.get("approximateInvokeCount"), context.get("condition"))


def _attribute_failure(attributes: dict[str, str]) -> _Failure:
    """From the message attributes Scheduler sets on an undeliverable event (RETRY_ATTEMPTS: retries, not attempts)."""
    error = f"{attributes.get('ERROR_CODE', 'Error')}: {attributes.get('ERROR_MESSAGE', '')}"
    retries = attributes.get("RETRY_ATTEMPTS")
    attempts = int(retries) + 1 if retries and retries.isdigit() else None
    return _Failure(error, attempts, attributes.get("EXHAUSTED_RETRY_CONDITION"))


def dead_letter_queues(state: RunState) -> list[tuple[str, str]]:
    """(queue name, kind) of the three queues the template declares for tasks that did not run."""
    queues: list[tuple[str, str]] = []
    on_failure = InvokeConfig.from_template("CallbackFunction").on_failure_arn
    if on_failure:
        queues.append((queue_name(on_failure), "invocation"))
    delivery = state.environment.get("SCHEDULER_DLQ_ARN")
    if delivery:
        queues.append((queue_name(delivery), "delivery"))
    rejected = state.environment.get("REJECTED_TASK_QUEUE_URL")
    if rejected:
        queues.append((rejected.rstrip("/").rsplit("/", 1)[-1], "rejected"))
    return queues


@contextmanager
def dead_letters(state: RunState, *, only: str | None = None) -> Iterator[list[DeadLetter]]:
    """Every dead letter in the running local cloud, held until the block ends (deleted ones stay deleted)."""
    import boto3

    with patched_environ(state.environment), ExitStack() as stack:
        client = boto3.client("sqs")  # AWS_ENDPOINT_URL from the state: the local cloud's moto
        found: list[DeadLetter] = []
        for name, kind in dead_letter_queues(state):
            if only is not None and kind != only:
                continue
            url = client.get_queue_url(QueueName=name)["QueueUrl"]
            messages = stack.enter_context(held_messages(client, name, url))
            found.extend(describe(message, kind) for message in messages)
        yield found


def print_list(letters: list[DeadLetter]) -> None:
    """The human-readable listing."""
    if not letters:
        print("No dead-lettered tasks.")
        return
    print(f"{len(letters)} dead-lettered task(s):")
    for letter in letters:
        head = f"- task {letter.task_id or '?'} ({letter.action or '?'}), scheduled {letter.scheduled_time or '?'}: "
        if letter.kind == "rejected":
            print(head + letter.error.split(":", 1)[0])
        else:
            what = "Lambda gave up" if letter.kind == "invocation" else "Scheduler could not deliver"
            print(
                head
                + f"{what} after {letter.attempts if letter.attempts is not None else '?'} attempt(s)"
                + (f" [{letter.condition}]" if letter.condition else "")
            )
        print(f"    error: {letter.error}")
        print(f"    queue: {letter.message.queue}  message: {letter.message.message_id}")
    print("Replay them with `make redrive` once the cause is fixed (each is deleted when its replay succeeds).")


@dataclass
class RedriveResult:
    """How the replays went: only the succeeded ones were deleted."""

    succeeded: int = 0
    rejected: int = 0
    failed: int = 0

    @property
    def kept(self) -> int:
        """Letters still in their queues."""
        return self.rejected + self.failed


#: The ClientContext a redrive invokes with: the callback keeps no copy of a rejection the caller keeps.
REDRIVE_CONTEXT = ClientContext(custom={"redrive": True})


def redrive(state: RunState, letters: list[DeadLetter], *, client: Any) -> RedriveResult:
    """Run each letter's event through the callback; delete it only when the replay succeeded (2xx)."""
    from localcloud.cloud import reset_function_caches

    result = RedriveResult()
    with patched_environ(state.environment):
        reset_function_caches()
        from callback_app.handler import lambda_handler

        for letter in letters:
            label = f"task {letter.task_id or '?'} (message {letter.message.message_id})"
            try:
                response = lambda_handler(letter.event, LocalLambdaContext(client_context=REDRIVE_CONTEXT))
            except Exception as exc:  # the invocation failed (5xx): Lambda would retry it
                result.failed += 1
                print(f"failed again, message kept: {label}: {type(exc).__name__}: {exc}")
                continue
            status = int(response.get("statusCode", 500)) if isinstance(response, dict) else 500
            if not 200 <= status < 300:
                result.rejected += 1
                print(f"rejected, message kept: {label}: {status} {_detail(response)}")
                continue
            delete_message(client, letter.message)
            result.succeeded += 1
            print(f"redriven and deleted: {label} (status {status})")
        reset_function_caches()
    return result


def _detail(response: Any) -> str:
    try:
        detail = json.loads(response.get("body") or "{}").get("detail")
    except (ValueError, AttributeError):
        return ""
    return detail if isinstance(detail, str) else json.dumps(detail)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m localcloud.dlq", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["list", "redrive"])
    parser.add_argument("--json", action="store_true", help="list: one JSON object per dead letter")
    parser.add_argument(
        "--queue",
        choices=["invocation", "delivery", "rejected"],
        help="only Lambda's failures, Scheduler's, or the callback's rejections",
    )
    parser.add_argument("--state-file", type=Path, default=DEFAULT_STATE_FILE, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> int:
    """List or redrive; 2 when no local cloud runs, 1 when a replay was rejected or failed (its letter kept)."""
    try:
        state = read_state(args.state_file)
    except NotRunning as exc:
        print(str(exc), file=sys.stderr)
        return 2

    import boto3

    with dead_letters(state, only=args.queue) as letters:
        if args.command == "list":
            if args.json:
                for letter in letters:
                    print(json.dumps(letter.as_dict(), ensure_ascii=False))
            else:
                print_list(letters)
            return 0
        if not letters:
            print("No dead-lettered tasks to redrive.")
            return 0
        with patched_environ(state.environment):
            client = boto3.client("sqs")
        # The callback writes its log lines here as it runs; its CloudWatch metric lines are noise in a terminal.
        terminal = sys.stdout
        sys.stdout = MetricLineFilter(terminal)
        try:
            result = redrive(state, letters, client=client)
        finally:
            sys.stdout.flush()
            sys.stdout = terminal
    print(
        f"redrive: {result.succeeded} succeeded, {result.rejected} rejected, {result.failed} failed "
        "(kept in their queues)"
    )
    return 1 if result.kept else 0


def main(argv: list[str] | None = None) -> int:
    """Command line: `python -m localcloud.dlq list|redrive`."""
    args = parse_args(argv)
    with handler_event_loop():  # the callback's Mangum adapter runs on this thread's loop
        return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
