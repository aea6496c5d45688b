"""`taskcore` declares its public contract in `__all__`: each name importable from the package, loaded on first use."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import taskcore

ACTIONS = Path(taskcore.__file__).parent / "actions"


@pytest.mark.parametrize("name", taskcore.__all__)
def test_each_public_name_is_importable_from_the_package(name: str) -> None:
    value = getattr(taskcore, name)

    assert value is getattr(sys.modules[taskcore._HOMES[name]], name)
    if inspect.isclass(value) or inspect.isfunction(value):
        assert value.__module__ == taskcore._HOMES[name]


def test_the_public_names_and_their_homes_are_the_same_list() -> None:
    assert sorted(taskcore.__all__) == sorted(taskcore._HOMES)
    assert set(taskcore.__all__) <= set(dir(taskcore))


def test_a_name_outside_the_contract_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'aws_client'"):
        _ = taskcore.aws_client


def test_importing_the_package_loads_nothing_else() -> None:
    probe = (
        "import sys, taskcore; "
        "print(sorted(m for m in sys.modules if m.startswith(('taskcore.', 'pydantic', 'boto3', 'botocore'))))"
    )
    result = subprocess.run(  # noqa: S603 - this interpreter, with a fixed program
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": ":".join(sys.path)},
    )

    assert result.stdout.strip() == "[]"


def test_the_shipped_actions_import_only_the_public_contract() -> None:
    for module in sorted(ACTIONS.glob("*.py")):
        imports = [line for line in module.read_text(encoding="utf-8").splitlines() if "taskcore" in line]
        statements = [line.strip() for line in imports if "import" in line]
        assert all(line.startswith("from taskcore import ") for line in statements), module.name
