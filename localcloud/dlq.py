"""`make dlq` / `make redrive`: the tasks that failed for good in the running local cloud, and replaying them.

Three queues hold them (all from template.yaml):
- CallbackFailureQueue: the callback raised on every attempt (Lambda's retries exhausted); each message
  is Lambda's invocation record, with the event (`requestPayload`) and the error (`responsePayload`).
- ScheduleDeliveryDLQ: EventBridge Scheduler could not deliver the event at all (wrong target or role,
  bad payload, retries exhausted); the message body is the event, the error is in its attributes.
- RejectedTaskQueue: the callback rejected the task (4xx: unknown action, invalid data, TaskRejected),
  which Lambda never retries; the callback's record has the shape of Lambda's, with the reason.

`redrive` runs each event through the callback's real entry point as a redrive (the callback then
keeps no second copy of a rejection), against the running local cloud's endpoint, under the same limits
as a delivery: in an execution environment with the function's Timeout (the running cloud's, else
template.yaml's), a few letters at a time (`localcloud.replays`). It deletes the message only when the
replay succeeded (2xx, a replayed duplicate included). A replay that is rejected (4xx), fails or times
out keeps its message, says why, and the exit status is 1.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

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


def dead_letter_queues(environment: Mapping[str, str]) -> list[tuple[str, str]]:
    """(queue name, kind) of the three queues the template declares for tasks that did not run."""
    queues: list[tuple[str, str]] = []
    on_failure = InvokeConfig.from_template("CallbackFunction").on_failure_arn
    if on_failure:
        queues.append((queue_name(on_failure), "invocation"))
    delivery = environment.get("SCHEDULER_DLQ_ARN")
    if delivery:
        queues.append((queue_name(delivery), "delivery"))
    rejected = environment.get("REJECTED_TASK_QUEUE_URL")
    if rejected:
        queues.append((rejected.rstrip("/").rsplit("/", 1)[-1], "rejected"))
    return queues


@contextmanager
def held_letters(
    client: Any, queues: Iterable[tuple[str, str]], *, only: str | None = None
) -> Iterator[list[DeadLetter]]:
    """The dead letters of `queues` ((name or URL, kind) pairs), held until the block ends (deleted ones stay
    deleted). The one reader behind `make dlq`, `make redrive` and the console, locally and on AWS."""
    with ExitStack() as stack:
        found: list[DeadLetter] = []
        for queue, kind in queues:
            if only is not None and kind != only:
                continue
            if "/" in queue:
                name, url = queue.rstrip("/").rsplit("/", 1)[-1], queue
            else:
                name, url = queue, client.get_queue_url(QueueName=queue)["QueueUrl"]
            messages = stack.enter_context(held_messages(client, name, url))
            found.extend(describe(message, kind) for message in messages)
        yield found


@contextmanager
def dead_letters(state: RunState, *, only: str | None = None) -> Iterator[list[DeadLetter]]:
    """Every dead letter in the running local cloud, held until the block ends (deleted ones stay deleted)."""
    import boto3

    with patched_environ(state.environment):
        client = boto3.client("sqs")  # AWS_ENDPOINT_URL from the state: the local cloud's moto
        with held_letters(client, dead_letter_queues(state.environment), only=only) as found:
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

    def count(self, replay: Replay) -> None:
        """Add one replay's outcome."""
        setattr(self, replay.outcome, getattr(self, replay.outcome) + 1)


#: The ClientContext a redrive invokes with: the callback keeps no copy of a rejection the caller keeps.
REDRIVE_CONTEXT = ClientContext(custom={"redrive": True})

#: Runs an event through the callback and returns its proxy response; raises when the invocation failed.
Invoker = Callable[[Any], Any]


@dataclass(frozen=True)
class Replay:
    """One letter's replay: `succeeded` (2xx, and the letter deleted), `rejected` (4xx) or `failed`; both kept."""

    outcome: str
    label: str
    status: int | None = None
    detail: str = ""

    def describe(self) -> str:
        """The line `make redrive` prints, and the console shows."""
        if self.outcome == "succeeded":
            return f"redriven and deleted: {self.label} (status {self.status})"
        if self.outcome == "rejected":
            return f"rejected, message kept: {self.label}: {self.status} {self.detail}"
        return f"failed again, message kept: {self.label}: {self.detail}"


def replay(letter: DeadLetter, invoke: Invoker, *, client: Any, hold_seconds: int | None = None) -> Replay:
    """Run one letter's event through `invoke`; delete the letter only when the replay succeeded (2xx).

    With `hold_seconds`, the letter is first held that long (its visibility timeout), so that no other
    reader takes it while a long replay runs.
    """
    label = f"task {letter.task_id or '?'} (message {letter.message.message_id})"
    if hold_seconds is not None:
        try:
            client.change_message_visibility(
                QueueUrl=letter.message.queue_url,
                ReceiptHandle=letter.message.receipt_handle,
                VisibilityTimeout=hold_seconds,
            )
        except Exception as exc:  # deleted or taken meanwhile: not ours to replay any more
            return Replay("failed", label, detail=f"the letter could not be held for its replay ({type(exc).__name__})")
    try:
        response = invoke(letter.event)
    except Exception as exc:  # the invocation failed (5xx): Lambda would retry it
        return Replay("failed", label, detail=f"{type(exc).__name__}: {exc}")
    status = int(response.get("statusCode", 500)) if isinstance(response, dict) else 500
    if not 200 <= status < 300:
        return Replay("rejected", label, status, _detail(response))
    delete_message(client, letter.message)
    return Replay("succeeded", label, status)


def discard(letter: DeadLetter, *, client: Any) -> None:
    """Delete a letter without replaying it (the operator decided the task is not to run)."""
    delete_message(client, letter.message)


def in_process_invoker() -> Invoker:
    """The callback's real entry point in this process, invoked as a redrive (the environment is the caller's)."""
    from callback_app.handler import lambda_handler

    def invoke(event: Any) -> Any:
        return lambda_handler(event, LocalLambdaContext(client_context=REDRIVE_CONTEXT))

    return invoke


class InvocationFailed(RuntimeError):
    """Raise when Lambda reports that the replayed invocation failed (the entry point raised)."""


def lambda_invoker(client: Any, function: str) -> Invoker:
    """The deployed callback (`function`: name, ARN or alias ARN) invoked synchronously as a redrive, through
    Lambda's Invoke API with the caller's credentials (`localcloud.replays.replay_lambda_client`).

    A synchronous Invoke runs under the function's own Timeout, as every invocation does: one that outlives
    it comes back with `FunctionError` ("Task timed out after ... seconds"), and the letter is kept.
    """
    import base64

    client_context = base64.b64encode(json.dumps({"custom": REDRIVE_CONTEXT.custom}).encode()).decode("ascii")

    def invoke(event: Any) -> Any:
        answer = client.invoke(
            FunctionName=function,
            InvocationType="RequestResponse",
            ClientContext=client_context,
            Payload=json.dumps(event).encode("utf-8"),
        )
        payload = answer["Payload"].read()
        if answer.get("FunctionError"):
            error = json.loads(payload or b"{}")
            raise InvocationFailed(f"{error.get('errorType', 'Error')}: {error.get('errorMessage', '')}")
        return json.loads(payload or b"null")

    return invoke


def redrive(
    state: RunState, letters: list[DeadLetter], *, client: Any, concurrency: int | None = None
) -> RedriveResult:
    """Run each letter's event through the callback, a few at a time; delete it only when the replay succeeded.

    The callback runs as the local cloud runs it (`state.callback`): in execution environments with its Handler
    and Timeout, or, for a test's cloud whose actions live in this interpreter, in this process, one at a time.
    """
    from localcloud.cloud import reset_function_caches
    from localcloud.environments import FunctionSpec
    from localcloud.replays import REPLAY_CONCURRENCY, EnvironmentInvoker, replay_all

    result = RedriveResult()
    printed = threading.Lock()

    def done(outcome: Replay) -> None:
        with printed:
            result.count(outcome)
            print(outcome.describe(), flush=True)

    spec = state.callback
    with patched_environ(state.environment):  # the environments inherit it: the running cloud's endpoint
        reset_function_caches()
        runner = EnvironmentInvoker(FunctionSpec(**{**spec, "paths": tuple(spec["paths"])})) if spec else None
        try:
            invoke: Invoker = runner if runner is not None else in_process_invoker()
            hold = runner.hold_seconds if runner is not None else None
            # In process, the callback's Mangum adapter runs on this thread's event loop: one letter at a time.
            workers = (concurrency or REPLAY_CONCURRENCY) if runner is not None else 1
            replay_all(letters, invoke, client=client, concurrency=workers, hold_seconds=hold, done=done)
        finally:
            if runner is not None:
                runner.close()
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
    parser.add_argument("--concurrency", type=int, default=None, help="redrive: letters replayed at once (default 4)")
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
            result = redrive(state, letters, client=client, concurrency=args.concurrency)
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
