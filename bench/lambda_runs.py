"""Cold and warm runs of a handler, each in a fresh python3.13 that sees only its Lambda artifact.

A `Variant` is one deployable: its handler and the directories Lambda would put on `sys.path`
(function code, then the layer's /opt/python, then the runtime's boto3). `bench/runner.py` does the
importing and the invoking; this module prepares its environment and collects what it reports. A
`Harness` is what every run needs: the interpreter, the counts, a scratch directory, the endpoint.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.build import Artifacts
from bench.config import Config, log
from bench.events import write_events

RUNNER = Path(__file__).resolve().parent / "runner.py"
INIT_MARK, FIRST_INVOCATION_MARK = "bench: init", "bench: first invocation"
_IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|\s*(\S+)")


@dataclass(frozen=True)
class Variant:
    """One deployable handler: its name in the results, its entry point, and its sys.path."""

    name: str
    label: str
    handler: str
    paths: tuple[Path, ...]
    #: Runs its task under a Powertools idempotency record (needs the table).
    idempotent: bool = False


def lambda_environment(
    variant: Variant, endpoint_env: Mapping[str, str], *, home: Path, idempotency: bool = True
) -> dict[str, str]:
    """The variables Lambda sets for `variant`, plus the local endpoint's; nothing from this shell.

    HOME is an empty directory, so no real AWS credentials or config can be found. X-Ray segments
    go to a loopback UDP port nobody listens on (the X-Ray emitter never waits for an answer).
    """
    env = {
        "LAMBDA_TASK_ROOT": str(variant.paths[0]),
        "LAMBDA_RUNTIME_DIR": str(variant.paths[-1]),
        "_HANDLER": variant.handler,
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_LAMBDA_FUNCTION_NAME": f"bench-{variant.name}",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/bench-{variant.name}",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "TZ": ":UTC",
        "LANG": "C.UTF-8",
        "HOME": str(home),
        **endpoint_env,
    }
    if not idempotency:
        # Powertools' own switch: the decorated function is called directly, no record is read or written.
        env["POWERTOOLS_IDEMPOTENCY_DISABLED"] = "true"
    return env


def run_handler(
    python: str,
    variant: Variant,
    env: Mapping[str, str],
    events_file: Path,
    *,
    workdir: Path,
    importtime: bool = False,
    **spec: Any,
) -> dict[str, Any]:
    """One fresh interpreter: import the handler, invoke it once (mode "cold", the default) or warmup +
    count [+ replay] times (mode "warm"). `spec` goes to bench/runner.py as it is: mode, warmup, count,
    replay, keep_responses, report_modules, aws_latency_ms (see its docstring). With `importtime`, the
    result also has ``-X importtime``'s report, `importtime_stderr`; always `log_bytes`, what it logged.
    """
    stem = f"{workdir / variant.name}-{spec.setdefault('mode', 'cold')}"
    out, spec_file, log_file = Path(f"{stem}.json"), Path(f"{stem}.spec.json"), Path(f"{stem}.log")
    paths = [str(p) for p in variant.paths]
    spec |= {"paths": paths, "handler": variant.handler, "events": str(events_file), "out": str(out)}
    spec_file.write_text(json.dumps({**spec, "mark_phases": importtime}), encoding="utf-8")
    out.unlink(missing_ok=True)
    flags = ["-X", "importtime"] if importtime else []
    # The handler's stdout is its Lambda log stream: written to a file, as the runtime would ship it.
    with log_file.open("wb") as stdout:
        proc = subprocess.run(
            [python, "-I", "-S", "-B", "-u", *flags, str(RUNNER), str(spec_file)],
            env=dict(env),
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
            cwd=variant.paths[0],
        )
    if proc.returncode != 0 or not out.is_file():
        raise RuntimeError(
            f"{variant.name} ({spec['mode']}) failed with exit status {proc.returncode}:\n{proc.stderr[-3000:]}"
        )
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    result["log_bytes"] = log_file.stat().st_size
    log_file.unlink()
    if importtime:
        result["importtime_stderr"] = proc.stderr
    return result


def import_self_times(stderr: str, packages: set[str]) -> dict[str, dict[str, float]]:
    """Milliseconds of ``-X importtime`` self time per top-level package, for init and first invocation.

    Modules outside `packages` (the artifact's own top-level names) are counted as "(stdlib)".
    """
    phases: dict[str, dict[str, float]] = {"init": {}, "first_invoke": {}}
    phase: dict[str, float] | None = None  # the runner's own imports come before the init mark
    for line in stderr.splitlines():
        if line.startswith((INIT_MARK, FIRST_INVOCATION_MARK)):
            phase = phases["init" if line.startswith(INIT_MARK) else "first_invoke"]
        elif phase is not None and (match := _IMPORT_LINE.match(line)):
            top = match.group(3).split(".", 1)[0]
            bucket = top if top in packages else "(stdlib)"
            phase[bucket] = phase.get(bucket, 0.0) + int(match.group(1)) / 1000
    return phases


def top_level_names(paths: Sequence[Path]) -> set[str]:
    """The importable top-level names in `paths` (packages and modules)."""
    names = set()
    for entry in (entry for path in paths for entry in path.iterdir()):
        if entry.is_dir() and not entry.name.endswith((".dist-info", "__pycache__")):
            names.add(entry.name)
        elif entry.suffix in (".py", ".so"):
            names.add(entry.name.split(".", 1)[0])
    return names


@dataclass(frozen=True)
class Harness:
    """What every run of a handler needs: the interpreter, the counts, a scratch directory, the endpoint."""

    python: str
    cfg: Config
    work: Path
    endpoint_env: dict[str, str]

    def env(self, v: Variant, *, idempotency: bool = True) -> dict[str, str]:
        """Lambda's environment for `v`, HOME an empty directory."""
        (self.work / "home").mkdir(exist_ok=True)
        return lambda_environment(v, self.endpoint_env, home=self.work / "home", idempotency=idempotency)

    def events(self, tag: str, events: list[dict[str, Any]]) -> Path:
        """`events` in a file of the scratch directory, for the runner."""
        return write_events(self.work / f"{tag}.json", events)

    def run(self, v: Variant, events: Path, env: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
        """`run_handler` in the scratch directory."""
        return run_handler(self.python, v, env or self.env(v), events, workdir=self.work, **spec)


def variants(art: Artifacts) -> dict[str, Variant]:
    """Every callback the benchmark runs (ours and its peers), keyed by its name in the results."""
    rt, guide, ours = art.runtime, "lambda_handler.lambda_handler", "callback_app.handler.lambda_handler"
    resolver, bare = "resolver_handler.lambda_handler", "bare_handler.lambda_handler"
    return {
        v.name: v
        for v in (
            Variant("guide", "guide's callback, guide's packaging (pip -t, no bytecode)", guide, (art.guide, rt)),
            Variant("guide_compiled", "guide's callback, with our bytecode step", guide, (art.guide_compiled, rt)),
            Variant("callback", "callback (ours), our build (bytecode)", ours, (art.callback, art.layer, rt), True),
            Variant(
                "callback_sam",
                "callback (ours), as `sam build` ships it (no bytecode)",
                ours,
                (art.callback_sam, art.layer_sam, rt),
                True,
            ),
            Variant(
                "resolver",
                "Powertools APIGatewayRestResolver, same work, our build",
                resolver,
                (art.resolver, art.layer, rt),
                True,
            ),
            Variant("bare", "bare handler (json.loads, return a dict): the floor", bare, (art.bare, rt)),
        )
    }


def scheduler_variant(art: Artifacts) -> Variant:
    """The scheduler function (the API), our build."""
    paths = (art.scheduler, art.layer, art.runtime)
    return Variant("scheduler", "scheduler API, our build", "scheduler_app.handler.lambda_handler", paths)


def cold_starts(
    h: Harness, variants: Sequence[Variant], events_for: Callable[[Variant, int], Path]
) -> dict[str, list[dict[str, Any]]]:
    """`h.cfg.cold_runs` cold starts of each variant, interleaved (round r starts at variant r): drift hits all."""
    results: dict[str, list[dict[str, Any]]] = {v.name: [] for v in variants}
    for r in range(h.cfg.cold_runs):
        for variant in (variants[(r + i) % len(variants)] for i in range(len(variants))):
            results[variant.name].append(h.run(variant, events_for(variant, r)))
        log(f"cold start round {r + 1}/{h.cfg.cold_runs}")
    return results
