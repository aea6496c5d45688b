"""`make dlq` / `make redrive`: the tasks that failed for good in the running local cloud, and replaying them.

Two queues hold them (both from template.yaml):
- CallbackFailureQueue: the callback raised on every attempt (Lambda's retries exhausted); each message
  is Lambda's invocation record, with the event (`requestPayload`) and the error (`responsePayload`).
- ScheduleDeliveryDLQ: EventBridge Scheduler could not deliver the event at all (wrong target or role,
  bad payload, retries exhausted); the message body is the event, the error is in its attributes.

`redrive` runs each event through the callback's real entry point (in this process, against the
running local cloud's endpoint) and deletes the message when the invocation succeeds; a message
whose task fails again stays in its queue.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import localcloud.paths  # noqa: F401 - the callback's packages on sys.path
from localcloud.endpoint import patched_environ
from localcloud.lambda_async import InvokeConfig, handler_event_loop
from localcloud.lambda_context import LocalLambdaContext
from localcloud.queues import QueuedMessage, delete_message, held_messages, queue_name
from localcloud.runstate import DEFAULT_STATE_FILE, NotRunning, RunState, read_state


@dataclass
class DeadLetter:
    """One dead-lettered task, whichever queue it is in."""

    message: QueuedMessage
    kind: str  # "invocation" (Lambda gave up) or "delivery" (Scheduler gave up)
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


def _task_of(event: Any) -> tuple[str | None, str | None, str | None]:
    """Task id, action and scheduled time from a proxy event."""
    if not isinstance(event, dict):
        return None, None, None
    headers = {str(k).lower(): v for k, v in (event.get("headers") or {}).items()}
    body = event.get("body")
    parsed: Any = body
    if isinstance(body, str):
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
    task = parsed if isinstance(parsed, dict) else {}
    return task.get("task_id"), task.get("action"), headers.get("x-scheduler-scheduled-time")


def describe(message: QueuedMessage, kind: str) -> DeadLetter:
    """Read a dead-letter message of either kind."""
    body = message.json_body()
    if kind == "invocation" and isinstance(body, dict) and "requestPayload" in body:
        event = body["requestPayload"]
        response = body.get("responsePayload") or {}
        context = body.get("requestContext") or {}
        error = f"{response.get('errorType', 'Error')}: {response.get('errorMessage', '')}"
        attempts, condition = context.get("approximateInvokeCount"), context.get("condition")
    else:
        event = body if body is not None else message.body
        attrs = message.attributes
        error = f"{attrs.get('ERROR_CODE', 'Error')}: {attrs.get('ERROR_MESSAGE', '')}"
        retries = attrs.get("RETRY_ATTEMPTS")
        attempts = int(retries) + 1 if retries and retries.isdigit() else None
        condition = attrs.get("EXHAUSTED_RETRY_CONDITION")
    task_id, action, scheduled = _task_of(event)
    if scheduled is None and kind == "delivery":
        scheduled = message.attributes.get("SCHEDULED_TIME")
    return DeadLetter(message, kind, event, task_id, action, scheduled, error, attempts, condition)


def dead_letter_queues(state: RunState) -> list[tuple[str, str]]:
    """(queue ARN, kind) of the two dead-letter queues the template declares."""
    queues: list[tuple[str, str]] = []
    on_failure = InvokeConfig.from_template("CallbackFunction").on_failure_arn
    if on_failure:
        queues.append((on_failure, "invocation"))
    delivery = state.environment.get("SCHEDULER_DLQ_ARN")
    if delivery:
        queues.append((delivery, "delivery"))
    return queues


@contextmanager
def dead_letters(state: RunState, *, only: str | None = None) -> Iterator[list[DeadLetter]]:
    """Every dead letter in the running local cloud, held until the block ends (deleted ones stay deleted)."""
    import boto3

    with patched_environ(state.environment), ExitStack() as stack:
        client = boto3.client("sqs")  # AWS_ENDPOINT_URL from the state: the local cloud's moto
        found: list[DeadLetter] = []
        for arn, kind in dead_letter_queues(state):
            if only is not None and kind != only:
                continue
            name = queue_name(arn)
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
        what = "Lambda gave up" if letter.kind == "invocation" else "Scheduler could not deliver"
        print(
            f"- task {letter.task_id or '?'} ({letter.action or '?'}), scheduled {letter.scheduled_time or '?'}: "
            f"{what} after {letter.attempts if letter.attempts is not None else '?'} attempt(s)"
            + (f" [{letter.condition}]" if letter.condition else "")
        )
        print(f"    error: {letter.error}")
        print(f"    queue: {letter.message.queue}  message: {letter.message.message_id}")
    print("Replay them with `make redrive` (each is deleted once its task succeeds).")


def redrive(state: RunState, letters: list[DeadLetter], *, client: Any) -> tuple[int, int]:
    """Run each dead letter's event through the callback; returns (succeeded, failed)."""
    from localcloud.cloud import reset_function_caches

    succeeded = failed = 0
    with patched_environ(state.environment):
        reset_function_caches()
        from callback_app.main import lambda_handler

        for letter in letters:
            label = f"task {letter.task_id or '?'} (message {letter.message.message_id})"
            try:
                response = lambda_handler(letter.event, LocalLambdaContext())
            except Exception as exc:
                failed += 1
                print(f"redrive failed, message kept: {label}: {type(exc).__name__}: {exc}", file=sys.stderr)
                continue
            delete_message(client, letter.message)
            succeeded += 1
            status = response.get("statusCode") if isinstance(response, dict) else None
            print(f"redriven and deleted: {label} (status {status})")
        reset_function_caches()
    return succeeded, failed


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m localcloud.dlq", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["list", "redrive"])
    parser.add_argument("--json", action="store_true", help="list: one JSON object per dead letter")
    parser.add_argument(
        "--queue", choices=["invocation", "delivery"], help="only Lambda's failures, or only Scheduler's"
    )
    parser.add_argument("--state-file", type=Path, default=DEFAULT_STATE_FILE, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> int:
    """List or redrive; 2 when no local cloud runs, 1 when a redriven task failed again."""
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
        succeeded, failed = redrive(state, letters, client=client)
    print(f"redrive: {succeeded} succeeded, {failed} failed (still in their queues)")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """Command line: `python -m localcloud.dlq list|redrive`."""
    args = parse_args(argv)
    with handler_event_loop():  # the callback's Mangum adapter runs on this thread's loop
        return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
