"""Local dispatcher lateness: N one-time schedules due in the same second, fired by `make dev`'s dispatcher.

Run in its own process by `make bench` (`measure_dispatcher`: the local cloud wants the main thread and its
own moto state):

    python -m bench.dispatch N OUT.json [CONCURRENCY]    # CONCURRENCY: the callback's environments (default 10)

The schedules are created through the local API (the scheduler function, batches of 100), all with
the same `run_at` second; then the dispatcher serves in real time until every occurrence has started
in the callback (or a time limit passes). Lateness is measured by the dispatcher itself
(`localcloud.stats.DispatchStats`): fired = handed to Lambda's asynchronous queue, started = the
callback began running it. CPU seconds of the local cloud's own process (moto, the API, the dispatcher)
and of its execution environments are reported next to the wall time of the run.
"""

from __future__ import annotations

import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.build import ROOT
from bench.events import schedule_request
from bench.stats import summarize

BATCH = 100
#: Give up waiting for the invocations this long after the schedules were due.
RUN_LIMIT_SECONDS = 90.0


def create(api: str, task_ids: list[str], **timing: Any) -> tuple[int, float]:
    """Create the tasks through `POST /api/v1/schedules/batch`; (how many were created, seconds taken)."""
    started, created = time.monotonic(), 0
    for i in range(0, len(task_ids), BATCH):
        items = [{**schedule_request(t), **timing} for t in task_ids[i : i + BATCH]]
        for item in items if "run_at" in timing else []:
            item.pop("delay_minutes")
        body = json.dumps({"items": items}).encode()
        request = urllib.request.Request(  # noqa: S310 - the local API on loopback
            f"{api}/api/v1/schedules/batch", data=body, headers={"content-type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310 - the local API on loopback
            created += int(json.loads(response.read())["created"])
    return created, time.monotonic() - started


def measure(n: int, concurrency: int = 10) -> dict[str, Any]:
    """Create `n` schedules due in one second, serve until they have run, return the lateness."""
    from localcloud.cloud import CloudOptions, LocalCloud

    options = CloudOptions(port=0, access_log=False, concurrency=concurrency)
    with LocalCloud(options, log=lambda record: None) as cloud:
        api = cloud.api_url
        # Calibrate (and warm the API): time a batch of schedules due in an hour, which never fire here.
        probe, probe_seconds = create(api, [f"probe-{i}" for i in range(min(BATCH, n))])
        per_schedule = probe_seconds / max(probe, 1)
        lead = max(3.0, 1.5 * per_schedule * n + 2.0)
        due = (datetime.now(UTC) + timedelta(seconds=lead)).replace(microsecond=0) + timedelta(seconds=1)
        created, create_seconds = create(api, [f"due-{i}" for i in range(n)], run_at=due.isoformat())
        dispatcher = cloud.dispatcher
        assert dispatcher is not None
        stats = dispatcher.stats
        deadline = due.timestamp() + RUN_LIMIT_SECONDS

        def watch() -> None:
            while time.time() < deadline and len(stats.start_lateness) < created:
                time.sleep(0.1)
            cloud.stop()

        threading.Thread(target=watch, name="bench-watch", daemon=True).start()
        wall, cpu, children = time.monotonic(), time.process_time(), resource.getrusage(resource.RUSAGE_CHILDREN)
        cloud.serve()  # returns with the environments stopped (and so counted in RUSAGE_CHILDREN)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_s = {
            "wall": round(time.monotonic() - wall, 2),
            "local_cloud_process": round(time.process_time() - cpu, 2),
            "environments": round(after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime, 2),
        }
        fired, started = list(stats.fire_lateness), list(stats.start_lateness)
        return {
            "schedules": n,
            "concurrency": concurrency,
            "cpu_seconds": cpu_s,
            "created": created,
            # The creates must finish before the due second, or their lateness would be the API's.
            "created_before_due": create_seconds < lead,
            "create_seconds": round(create_seconds, 3),
            "delivered": len(fired),
            "started": len(started),
            "early": stats.early,
            "fire_lateness_s": summarize(fired) if fired else None,
            "start_lateness_s": summarize(started) if started else None,
            "counts": dict(stats.counts),
        }


def measure_dispatcher(n: int) -> dict[str, Any]:
    """`measure` in its own process, at the local cloud's default concurrency, then at concurrency 1
    (`concurrency_1`: what more environments change)."""
    from localcloud.cloud import CloudOptions

    runs = []
    for concurrency in (CloudOptions().concurrency, 1):
        run = _in_own_process(n, concurrency)
        if "reason" in run:
            return run
        runs.append(run)
    result, single = runs
    result["concurrency_1"] = {k: single[k] for k in ("start_lateness_s", "fire_lateness_s", "cpu_seconds", "counts")}
    return result


def _in_own_process(n: int, concurrency: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-dispatch-") as tmp:
        out = Path(tmp) / "dispatch.json"
        # Nothing from this shell reaches AWS: the local cloud sets moto's dummy credentials itself.
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | {"HOME": tmp}
        args = [sys.executable, "-m", "bench.dispatch", str(n), str(out), str(concurrency)]
        # stdout: the callback's own log lines
        proc = subprocess.run(
            args,
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
            timeout=600,
        )
        if proc.returncode != 0 or not out.is_file():
            return {"reason": f"bench.dispatch failed (exit {proc.returncode}): {proc.stderr.strip()[-500:]}"}
        result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
        return result


def main(argv: list[str] | None = None) -> int:
    """Command line: `python -m bench.dispatch N OUT.json [CONCURRENCY]`."""
    n, out, *concurrency = argv if argv is not None else sys.argv[1:]
    result = measure(int(n), *(int(c) for c in concurrency[:1]))
    Path(out).write_text(
        json.dumps(result, default=lambda v: None if isinstance(v, float) and math.isnan(v) else str(v))
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
