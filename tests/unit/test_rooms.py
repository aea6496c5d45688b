"""The rooms of the whole repository: which top-level package imports which, as docs/architecture.md draws it.

tests/unit/test_import_rules.py checks the rules inside each package; this checks the map between them,
every first-party package included (the layer, both functions, the client, the operations, the local
cloud, the console and the bench), in both directions: what the table allows is what the code does.
"""

from __future__ import annotations

import re
from pathlib import Path

from localcloud.template import ROOT
from tests.unit.test_import_rules import files, imports_of

PACKAGES = {
    "taskcore": ROOT / "layers" / "shared" / "taskcore",
    "scheduler_app": ROOT / "functions" / "scheduler" / "scheduler_app",
    "callback_app": ROOT / "functions" / "callback" / "callback_app",
    "taskclient": ROOT / "clients" / "python" / "src" / "taskclient",
    "ops": ROOT / "ops",
    "localcloud": ROOT / "localcloud",
    "console": ROOT / "console",
    "bench": ROOT / "bench",
}

#: Package -> the first-party packages it imports. The Lambda artifacts (the layer, the functions) and the
#: client stand alone; everything that runs them from outside comes after them.
ROOMS: dict[str, frozenset[str]] = {
    "taskcore": frozenset(),
    "scheduler_app": frozenset({"taskcore"}),
    "callback_app": frozenset({"taskcore"}),
    "taskclient": frozenset(),
    "ops": frozenset({"taskcore"}),
    "console": frozenset({"taskcore", "ops", "localcloud"}),
    "localcloud": frozenset({"taskcore", "scheduler_app", "callback_app", "ops", "console", "taskclient"}),
    "bench": frozenset({"taskcore", "scheduler_app", "callback_app", "localcloud"}),
}

#: The one two-way pair, each way through one module: the local cloud's composition root mounts the console,
#: and the console's local adapter reaches the local cloud (test_import_rules checks both modules).
TWO_WAY = {frozenset({"localcloud", "console"})}

ARCHITECTURE = ROOT / "docs" / "architecture.md"


def imported_packages(name: str) -> frozenset[str]:
    """The other first-party packages that any module of package `name` imports (measured code only)."""
    paths = [p for p in files(PACKAGES[name]) if not {"baselines", ".build"} & set(p.parts)]
    tops = {module.split(".")[0] for path in paths for module in imports_of(path)}
    return frozenset(tops & set(PACKAGES) - {name})


def documented_rooms(text: str) -> dict[str, frozenset[str]]:
    """The table between `<!-- rooms:matrix -->` markers: `| package | imports |`, `—` for none."""
    block = text.split("<!-- rooms:matrix -->", 1)[1].split("<!-- /rooms:matrix -->", 1)[0]
    rows = [line for line in block.splitlines() if line.startswith("| `")]
    table = {}
    for row in rows:
        package, imports = (cell.strip() for cell in row.strip("|").split("|")[:2])
        table[package.strip("`")] = frozenset(re.findall(r"`(\w+)`", imports))
    return table


def test_every_first_party_package_is_in_a_room() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    installed = {Path(p).name for p in project["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]}

    assert installed | {"taskclient", "bench"} == set(ROOMS)
    assert all(path.is_dir() for path in PACKAGES.values())


def test_each_package_imports_exactly_what_its_room_allows() -> None:
    measured = {name: imported_packages(name) for name in PACKAGES}

    assert measured == ROOMS


def test_the_only_packages_that_import_each_other_are_the_local_cloud_and_its_console() -> None:
    pairs = {frozenset({a, b}) for a, imports in ROOMS.items() for b in imports if a in ROOMS[b]}

    assert pairs == TWO_WAY


def test_nothing_that_ships_to_lambda_imports_what_runs_it_from_outside() -> None:
    outside = {"taskclient", "ops", "localcloud", "console", "bench"}

    for artifact in ("taskcore", "scheduler_app", "callback_app"):
        assert imported_packages(artifact).isdisjoint(outside), artifact


def test_the_architecture_page_draws_the_rooms_that_are_checked() -> None:
    assert documented_rooms(ARCHITECTURE.read_text(encoding="utf-8")) == ROOMS


def test_in_the_local_cloud_only_the_test_kit_uses_the_client() -> None:
    from tests.unit.test_import_rules import importers

    assert importers(PACKAGES["localcloud"], "taskclient") == ["taskkit.py"]
