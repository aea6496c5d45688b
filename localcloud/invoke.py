"""`make invoke EVENT=events/callback.json`: the callback's real Lambda entry point on an event, no Docker.

The docker-free equivalent of `sam local invoke CallbackFunction -e events/callback.json`: moto's
server is started on loopback as the DynamoDB endpoint (the table comes from template.yaml), the
event is handed to `callback_app.handler.lambda_handler` with a Lambda-like context, and the
response is printed. A failed invocation (what Lambda would retry) exits with status 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from localcloud.endpoint import moto_endpoint, patched_environ
from localcloud.lambda_context import LocalLambdaContext


def invoke(event: Any, repeat: int = 1) -> list[dict[str, Any]]:
    """Run `event` through the callback entry point `repeat` times against a fresh local table."""
    with moto_endpoint() as endpoint, patched_environ(endpoint.environment()):
        from callback_app.handler import lambda_handler

        return [lambda_handler(event, LocalLambdaContext()) for _ in range(repeat)]


def main(argv: list[str] | None = None) -> int:
    """Command line: `python -m localcloud.invoke EVENT [--repeat N]`."""
    parser = argparse.ArgumentParser(prog="make invoke", description=__doc__.split("\n\n")[0])
    parser.add_argument("event", type=Path, help="a JSON event file, e.g. events/callback.json")
    parser.add_argument("--repeat", type=int, default=1, help="deliver the same event N times (shows idempotency)")
    args = parser.parse_args(argv)
    event = json.loads(args.event.read_text(encoding="utf-8"))
    try:
        responses = invoke(event, args.repeat)
    except Exception as exc:  # what Lambda would see as a failed invocation, then retry
        print(json.dumps({"errorType": type(exc).__name__, "errorMessage": str(exc)}, indent=2), file=sys.stderr)
        return 1
    for response in responses:
        print(json.dumps(response, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
