"""The first-party packages are installed into .venv (`make install`), never put on `sys.path` by hand.

The only `sys.path` edits left imitate Lambda's layout on purpose (a function's code, then its layer,
as /var/task and /opt/python): the local cloud's execution environments and the bench's per-variant
runner. (The built-artifact test does the same in the script it runs under python3.13.)
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

from scripts.sources import ROOT, python_files

#: Each imitates Lambda's layout in the process it starts.
LAMBDA_LAYOUT = {"localcloud/environments.py", "bench/runner.py"}

#: The top-level packages `make install` makes importable (taskclient: its own distribution, clients/python).
PACKAGES = ("taskcore", "scheduler_app", "callback_app", "localcloud", "console", "taskclient")


#: The list methods that change it.
MUTATORS = frozenset({"insert", "append", "extend", "remove", "pop", "clear"})


def _is_sys_path(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "path" and ast.unparse(node.value) == "sys"


def _assigned(node: ast.AST) -> list[ast.expr]:
    if isinstance(node, ast.Assign):
        return node.targets
    return [node.target] if isinstance(node, ast.AugAssign) else []


def path_edits(source: str) -> list[int]:
    """The lines that change `sys.path`: a call of one of its mutators, or an assignment to it or to a slice of it."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        func = node.func if isinstance(node, ast.Call) else None
        if isinstance(func, ast.Attribute) and func.attr in MUTATORS and _is_sys_path(func.value):
            lines.append(func.lineno)
        for target in _assigned(node):
            if _is_sys_path(target) or (isinstance(target, ast.Subscript) and _is_sys_path(target.value)):
                lines.append(target.lineno)
    return sorted(lines)


def test_only_the_code_that_imitates_lambdas_layout_edits_sys_path() -> None:
    edits = {}
    for path in python_files():
        if lines := path_edits(path.read_text(encoding="utf-8")):
            edits[path.relative_to(ROOT).as_posix()] = lines

    assert set(edits) == LAMBDA_LAYOUT, edits


def test_a_sys_path_edit_is_found_however_it_is_written() -> None:
    source = "\n".join(
        [
            "import sys",
            "sys.path.insert(0, 'a')",
            "sys.path.append('b')",
            "sys.path[:0] = ['c']",
            "sys.path += ['d']",
            "sys.path = ['e']",
            "print(sys.path, len(sys.path))",
            "paths = sys.path[:]",
            "where = sys.path.index('a')",
        ]
    )

    assert path_edits(source) == [2, 3, 4, 5, 6]


def test_every_first_party_package_is_importable_from_anywhere_without_pythonpath(tmp_path: Path) -> None:
    # -I: no PYTHONPATH, no user site, and not the current directory: only what .venv has installed.
    script = f"import importlib\nfor name in {PACKAGES!r}:\n    print(importlib.import_module(name).__file__)"
    run = subprocess.run(  # noqa: S603 - this interpreter, fixed arguments
        [sys.executable, "-I", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )

    assert run.returncode == 0, run.stderr
    found = [Path(line) for line in run.stdout.splitlines()]
    assert len(found) == len(PACKAGES)
    assert all(path.is_relative_to(ROOT) for path in found), found  # this checkout's code, editable


def test_pytest_adds_at_most_the_repository_root_for_the_tests_package() -> None:
    options = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["pytest"]["ini_options"]

    assert options.get("pythonpath", []) in ([], ["."])
