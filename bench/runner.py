"""One Lambda execution environment, in a fresh interpreter: import the handler, then invoke it.

Run by the benchmark as ``python3.13 -I -S -B -u bench/runner.py SPEC.json``, standard library only, so
that nothing but the artifact is imported (docs/performance.md, "How it is measured", says why each flag).
SPEC (`bench.lambda_runs.run_handler` writes it): ``{"mode": "cold" | "warm", "paths": [...], "handler":
"module.function", "events": FILE, "warmup": N, "count": N, "replay": N, "keep_responses": bool,
"report_modules": bool, "mark_phases": bool, "aws_latency_ms": MS, "out": FILE}``. With
``aws_latency_ms``, every AWS call waits that long before it is sent: the round trip to a real regional
endpoint, which moto on loopback does not have. The result goes to ``out`` as JSON: ``init_ns`` (import
the handler module), ``first_ns`` (the first invocation), ``peak_rss_kb`` after it; in warm mode also
``durations_ns`` of each timed invocation (and ``replay_ns`` of the replays, ``responses`` with
``keep_responses``).
"""

# Imported before the clock starts, as the Lambda runtime's bootstrap has them loaded already.
import importlib
import json
import logging
import os
import resource
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any


class LambdaContext:
    """The context attributes the Lambda runtime passes; one per invocation."""

    function_name = "bench"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    log_group_name = "/aws/lambda/bench"
    log_stream_name = "bench"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"

    def __init__(self) -> None:
        self.aws_request_id = os.urandom(16).hex()
        self._deadline = time.monotonic() + 30.0

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = os.environ.get("AWS_LAMBDA_REQUEST_ID", "")
        return True


def lambda_root_logging() -> None:
    """The root handler the Lambda python runtime installs: one tab-separated line per record on stdout."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("[%(levelname)s]\t%(asctime)s\t%(aws_request_id)s\t%(message)s"))
    handler.addFilter(_RequestIdFilter())
    logging.getLogger().addHandler(handler)


def next_invocation() -> LambdaContext:
    """What the runtime does between invocations: a new request id and X-Ray trace header."""
    context = LambdaContext()
    os.environ["AWS_LAMBDA_REQUEST_ID"] = context.aws_request_id
    root = f"1-{int(time.time()):08x}-{os.urandom(12).hex()}"
    os.environ["_X_AMZN_TRACE_ID"] = f"Root={root};Parent={os.urandom(8).hex()};Sampled=1"
    return context


def peak_rss_kb() -> int:
    """This process's peak resident set size. VmHWM, not ru_maxrss: Linux carries ru_maxrss over from
    the parent across fork + exec, so a child of a large parent would report the parent's peak."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def model_network_latency(milliseconds: float) -> None:
    """Make every AWS call of boto3's default session wait `milliseconds` (sleeping releases the GIL, as a
    socket wait does), so concurrent calls overlap the way they do against the real endpoint."""
    import boto3

    boto3.setup_default_session()
    assert boto3.DEFAULT_SESSION is not None

    def round_trip(**_: Any) -> None:
        time.sleep(milliseconds / 1000)

    boto3.DEFAULT_SESSION.events.register("before-send", round_trip)


def _status(response: object) -> int | None:
    return response.get("statusCode") if isinstance(response, dict) else None


def _timed(
    handler: Callable[[Any, LambdaContext], Any],
    events: list[Any],
    statuses: dict[str, int],
    responses: list[Any] | None = None,
) -> list[int]:
    durations = []
    for event in events:
        context = next_invocation()
        started = time.perf_counter_ns()
        try:
            response = handler(event, context)
        except Exception as exc:  # a failed invocation still counts, as on Lambda
            response = {"statusCode": f"raised {type(exc).__name__}"}
        durations.append(time.perf_counter_ns() - started)
        key = str(_status(response))
        statuses[key] = statuses.get(key, 0) + 1
        if responses is not None:
            responses.append(response)
    return durations


def _warm(handler: Callable[[Any, LambdaContext], Any], events: list[Any], spec: dict[str, Any]) -> dict[str, Any]:
    """Warm mode after the first invocation: `warmup` untimed invocations, `count` timed, `replay` of those again."""
    warmup, count, replay = spec.get("warmup", 0), spec["count"], spec.get("replay", 0)
    _timed(handler, events[1 : 1 + warmup], {})
    timed, statuses = events[1 + warmup : 1 + warmup + count], dict[str, int]()
    responses: list[Any] | None = [] if spec.get("keep_responses") else None
    result: dict[str, Any] = {
        "invocations": 1 + min(warmup + count, len(events) - 1) + replay,
        "durations_ns": _timed(handler, timed, statuses, responses),
        "statuses": statuses,
    }
    if responses is not None:
        result["responses"] = responses
    if replay:
        replay_statuses: dict[str, int] = {}
        result["replay_ns"] = _timed(handler, timed[:replay], replay_statuses)
        result["replay_statuses"] = replay_statuses
    return result


def main(spec_path: str) -> None:
    with open(spec_path, encoding="utf-8") as f:
        spec = json.load(f)
    # Powertools warns on every call with POWERTOOLS_IDEMPOTENCY_DISABLED; Mangum on loop creation.
    warnings.simplefilter("ignore")
    lambda_root_logging()
    sys.path[0:0] = spec["paths"]
    if spec.get("aws_latency_ms"):
        model_network_latency(float(spec["aws_latency_ms"]))
    with open(spec["events"], encoding="utf-8") as f:
        events = json.load(f)
    module_name, _, function_name = spec["handler"].rpartition(".")

    if spec.get("mark_phases"):
        sys.stderr.write("bench: init\n")
    started = time.perf_counter_ns()
    handler = getattr(importlib.import_module(module_name), function_name)
    imported = time.perf_counter_ns()
    if spec.get("mark_phases"):  # separates init from first-invoke imports in -X importtime's output
        sys.stderr.write("bench: first invocation\n")
    context = next_invocation()
    first_started = time.perf_counter_ns()
    response = handler(events[0], context)
    first_done = time.perf_counter_ns()
    result: dict[str, object] = {
        "init_ns": imported - started,
        "first_ns": first_done - first_started,
        "peak_rss_kb": peak_rss_kb(),
        "first_status": _status(response),
        "modules": len(sys.modules),
        "invocations": 1,
    }
    if spec["mode"] == "warm":
        result |= _warm(handler, events, spec)
    if spec.get("report_modules"):
        result["module_files"] = sorted({p for m in list(sys.modules.values()) if (p := getattr(m, "__file__", None))})
    with open(spec["out"], "w", encoding="utf-8") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main(sys.argv[1])
