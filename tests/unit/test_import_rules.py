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


# -- the operations, the local cloud and the console ----------------------------------------------------------


def test_the_operations_import_neither_the_local_cloud_nor_the_console_nor_a_function() -> None:
    assert importers(OPS, "localcloud", "console", "scheduler_app", "callback_app", *HTTP) == []


def test_the_emulator_never_imports_the_console_only_its_composition_root_does() -> None:
    assert importers(LOCALCLOUD, "console") == [LOCALCLOUD_ROOT]


def test_the_console_reaches_the_local_cloud_only_through_its_local_adapter() -> None:
    def local_cloud_modules(path: Path) -> set[str]:
        # `import localcloud.paths` (taskcore put on sys.path for `python -m console`) is a side effect, not a use.
        return {m for m in imports_of(path) if m.startswith("localcloud.") and m != "localcloud.paths"}

    users = [str(p.relative_to(CONSOLE)) for p in files(CONSOLE) if local_cloud_modules(p)]
    assert users == [CONSOLE_LOCAL_ADAPTER]


def test_the_console_imports_neither_function() -> None:
    assert importers(CONSOLE, "scheduler_app", "callback_app") == []


@pytest.mark.parametrize("package", [TASKCORE, SCHEDULER, CALLBACK])
def test_neither_the_layer_nor_a_function_imports_the_operations_or_the_console(package: Path) -> None:
    assert importers(package, "ops", "console") == []
