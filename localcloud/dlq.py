"""`make dlq` / `make redrive`: the tasks that failed for good in the running local cloud, and replaying them.

Three queues hold them (all from template.yaml; `ops.letters` reads each kind): CallbackFailureQueue
(Lambda's retries exhausted), ScheduleDeliveryDLQ (Scheduler could not deliver) and RejectedTaskQueue
(the callback rejected the task).

`redrive` runs each event through the callback's real entry point as a redrive (the callback then
keeps no second copy of a rejection), against the running local cloud's endpoint, under the same limits
as a delivery: in an execution environment with the function's Timeout (the running cloud's, else
template.yaml's), a few letters at a time (`localcloud.replays`, `ops.replay`). It deletes the message only
when the replay succeeded (2xx, a replayed duplicate included). A replay that is rejected (4xx), fails or
times out keeps its message, says why, and the exit status is 1.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from localcloud.endpoint import patched_environ
from localcloud.environments import FunctionSpec, handler_event_loop
from localcloud.function_caches import reset_function_caches
from localcloud.lambda_service import InvokeConfig
from localcloud.replays import EnvironmentInvoker, in_process_invoker
from localcloud.runstate import DEFAULT_STATE_FILE, NotRunning, RunState, read_state
from localcloud.stats import MetricLineFilter
from localcloud.template import load_template
from ops.ledger_copy import LedgerCopy
from ops.letters import DeadLetter, LetterKind, held_letters
from ops.queues import queue_name
from ops.replay import REPLAY_CONCURRENCY, Invoker, RedriveResult, Replay, replay_all

__all__ = ["dead_letter_queues", "dead_letters", "main", "parse_args", "print_list", "redrive", "run"]


def dead_letter_queues(environment: Mapping[str, str]) -> list[tuple[str, str]]:
    """(queue name, kind) of the queues the template declares for tasks that did not run.

    The callback's on-failure destination and the schedules' dead-letter queue are the recorder's inboxes:
    each is listed with the operator queue its RedrivePolicy names (where the recorder forwards what it
    recorded), so a letter is found whether the recorder has taken it yet or not.
    """
    queues: list[tuple[str, str]] = []
    on_failure = InvokeConfig.from_template("CallbackFunction").on_failure_arn
    if on_failure:
        queues += [(name, LetterKind.INVOCATION) for name in with_operator_queue(queue_name(on_failure))]
    delivery = environment.get("SCHEDULER_DLQ_ARN")
    if delivery:
        queues += [(name, LetterKind.DELIVERY) for name in with_operator_queue(queue_name(delivery))]
    rejected = environment.get("REJECTED_TASK_QUEUE_URL")
    if rejected:
        queues.append((rejected.rstrip("/").rsplit("/", 1)[-1], LetterKind.REJECTED))
    return queues


def with_operator_queue(name: str) -> list[str]:
    """`name`, then the queue its RedrivePolicy hands messages to (template.yaml), when it has one."""
    resources = load_template()["Resources"]
    declared = resources.get(name, {}).get("Properties", {})
    target = (declared.get("RedrivePolicy") or {}).get("deadLetterTargetArn")
    if isinstance(target, dict) and "Fn::GetAtt" in target:
        return [name, str(target["Fn::GetAtt"][0])]
    return [name]


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
        if letter.kind == LetterKind.REJECTED:
            print(head + letter.error.split(":", 1)[0])
        else:
            what = "Lambda gave up" if letter.kind == LetterKind.INVOCATION else "Scheduler could not deliver"
            print(
                head
                + f"{what} after {letter.attempts if letter.attempts is not None else '?'} attempt(s)"
                + (f" [{letter.condition}]" if letter.condition else "")
            )
        print(f"    error: {letter.error}")
        print(f"    queue: {letter.message.queue}  message: {letter.message.message_id}")
    print("Replay them with `make redrive` once the cause is fixed (each is deleted when its replay succeeds).")


def redrive(
    state: RunState, letters: list[DeadLetter], *, client: Any, concurrency: int | None = None
) -> RedriveResult:
    """Run each letter's event through the callback, a few at a time; delete it only when the replay succeeded.

    The callback runs as the local cloud runs it (`state.callback`): in execution environments with its Handler
    and Timeout, or, for a test's cloud whose actions live in this interpreter, in this process, one at a time.
    """
    result = RedriveResult()
    printed = threading.Lock()

    def done(outcome: Replay) -> None:
        with printed:
            result.count(outcome)
            print(outcome.describe(), flush=True)

    import boto3

    spec = state.callback
    with patched_environ(state.environment):  # the environments inherit it: the running cloud's endpoint
        reset_function_caches()
        runner = EnvironmentInvoker(FunctionSpec(**{**spec, "paths": tuple(spec["paths"])})) if spec else None
        try:
            invoke: Invoker = runner if runner is not None else in_process_invoker()
            hold = runner.hold_seconds if runner is not None else None
            # In process, the callback's Mangum adapter runs on this thread's event loop: one letter at a time.
            workers = (concurrency or REPLAY_CONCURRENCY) if runner is not None else 1
            table = state.environment.get("TASK_LEDGER_TABLE")
            ledger = LedgerCopy(boto3.client("dynamodb"), table) if table else None  # payload-less records
            replay_all(letters, invoke, client=client, concurrency=workers, hold_seconds=hold, done=done, ledger=ledger)
        finally:
            if runner is not None:
                runner.close()
            reset_function_caches()
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m localcloud.dlq", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["list", "redrive"])
    parser.add_argument("--json", action="store_true", help="list: one JSON object per dead letter")
    parser.add_argument(
        "--queue",
        choices=[kind.value for kind in LetterKind],
        help="only Lambda's failures, Scheduler's, or the callback's rejections",
    )
    parser.add_argument("--concurrency", type=int, default=None, help="redrive: letters replayed at once (default 4)")
    parser.add_argument("--state-file", type=Path, default=DEFAULT_STATE_FILE, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _list(letters: list[DeadLetter], *, as_json: bool) -> int:
    if as_json:
        for letter in letters:
            print(json.dumps(letter.as_dict(), ensure_ascii=False))
    else:
        print_list(letters)
    return 0


def _redrive(state: RunState, letters: list[DeadLetter], concurrency: int | None) -> int:
    import boto3

    if not letters:
        print("No dead-lettered tasks to redrive.")
        return 0
    with patched_environ(state.environment):
        client = boto3.client("sqs")
    # The callback writes its log lines here as it runs; its CloudWatch metric lines are noise in a terminal.
    terminal = sys.stdout
    sys.stdout = MetricLineFilter(terminal)
    try:
        result = redrive(state, letters, client=client, concurrency=concurrency)
    finally:
        sys.stdout.flush()
        sys.stdout = terminal
    print(
        f"redrive: {result.succeeded} succeeded, {result.rejected} rejected, {result.failed} failed "
        "(kept in their queues)"
    )
    return 1 if result.kept else 0


def run(args: argparse.Namespace) -> int:
    """List or redrive; 2 when no local cloud runs, 1 when a replay was rejected or failed (its letter kept)."""
    try:
        state = read_state(args.state_file)
    except NotRunning as exc:
        print(str(exc), file=sys.stderr)
        return 2
    with dead_letters(state, only=args.queue) as letters:
        if args.command == "list":
            return _list(letters, as_json=args.json)
        return _redrive(state, letters, args.concurrency)


def main(argv: list[str] | None = None) -> int:
    """Command line: `python -m localcloud.dlq list|redrive`."""
    args = parse_args(argv)
    with handler_event_loop():  # the callback's Mangum adapter runs on this thread's loop
        return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
