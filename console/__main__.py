"""`make console STACK=<name>` (or `API_URL=...`): the console on this machine against a deployed stack.

Every API request is signed with your AWS credentials (SigV4, service `execute-api`), so the deployed API
stays IAM-only. With STACK, the API URL, the dead-letter queues and the callback come from the stack's
outputs; the dead letters are read, replayed (Lambda Invoke) and discarded with your credentials too.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from dataclasses import dataclass
from typing import Any

from console.api import SchedulerApi
from console.deadletters import DeadLetterDesk
from console.guard import is_loopback
from console.signing import SigV4, StackNotFound, region_of, stack_outputs
from console.web import PREFIX, Console
from ops.letters import LetterKind

#: Stack output -> the kind of dead letter its queue holds.
QUEUE_OUTPUTS = {
    "CallbackFailureQueueUrl": LetterKind.INVOCATION,
    "ScheduleDeliveryDLQUrl": LetterKind.DELIVERY,
    "RejectedTaskQueueUrl": LetterKind.REJECTED,
}


class ConsoleConfigError(RuntimeError):
    """Raise when the console cannot be set up (no stack, no credentials, no region): says what to do."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m console", description=__doc__.split("\n\n")[0])
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--stack", help="the deployed stack's name (its outputs give the API URL and the queues)")
    target.add_argument(
        "--api-url", help="the API's URL (stage included), e.g. https://abc.execute-api.eu-west-1.amazonaws.com/v1"
    )
    parser.add_argument(
        "--region",
        help="AWS region (default: the one in the API URL, else AWS_REGION, AWS_DEFAULT_REGION or your profile's)",
    )
    parser.add_argument("--profile", help="AWS profile (default: the usual credential chain)")
    parser.add_argument("--host", default="127.0.0.1", help="address to serve on (default: loopback only)")
    parser.add_argument(
        "--allow-remote-host",
        action="store_true",
        help="serve on a --host other than loopback: anyone who reaches it acts with your AWS credentials",
    )
    parser.add_argument("--port", type=int, default=8001, help="port to serve on (default 8001; 0 picks a free one)")
    return parser.parse_args(argv)


@dataclass
class Setup:
    """The console for one deployed API, and what it was built from."""

    console: Console
    api_url: str
    region: str
    access_key: str


def build(args: argparse.Namespace, session: Any = None) -> Setup:
    """The console for `--stack` or `--api-url`, signing with the session's credentials."""
    import boto3

    # boto3 reads AWS_DEFAULT_REGION but not AWS_REGION, which the AWS CLI and the other SDKs honour first.
    region = args.region or os.environ.get("AWS_REGION") or None
    session = session or boto3.Session(profile_name=args.profile, region_name=region)
    credentials = session.get_credentials()
    if credentials is None:
        raise ConsoleConfigError(
            "no AWS credentials found: configure them (aws configure, AWS_PROFILE, or environment variables)"
        )
    outputs: dict[str, str] = {}
    if args.stack:
        try:
            outputs = stack_outputs(session.client("cloudformation"), args.stack)
        except StackNotFound as exc:
            raise ConsoleConfigError(str(exc)) from exc
    api_url = args.api_url or outputs["ApiUrl"]
    try:
        region = region_of(api_url, args.region or session.region_name)
    except ValueError as exc:
        raise ConsoleConfigError(str(exc)) from exc
    api = SchedulerApi(api_url, auth=SigV4(credentials, region))
    console = Console(
        api, _desk(session, region, outputs, args.stack), where=f"stack {args.stack}" if args.stack else api_url
    )
    return Setup(console, api_url, region, credentials.get_frozen_credentials().access_key)


def _desk(session: Any, region: str, outputs: dict[str, str], stack: str | None) -> DeadLetterDesk | None:
    queues = [(outputs[key], kind) for key, kind in QUEUE_OUTPUTS.items() if key in outputs]
    callback = outputs.get("CallbackTargetArn") or outputs.get("CallbackFunctionArn")
    if not queues or not callback:
        return None
    from ops.lambda_invoke import lambda_invoker, replay_lambda_client
    from ops.ledger_copy import LedgerCopy

    table = outputs.get("TaskLedgerTableName")

    def ledger() -> LedgerCopy | None:  # for a failure record without its payload (ops.ledger_copy)
        return LedgerCopy(session.client("dynamodb", region_name=region), table) if table else None

    return DeadLetterDesk(
        queues,
        sqs=lambda: session.client("sqs", region_name=region),
        invoker=lambda: lambda_invoker(replay_lambda_client(session, region), callback),
        where=f"stack {stack}",
        ledger=ledger,
    )


def serve(setup: Setup, host: str, port: int) -> Any:
    """Serve the console on `host:port` in the background (the local cloud's HTTP server); `close()` it."""
    from console.local import serve_console

    server = serve_console(setup.console, host, port)
    setup.console.served_at = lambda: server.url  # from now on, only this Host (and loopback names for its port)
    return server


def host_refusal(host: str, allowed: bool) -> str | None:
    """Why the console must not be served on `host` (None: it may), or the warning when it is allowed to."""
    if is_loopback(host):
        return None
    says = (
        f"the console on {host} can be reached from the network, and it has no authentication of its own: "
        "whoever reaches it acts with your AWS credentials"
    )
    if allowed:
        return f"warning: {says}. Stop it (Ctrl-C) when you are done."
    return f"refusing to serve the console on {host}: {says}. Use loopback (the default), or pass --allow-remote-host."


def main(argv: list[str] | None = None, *, session: Any = None, stop: threading.Event | None = None) -> int:
    """Run until Ctrl-C (or `stop` is set); 2 when the console cannot be set up."""
    args = parse_args(argv)
    refusal = host_refusal(args.host, args.allow_remote_host)
    if refusal is not None and not args.allow_remote_host:
        print(f"make console: {refusal}", file=sys.stderr)
        return 2
    try:
        setup = build(args, session)
    except ConsoleConfigError as exc:
        print(f"make console: {exc}", file=sys.stderr)
        return 2
    server = serve(setup, args.host, args.port)
    if refusal is not None:
        print(f"make console: {refusal}", file=sys.stderr, flush=True)
    print(
        f"Console for {setup.api_url} ({setup.region})\n"
        f"  {server.url}{PREFIX}\n"
        f"  every API request is signed (SigV4, execute-api) as {setup.access_key[:4]}…; Ctrl-C stops.",
        flush=True,
    )
    try:
        (stop or threading.Event()).wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        setup.console.api.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
