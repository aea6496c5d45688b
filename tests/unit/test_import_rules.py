"""docs/architecture.md's import rules, checked on the source: which room may import which.

Every `import` and `from ... import` counts, at module level or inside a function.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from localcloud.template import ROOT

TASKCORE = ROOT / "layers" / "shared" / "taskcore"
SCHEDULER = ROOT / "functions" / "scheduler" / "scheduler_app"
CALLBACK = ROOT / "functions" / "callback" / "callback_app"
OPS = ROOT / "ops"
LOCALCLOUD = ROOT / "localcloud"
CONSOLE = ROOT / "console"
#: The local cloud's composition root: it assembles the emulator and hands it the console to mount.
LOCALCLOUD_ROOT = "dev.py"
#: The console's adapter to the local cloud (mounted by it in `make dev`; served on its HTTP server by `make console`).
CONSOLE_LOCAL_ADAPTER = "local.py"

HTTP = ("fastapi", "starlette", "mangum")
AWS_SDK = ("boto3", "botocore")


def imports_of(path: Path) -> set[str]:
    """The top-level packages and full module names a file imports (a name taken from a package may be a module)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from scheduler_app import compat` imports the module scheduler_app.compat
            modules = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        else:
            continue
        for module in modules:
            names.add(module)
            names.add(module.split(".")[0])
    return names


def files(package: Path) -> list[Path]:
    return sorted(p for p in package.rglob("*.py") if "__pycache__" not in p.parts)


def importers(package: Path, *modules: str) -> list[str]:
    """The files of `package` (relative to it) that import any of `modules`."""
    return [str(p.relative_to(package)) for p in files(package) if imports_of(p) & set(modules)]


def test_the_shared_layer_knows_neither_function_nor_http_nor_the_local_cloud() -> None:
    assert importers(TASKCORE, "scheduler_app", "callback_app", "localcloud", *HTTP) == []


def test_in_the_shared_layer_only_the_client_recipe_imports_the_aws_sdk() -> None:
    assert importers(TASKCORE, *AWS_SDK) == ["clients.py"]


@pytest.mark.parametrize(("package", "other"), [(SCHEDULER, "callback_app"), (CALLBACK, "scheduler_app")])
def test_a_function_never_imports_the_other(package: Path, other: str) -> None:
    assert importers(package, other, "localcloud") == []


def reaches(path: Path, *prefixes: str) -> bool:
    """Whether the file imports a module named by, or inside, any of `prefixes`."""
    return any(name == prefix or name.startswith(f"{prefix}.") for name in imports_of(path) for prefix in prefixes)


def imported_under(package: Path, *prefixes: str) -> list[str]:
    """The files of `package` (relative to it) that import a module named by, or inside, any of `prefixes`."""
    return [str(path.relative_to(package)) for path in files(package) if reaches(path, *prefixes)]


# The scheduler's rooms (docs/architecture.md, "Rooms"):
ENGINE = SCHEDULER / "engine"
ADAPTERS = SCHEDULER / "adapters"
#: Pure: what a request means as of a given moment, the records, and the views of them; no port, no I/O.
PURE = ("planning.py", "specs.py", "views.py", "cursors.py", "records.py", "models.py", "responses.py")
#: The policy room: who may see and change which task, and the quota; over the ports only.
POLICY = ("policy.py", "ownership.py", "namespaces.py", "principals.py")
#: Where the engine's adapters are chosen and built.
COMPOSITION_ROOT = ["deps.py"]
#: What speaks AWS in the scheduler, beside the engine's ports.
AWS_ROOMS = (*AWS_SDK, "scheduler_app.adapters", "scheduler_app.clients", "scheduler_app.keys")


def test_only_the_adapters_speak_the_aws_sdk_in_the_scheduler() -> None:
    assert importers(SCHEDULER, *AWS_SDK) == ["adapters/dynamodb_ledger.py", "adapters/eventbridge.py", "keys.py"]
    assert importers(SCHEDULER, "taskcore.clients") == ["clients.py", "settings.py"]


def test_the_scheduler_engine_its_rooms_and_its_models_know_nothing_of_http() -> None:
    web = importers(SCHEDULER, *HTTP)

    plain = {f"engine/{p.name}" for p in files(ENGINE)} | {f"adapters/{p.name}" for p in files(ADAPTERS)}
    plain |= {*PURE, *POLICY, "ports.py", "errors.py", "settings.py", "clients.py", "keys.py"}
    assert plain.isdisjoint(web)
    assert imported_under(ENGINE, "scheduler_app.deps", "scheduler_app.api_errors", "scheduler_app.routers") == []


def test_the_engine_and_the_policy_reach_aws_only_through_the_ports() -> None:
    assert imported_under(ENGINE, *AWS_ROOMS) == []
    assert [name for name in POLICY if reaches(SCHEDULER / name, *AWS_ROOMS, "scheduler_app.engine")] == []


def test_only_the_composition_root_builds_the_adapters_and_no_adapter_knows_the_engine() -> None:
    outside = [name for name in imported_under(SCHEDULER, "scheduler_app.adapters") if not name.startswith("adapters/")]
    assert outside == COMPOSITION_ROOT
    policy = (f"scheduler_app.{name.removesuffix('.py')}" for name in POLICY)
    assert imported_under(ADAPTERS, "scheduler_app.engine", *policy) == []


def test_the_pure_rooms_touch_no_port_no_adapter_no_policy_and_no_engine() -> None:
    rooms = ("ports", "adapters", "engine", "clients", "keys", "policy", "ownership", "deps")
    beyond = (*AWS_SDK, *(f"scheduler_app.{room}" for room in rooms))
    assert [name for name in PURE if reaches(SCHEDULER / name, *beyond)] == []


def clock_readers(package: Path) -> list[str]:
    """The files of `package` that read a clock (`datetime.now()`, `time.time()`, ..., or the process's clock
    `taskcore.clock.utcnow`, called or handed on)."""

    def reads_clock(node: ast.AST) -> bool:
        if isinstance(node, ast.Name) and node.id == "utcnow":
            return True
        func = node.func if isinstance(node, ast.Call) else None
        if not isinstance(func, ast.Attribute):
            return False
        on_time = isinstance(func.value, ast.Name) and func.value.id == "time"
        return func.attr in ("now", "utcnow", "today") or (on_time and func.attr in ("time", "monotonic"))

    return [
        str(path.relative_to(package))
        for path in files(package)
        if any(reads_clock(node) for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))))
    ]


def test_one_clock_reading_per_request_only_the_engine_facade_reads_the_clock() -> None:
    # Each use case takes the request's one reading (engine/context.py); an in-memory twin stamps what AWS would.
    assert clock_readers(SCHEDULER) == ["adapters/memory.py", "engine/__init__.py"]


def test_the_callback_service_knows_nothing_of_http_and_only_the_entry_point_knows_mangum() -> None:
    assert "service.py" not in importers(CALLBACK, *HTTP)
    assert importers(CALLBACK, "mangum") == ["handler.py"]
    assert importers(SCHEDULER, "mangum") == ["handler.py"]


def test_the_guide_compatibility_modules_are_imported_only_where_the_app_is_assembled() -> None:
    assert importers(SCHEDULER, "scheduler_app.compat") == ["main.py"]
    assert importers(CALLBACK, "callback_app.compat") == ["handler.py", "main.py"]


def test_in_the_callback_only_the_entry_point_and_the_app_know_http() -> None:
    # The run (run.py), what follows it (outcome.py), the adapters and the settings are plain Python.
    assert importers(CALLBACK, *HTTP) == ["handler.py", "main.py"]
    assert importers(CALLBACK, "mangum") == ["handler.py"]


def test_the_callback_route_says_how_the_run_ended_and_only_the_entry_point_acts_on_it() -> None:
    # The ledger, the rejection queue and the outcome line are the entry point's, after Mangum returns.
    after = ("callback_app.outcome", "callback_app.ledger", "callback_app.rejections")
    assert "main.py" not in importers(CALLBACK, *after)
    assert importers(CALLBACK, "callback_app.outcome") == ["handler.py"]
    assert importers(CALLBACK, "callback_app.handler") == []


def test_the_callbacks_run_record_imports_no_adapter() -> None:
    # So that it can move into the idempotency record's own transactions (a persistence layer, issue 19).
    run = CALLBACK / "run.py"
    adapters = {"callback_app.ledger", "callback_app.rejections", "callback_app.service", "callback_app.settings"}
    assert imports_of(run).isdisjoint({*adapters, *AWS_SDK, "taskcore.clients"})


def test_in_the_callback_only_the_ledger_writers_speak_the_aws_sdk_and_three_adapters_build_clients() -> None:
    # ledger.py: the callback's runs; endings.py and sweep.py: the recorder's (RecorderFunction, same code).
    assert importers(CALLBACK, *AWS_SDK) == ["endings.py", "ledger.py", "sweep.py"]
    assert importers(CALLBACK, "taskcore.clients") == ["recorder.py", "rejections.py", "service.py", "settings.py"]


def test_the_callback_imports_nothing_private_of_powertools() -> None:
    # `aws_lambda_powertools.shared` is Powertools' internal package: no compatibility promise.
    private = [
        str(path.relative_to(CALLBACK))
        for path in files(CALLBACK)
        if any(name.startswith("aws_lambda_powertools.shared") for name in imports_of(path))
    ]
    assert private == []


def test_the_expressions_forms_know_no_grammar_and_only_the_grammar_parses_cron() -> None:
    expressions = TASKCORE / "expressions"

    assert importers(expressions, "taskcore.expressions.grammar", "taskcore.expressions.cron") == [
        "__init__.py",
        "grammar.py",
    ]
    assert importers(expressions, "taskcore.expressions.cron") == ["grammar.py"]
    assert not [name for name in imports_of(expressions / "forms.py") if name.startswith("taskcore.expressions")]


# -- the operations, the local cloud and the console ----------------------------------------------------------


def test_the_operations_import_neither_the_local_cloud_nor_the_console_nor_a_function() -> None:
    assert importers(OPS, "localcloud", "console", "scheduler_app", "callback_app", *HTTP) == []


def test_the_emulator_never_imports_the_console_only_its_composition_root_does() -> None:
    assert importers(LOCALCLOUD, "console") == [LOCALCLOUD_ROOT]


def test_the_console_reaches_the_local_cloud_only_through_its_local_adapter() -> None:
    def local_cloud_modules(path: Path) -> set[str]:
        return {m for m in imports_of(path) if m.startswith("localcloud.")}

    users = [str(p.relative_to(CONSOLE)) for p in files(CONSOLE) if local_cloud_modules(p)]
    assert users == [CONSOLE_LOCAL_ADAPTER]


def test_the_console_imports_neither_function() -> None:
    assert importers(CONSOLE, "scheduler_app", "callback_app") == []


@pytest.mark.parametrize("package", [TASKCORE, SCHEDULER, CALLBACK])
def test_neither_the_layer_nor_a_function_imports_the_operations_or_the_console(package: Path) -> None:
    assert importers(package, "ops", "console") == []


# -- bench: the benchmark measures the functions from outside ------------------------------------

BENCH = ROOT / "bench"
#: The harness, without what it builds (.build/) and the peers (baselines/): deployables it measures. The
#: Powertools resolver runs the callback's own service behind another HTTP layer, so it imports what the
#: callback's route does.
BENCH_HARNESS = sorted(BENCH.glob("*.py"))


def module_graph(package: Path, name: str, paths: list[Path]) -> dict[str, set[str]]:
    """Each module of `package` (imported as `name`) among `paths` -> the modules among them it imports."""
    graph: dict[str, set[str]] = {}
    for path in paths:
        parts = path.relative_to(package).with_suffix("").parts
        graph[".".join((name, *parts[: -1 if parts[-1] == "__init__" else None]))] = imports_of(path)
    return {module: imported & set(graph) - {module} for module, imported in graph.items()}


def modules_in_cycles(graph: dict[str, set[str]]) -> list[str]:
    """The modules from which an import chain leads back to themselves."""

    def reachable(start: str) -> set[str]:
        seen: set[str] = set()
        todo = list(graph[start])
        while todo:
            if (module := todo.pop()) not in seen:
                seen.add(module)
                todo.extend(graph.get(module, ()))
        return seen

    return sorted(module for module in graph if module in reachable(module))


def test_the_benchmark_has_no_import_cycle() -> None:
    graph = module_graph(BENCH, "bench", BENCH_HARNESS)

    assert {"bench", "bench.run", "bench.measure"} <= set(graph)
    assert modules_in_cycles(graph) == []


def test_an_import_cycle_is_found_with_every_module_on_it(tmp_path: Path) -> None:
    (tmp_path / "__init__.py").write_text("")
    (tmp_path / "a.py").write_text("from pkg import b\n")
    (tmp_path / "b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.c import C\n")
    (tmp_path / "c.py").write_text("import pkg.a\n")
    (tmp_path / "d.py").write_text("import pkg.a\n")

    assert modules_in_cycles(module_graph(tmp_path, "pkg", files(tmp_path))) == ["pkg.a", "pkg.b", "pkg.c"]


def test_the_benchmark_runs_the_functions_through_their_entry_points_and_taskcore_through_its_public_names() -> None:
    import taskcore

    public = {"taskcore", *(f"taskcore.{name}" for name in taskcore.__all__)}
    public |= {"taskcore.caches", "taskcore.caches.reset_container_caches"}
    for function in ("callback_app", "scheduler_app"):
        public |= {function, f"{function}.handler", f"{function}.handler.lambda_handler"}
    reached = {name for path in BENCH_HARNESS for name in imports_of(path)}

    assert {name for name in reached if name.split(".")[0] in ("taskcore", "callback_app", "scheduler_app")} <= public


def test_the_benchmark_imports_no_test_and_nothing_in_the_product_imports_the_benchmark() -> None:
    assert [path.name for path in BENCH_HARNESS if "tests" in imports_of(path)] == []
    for package in (TASKCORE, SCHEDULER, CALLBACK, ROOT / "localcloud", ROOT / "console"):
        assert importers(package, "bench") == []
