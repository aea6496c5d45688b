"""No function anywhere is more complex than a reader can hold: radon's cyclomatic complexity <= 12.

`make lint` runs the same check (`scripts/complexity.py`); this states the rule and proves the check can fail.
"""

from __future__ import annotations

from pathlib import Path

from scripts.complexity import LIMIT, too_complex
from scripts.sources import ROOT, python_files


def test_no_function_anywhere_is_above_the_limit() -> None:
    assert too_complex() == []


def test_a_function_with_more_branches_than_the_limit_is_reported_with_its_place(tmp_path: Path) -> None:
    branches = "\n".join(f"    if x == {n}:\n        return {n}" for n in range(LIMIT))
    (tmp_path / "tangled.py").write_text(f"def tangled(x):\n{branches}\n    return -1\n", encoding="utf-8")
    (tmp_path / "plain.py").write_text("def plain(x):\n    return x\n", encoding="utf-8")

    found = too_complex((tmp_path,), root=tmp_path)

    assert found == [f"tangled.py:1 tangled ({LIMIT + 1})"]


def test_the_gates_read_every_package_and_nothing_in_environments_or_build_output() -> None:
    read = {path.relative_to(ROOT).as_posix() for path in python_files()}
    packages = {
        "layers/shared/taskcore/__init__.py",
        "functions/scheduler/scheduler_app/__init__.py",
        "functions/callback/callback_app/__init__.py",
        "localcloud/__init__.py",
        "console/__init__.py",
        "clients/python/src/taskclient/__init__.py",
        "scripts/__init__.py",
        "tests/conftest.py",
        "bench/__init__.py",
    }

    assert packages <= read
    assert not any(part.startswith(".") for name in read for part in name.split("/"))
    assert not any(name.startswith(("build/", "dist/", "bench/results/")) for name in read)


def test_build_output_anywhere_is_not_source(tmp_path: Path) -> None:
    # e.g. clients/python/build/lib/, which an editable install of the client may leave behind
    for directory in ("pkg", "clients/python/build/lib/pkg", "dist", "pkg/.hidden", "pkg/__pycache__"):
        (tmp_path / directory).mkdir(parents=True, exist_ok=True)
        (tmp_path / directory / "m.py").write_text("x = 1\n", encoding="utf-8")

    assert [p.relative_to(tmp_path).as_posix() for p in python_files(tmp_path)] == ["pkg/m.py"]
