"""Fail when a function in the product's code is too complex to read in a minute (radon's cyclomatic complexity).

    .venv/bin/python scripts/complexity.py            # `make lint` runs it

The limit is 12 (radon's rank C starts at 11; 12 leaves room for one more branch). Tests, the
benchmark and the scripts are not held to it.
"""

from __future__ import annotations

from pathlib import Path

from radon.complexity import cc_visit

ROOT = Path(__file__).resolve().parent.parent
CHECKED = (
    ROOT / "functions",
    ROOT / "layers" / "shared" / "taskcore",
    ROOT / "localcloud",
    ROOT / "ops",
    ROOT / "console",
    ROOT / "clients" / "python" / "src",
)
LIMIT = 12


def too_complex(paths: tuple[Path, ...] = CHECKED, limit: int = LIMIT, root: Path = ROOT) -> list[str]:
    """`file:line name (complexity)` of every function or method above `limit`, paths relative to `root`."""
    found = []
    for root in paths:
        for path in sorted(root.rglob("*.py")):
            for block in cc_visit(path.read_text(encoding="utf-8")):
                for item in (block, *getattr(block, "methods", ())):
                    if item.complexity > limit:
                        where = path.relative_to(root)
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
