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


def test_only_the_adapters_speak_the_aws_sdk_in_the_scheduler() -> None:
    assert importers(SCHEDULER, *AWS_SDK) == ["eventbridge.py", "keys.py", "ledger.py"]
    assert importers(SCHEDULER, "taskcore.clients") == ["clients.py", "settings.py"]


def test_the_scheduler_service_adapter_and_models_know_nothing_of_http() -> None:
    web = importers(SCHEDULER, *HTTP)

    plain = {"service.py", "eventbridge.py", "ledger.py", "keys.py", "cursors.py", "views.py", "models.py", "errors.py"}
    plain |= {"settings.py"}
    assert (plain | {"clients.py"}).isdisjoint(web)
    assert "service.py" not in importers(SCHEDULER, "scheduler_app.deps", "scheduler_app.api_errors")


def test_the_callback_service_knows_nothing_of_http_and_only_the_entry_point_knows_mangum() -> None:
    assert "service.py" not in importers(CALLBACK, *HTTP)
    assert importers(CALLBACK, "mangum") == ["handler.py"]
    assert importers(SCHEDULER, "mangum") == ["handler.py"]


def test_the_guide_compatibility_modules_are_imported_only_where_the_app_is_assembled() -> None:
    assert importers(SCHEDULER, "scheduler_app.compat") == ["main.py"]
    assert importers(CALLBACK, "callback_app.compat") == ["handler.py", "main.py"]


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
