"""`make dev` / `make api`: the local cloud, no AWS and no Docker.

- moto's server on loopback as the AWS endpoint, with the tables, queues and schedule group of template.yaml;
- SchedulerFunction's real Lambda entry point behind a local API Gateway (REST proxy events) on --port;
- unless --api-only, a dispatcher firing due schedules into CallbackFunction's real entry point, with
  Scheduler's and Lambda's retries and dead-letter queues (see localcloud/dispatcher.py), run in up to
  --concurrency execution environments (child processes) with the function's Timeout;
- a watch on the actions (layers/shared/taskcore/actions/*.py): a new or changed action is taken at once,
  without a restart and so without losing the in-memory state (--no-reload: off).

State lives in memory and is gone on exit, unless --persist PATH. Ctrl-C stops everything.

This module is the local cloud's composition root: it assembles `LocalCloud` and hands it the console
(`console.local.LocalConsole`), which the emulator mounts at /console without importing the console.
"""

from __future__ import annotations

import argparse
import errno
import os
import signal
import sys
from dataclasses import asdict
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

# Only light imports here: each execution environment (a spawned process) imports this, the main module, again.
from localcloud.runstate import DEFAULT_STATE_FILE, RunState, clear_state, write_state
from localcloud.stats import MetricLineFilter

if TYPE_CHECKING:
    from localcloud.cloud import LocalCloud
    from localcloud.options import CloudOptions

__all__ = ["MetricLineFilter", "banner", "build_parser", "main", "options_from", "parse_args", "run"]


def _delays(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds separated by commas, e.g. 1,2 (got {text!r})") from None
    if not values or any(v < 0 for v in values):
        raise argparse.ArgumentTypeError("give at least one delay, none negative")
    return values


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("at least 1")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    return build_parser().parse_args(argv)


def build_parser() -> argparse.ArgumentParser:
    """The command line's parser (docs/local-cloud.md's Options table lists each of its flags)."""
    parser = argparse.ArgumentParser(prog="python -m localcloud.dev", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to serve on (default: loopback only)")
    parser.add_argument("--port", type=int, default=3000, help="API port (default 3000; 0 picks a free one)")
    parser.add_argument("--moto-port", type=int, default=0, help="AWS endpoint port (default: a free one)")
    parser.add_argument("--api-only", action="store_true", help="serve the API only; nothing fires (make api)")
    parser.add_argument(
        "--persist",
        type=Path,
        help="keep the local cloud's state in this file across restarts (every change journaled before it is answered)",
    )
    parser.add_argument(
        "--lambda-retry-delays",
        type=_delays,
        default=(1.0, 2.0),
        help="seconds before Lambda's async retries (AWS: about 60,120; default 1,2)",
    )
    parser.add_argument(
        "--delivery-retry-base", type=float, default=1.0, help="first backoff of Scheduler's delivery retries (s)"
    )
    parser.add_argument("--poll-interval", type=float, default=0.25, help="how often schedules are re-read (s)")
    parser.add_argument(
        "--concurrency",
        type=_positive,
        default=10,
        help="execution environments the callback may run at once (default 10; more wait in Lambda's queue)",
    )
    parser.add_argument("--metrics", action="store_true", help="also print the functions' EMF metric lines")
    parser.add_argument(
        "--no-reload",
        dest="reload",
        action="store_false",
        help="do not reload the actions when their files change (default: reload, keeping the state)",
    )
    parser.add_argument(
        "--actions-dir",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="also load actions from DIR (modules as in layers/shared/taskcore/actions; watched like them)",
    )
    parser.add_argument("--quiet", action="store_true", help="no access line per API request")
    parser.add_argument(
        "--adverse",
        action="store_true",
        help="AWS as it really behaves: duplicates, lateness, real retry delays, throttling (docs/local-cloud.md)",
    )
    parser.add_argument(
        "--adverse-time-scale",
        type=float,
        default=1.0,
        metavar="SCALE",
        help="multiply the adverse mode's AWS durations (retry delays, event age, spread) by SCALE (default 1)",
    )
    parser.add_argument(
        "--adverse-set",
        action="append",
        default=[],
        metavar="KNOB=VALUE",
        help="set one knob of the adverse mode (repeatable; without --adverse the others stay kind)",
    )
    parser.add_argument("--state-file", type=Path, default=DEFAULT_STATE_FILE, help=argparse.SUPPRESS)
    return parser


def banner(cloud: LocalCloud, args: argparse.Namespace) -> str:
    """What the developer needs to start: URLs, the endpoint, an example."""
    api = cloud.api_url
    env = cloud.environment
    state = (
        f"persisted in {args.persist}" if args.persist else "in memory: gone when this stops (--persist PATH keeps it)"
    )
    example = (
        f"curl -s -X POST {api}/api/v1/schedules -H 'content-type: application/json' \\\n"
        '      -d \'{"task_id":"hello-1","user_id":1,"action":"send_notification",'
        '"data":{"message":"Hello from the local cloud"},"delay_seconds":10}\''
    )
    firing = (
        "schedules fire here as EventBridge Scheduler + Lambda would; their outcome lines follow"
        if cloud.dispatcher is not None
        else "API only: schedules are stored but nothing fires (make dev fires them)"
    )
    lines = [
        "",
        "Local cloud ready (no AWS, no Docker)",
        f"  API (SchedulerFunction)  {api}    docs: {api}/docs",
        *([f"  Console                  {api}/console"] if cloud.console is not None else []),
        f"  AWS endpoint (moto)      {cloud.moto_url}    (AWS_ENDPOINT_URL for boto3 and the aws CLI)",
        f"  schedule group           {env.get('SCHEDULE_GROUP_NAME')}",
        f"  state                    {state}",
        *(
            [
                f"  CallbackFunction         up to {cloud.options.concurrency} execution environments (--concurrency), "
                f"Timeout {cloud.callback.timeout_seconds:g} s"
            ]
            if cloud.callback is not None
            else []
        ),
        f"  {firing}",
        (
            f"  adverse mode             on: {_knobs(cloud)}"
            if cloud.options.adversity.active
            else "  adverse mode             off: punctual, once, never throttled (--adverse: as AWS behaves)"
        ),
        (
            "  actions                  reloaded when their files change, the state kept (--no-reload: off)"
            if args.reload
            else "  actions                  not reloaded (--no-reload): a changed action needs a restart"
        ),
        *http_action_lines(cloud),
        "",
        "  Schedule a task 10 s ahead:",
        f"    {example}",
        "",
        "  make dlq / make redrive (another terminal): dead-lettered tasks. Ctrl-C stops.",
        "",
    ]
    return "\n".join(lines)


def http_action_lines(cloud: LocalCloud) -> list[str]:
    """The http_request action's allowlist and development signing secret (what a local receiver verifies with)."""
    from localcloud.endpoint import signing_secret

    secret = signing_secret(cloud.environment)
    if secret is None:
        return []
    return [
        f"  http_request             may call {cloud.environment.get('HTTP_ACTION_ALLOWED_HOSTS')} "
        "(http allowed to loopback; HTTP_ACTION_ALLOWED_HOSTS=... make dev to change)",
        f"  signing secret (dev)     {secret}",
    ]


def options_from(args: argparse.Namespace) -> CloudOptions:
    """The local cloud's options from the command line (`--adverse*` included; a bad knob exits 2)."""
    from localcloud.adverse import Adversity, parse_knob
    from localcloud.options import CloudOptions

    scale = args.adverse_time_scale
    adversity = Adversity.preset(time_scale=scale) if args.adverse else Adversity(time_scale=scale)
    for knob in args.adverse_set:
        try:
            adversity = parse_knob(adversity, knob)
        except ValueError as exc:
            build_parser().error(f"--adverse-set: {exc}")
    return CloudOptions(
        host=args.host,
        port=args.port,
        moto_port=args.moto_port,
        api_only=args.api_only,
        poll_interval=args.poll_interval,
        lambda_retry_delays=args.lambda_retry_delays,
        delivery_retry_base=args.delivery_retry_base,
        persist=args.persist,
        access_log=not args.quiet,
        concurrency=args.concurrency,
        metrics=args.metrics,
        reload_actions=args.reload,
        action_dirs=tuple(args.actions_dir),
        adversity=adversity,
    )


def _knobs(cloud: LocalCloud) -> str:
    """The adverse knobs that differ from the kind default."""
    from localcloud.adverse import Adversity

    kind = Adversity().settings()
    changed = {k: v for k, v in cloud.options.adversity.settings().items() if v != kind[k] and k != "seed"}
    return ", ".join(f"{k}={v}" for k, v in changed.items())


def run(args: argparse.Namespace) -> int:
    """Run the local cloud until Ctrl-C (or SIGTERM); 0 after a clean stop. Call on the main thread."""
    from console.local import LocalConsole
    from localcloud.cloud import LocalCloud

    options = options_from(args)
    try:
        with LocalCloud(options, console=LocalConsole) as cloud:

            def stop(signum: int, frame: FrameType | None) -> None:
                cloud.stop()
                signal.signal(signum, signal.SIG_DFL)  # a second Ctrl-C interrupts at once

            previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                write_state(
                    args.state_file,
                    RunState(
                        pid=os.getpid(),
                        api_url=cloud.api_url,
                        moto_url=cloud.moto_url,
                        environment=cloud.environment,
                        queues=cloud.queue_urls,
                        persist=str(args.persist) if args.persist else None,
                        dispatcher=cloud.dispatcher is not None,
                        callback=asdict(replays) if (replays := cloud.callback_for_replays()) else None,
                    ),
                )
                print(banner(cloud, args), flush=True)
                cloud.serve()
            finally:
                clear_state(args.state_file, os.getpid())
                for sig, handler in previous.items():
                    signal.signal(sig, handler)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            port, option = _port_in_use(args)
            print(
                f"cannot start the local cloud: {args.host}:{port} is already in use (another make dev?); "
                f"stop it, or pick another port: {option}",
                file=sys.stderr,
            )
        else:
            print(f"cannot start the local cloud: {exc}", file=sys.stderr)
        return 1
    print("local cloud stopped", file=sys.stderr, flush=True)
    return 0


def _port_in_use(args: argparse.Namespace) -> tuple[int, str]:
    """Which of the two ports was taken (the API's, or the AWS endpoint's when one was given), and how to move."""
    import socket

    if args.moto_port:
        with socket.socket() as probe:
            try:
                probe.bind((args.host, args.port))
            except OSError:
                pass
            else:
                return args.moto_port, f"--moto-port {args.moto_port + 1}"
    return args.port, f"make dev PORT={args.port + 1}"


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    args = parse_args(argv)
    if not args.metrics:
        sys.stdout = MetricLineFilter(sys.stdout)  # the execution environments filter their own
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
