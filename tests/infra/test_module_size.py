"""No module anywhere is longer than a reader can keep in mind: at most 400 lines, tests included.

Every Python file of the repository is checked (scripts/sources.py finds them), so a new package is
held to it the day it lands.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from scripts.sources import ROOT, python_files

LIMIT = 400


def line_count(path: Path) -> int:
    """The module's length as `wc -l` counts it (a last line without a newline counts too)."""
    return len(path.read_text(encoding="utf-8").splitlines())


def too_long(paths: Iterable[Path] = (ROOT,), limit: int = LIMIT, root: Path = ROOT) -> list[str]:
    """`file (lines)` of every module under `paths` longer than `limit`, relative to `root`."""
    return [
        f"{path.relative_to(root).as_posix()} ({count})"
        for top in paths
        for path in python_files(top)
        if (count := line_count(path)) > limit
    ]


def test_no_module_anywhere_is_above_the_limit() -> None:
    assert too_long() == []


def test_a_module_longer_than_the_limit_is_reported_with_its_length(tmp_path: Path) -> None:
    (tmp_path / "long.py").write_text("x = 1\n" * (LIMIT + 1), encoding="utf-8")
    (tmp_path / "short.py").write_text("x = 1\n" * LIMIT, encoding="utf-8")

    assert too_long((tmp_path,), root=tmp_path) == [f"long.py ({LIMIT + 1})"]
