"""The repository's own Python files, wherever they are: what the code-shape gates read.

`scripts/complexity.py` (complexity at most 12 per function) and tests/infra/test_module_size.py
(at most 400 lines per module) check every file this yields, so a new package is checked the day
it lands, without a list to update.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Directories that hold no code of ours: build output and reports, wherever they are (a package's own
#: `build/` too, e.g. clients/python/build), and the bench's results (hidden directories, .venv, .tools,
#: .aws-sam, bench/.build and the caches among them, are never read either).
BUILD_OUTPUT = frozenset({"build", "dist", "htmlcov"})
NOT_SOURCE = frozenset({"bench/results"})


def python_files(top: Path = ROOT) -> Iterator[Path]:
    """Every `*.py` file under `top`, in a stable order, outside hidden and build-output directories."""
    for directory, subdirectories, files in os.walk(top):
        here = Path(directory)
        subdirectories[:] = sorted(
            name
            for name in subdirectories
            if not name.startswith(".")
            and name != "__pycache__"
            and name not in BUILD_OUTPUT
            and (here / name).relative_to(top).as_posix() not in NOT_SOURCE
        )
        yield from (here / name for name in sorted(files) if name.endswith(".py"))
