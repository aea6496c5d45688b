"""Fail when a function anywhere in the repository is too complex to read in a minute (radon's cyclomatic complexity).

    .venv/bin/python -m scripts.complexity            # `make lint` runs it

The limit is 12 (radon's rank C starts at 11; 12 leaves room for one more branch). Every Python file
is held to it (scripts/sources.py finds them): the functions, the layer, the local cloud, the
console, the client, the scripts and the tests.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from radon.complexity import cc_visit

from scripts.sources import ROOT, python_files

LIMIT = 12


def too_complex(paths: Iterable[Path] = (ROOT,), limit: int = LIMIT, root: Path = ROOT) -> list[str]:
    """`file:line name (complexity)` of every function or method above `limit` under `paths`, relative to `root`."""
    found = []
    for top in paths:
        for path in python_files(top):
            for block in cc_visit(path.read_text(encoding="utf-8")):
                for item in (block, *getattr(block, "methods", ())):
                    if item.complexity > limit:
                        where = path.relative_to(root).as_posix()
                        found.append(f"{where}:{item.lineno} {item.fullname} ({item.complexity})")
    return sorted(set(found))


def main() -> int:
    """Print the offenders; exit 1 when there is any."""
    offenders = too_complex()
    for line in offenders:
        print(f"too complex (> {LIMIT}): {line}")
    return 1 if offenders else 0


if __name__ == "__main__":
    raise SystemExit(main())
