"""`ActionRegistry.reload()`: the local cloud re-imports the action modules when one changes (no restart).

Each test has an action package of its own in a temporary directory, so nothing here touches
`taskcore.actions` or the modules other tests imported.
"""

from __future__ import annotations

import importlib
import itertools
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel

from taskcore.registry import ActionRegistry, TaskContext

_packages = itertools.count()

ACTION = '''
from pydantic import BaseModel
from {package} import REGISTRY


class Data(BaseModel):
    n: int = 0


@REGISTRY.action("{name}", Data)
def run(data, task):
    """{doc}"""
    return {{"version": {version}}}
'''


class Package:
    """A package of action modules on sys.path, its registry in its `__init__`."""

    def __init__(self, root: Path) -> None:
        self.name = f"reload_probe_{next(_packages)}"
        self.directory = root / self.name
        self.directory.mkdir()
        (self.directory / "__init__.py").write_text("REGISTRY = None\n")
        self.registry = ActionRegistry(package=self.name)
        setattr(importlib.import_module(self.name), "REGISTRY", self.registry)  # noqa: B010 - a module made above

    def write(self, module: str, name: str, version: int, doc: str = "An action.") -> None:
        source = ACTION.format(package=self.name, name=name, version=version, doc=doc)
        (self.directory / f"{module}.py").write_text(source)

    def run(self, name: str) -> object:
        action = self.registry.get(name)
        return action.run(action.parse({}), TaskContext(task_id="t", user_id=1, action=name))


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Package]:
    monkeypatch.syspath_prepend(str(tmp_path))
    # A file rewritten within the same second at the same size would otherwise be read from its stale bytecode.
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    made = Package(tmp_path)
    yield made
    for name in [n for n in sys.modules if n == made.name or n.startswith(made.name + ".")]:
        del sys.modules[name]


class Other(BaseModel):
    pass


def test_a_reload_adds_a_new_file_changes_a_changed_one_and_drops_a_removed_one(package: Package) -> None:
    package.write("greet", "greet", 1)
    package.write("wave", "wave", 1)
    assert package.registry.names() == ["greet", "wave"]

    package.write("greet", "greet", 2, doc="A changed action, of a different size.")
    package.write("expire", "expire", 1)
    (package.directory / "wave.py").unlink()
    package.registry.reload()

    assert package.registry.names() == ["expire", "greet"]
    assert package.run("greet") == {"version": 2}
    assert package.registry.get("greet").description == "A changed action, of a different size."


def test_a_renamed_action_is_registered_under_its_new_name_only(package: Package) -> None:
    package.write("greet", "greet", 1)
    assert package.registry.names() == ["greet"]

    package.write("greet", "hello", 1)
    package.registry.reload()

    assert package.registry.names() == ["hello"]


def test_a_file_that_does_not_import_changes_nothing_and_the_next_save_is_taken(package: Package) -> None:
    package.write("greet", "greet", 1)
    assert package.run("greet") == {"version": 1}

    (package.directory / "broken.py").write_text("def half_written(:\n")
    with pytest.raises(SyntaxError):
        package.registry.reload()

    assert package.registry.names() == ["greet"]
    assert package.run("greet") == {"version": 1}
    (package.directory / "broken.py").unlink()
    package.write("greet", "greet", 3)
    package.registry.reload()
    assert package.run("greet") == {"version": 3}


def test_actions_registered_from_outside_the_package_stay(package: Package) -> None:
    package.write("greet", "greet", 1)
    package.registry.action("registered_by_a_test", Other)(lambda data, task: None)

    package.registry.reload()

    assert package.registry.names() == ["greet", "registered_by_a_test"]
