"""Artifact sizes, unzipped and zipped, against Lambda's deployment package limits."""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Collection
from pathlib import Path
from typing import Any

MIB = 1024 * 1024
#: Lambda quotas: function plus all its layers, unzipped; a zip uploaded directly.
UNZIPPED_LIMIT = 250 * MIB
ZIPPED_LIMIT = 50 * MIB


def source_of(pyc: Path) -> Path:
    """`pkg/__pycache__/mod.cpython-313.pyc` -> `pkg/mod.py`."""
    return pyc.parent.parent / f"{pyc.name.split('.', 1)[0]}.py"


def _keep(path: Path, root: Path, bytecode: bool | Collection[str]) -> bool:
    if "__pycache__" not in path.parts and path.suffix != ".pyc":
        return True
    if isinstance(bytecode, bool):
        return bytecode
    return source_of(path).relative_to(root).as_posix() in bytecode


def measure(root: Path, *, prefix: str = "", bytecode: bool | Collection[str] = True) -> dict[str, Any]:
    """Bytes of the files under `root` and of their zip (deflate, as `sam deploy` zips), plus the zipped
    bytes per top-level package, largest first. `prefix` is the path inside the zip (a layer's files
    sit under `python/`); `bytecode` keeps all .pyc files, none, or those of the given sources
    (paths relative to `root`)."""
    files = sorted(p for p in root.rglob("*") if p.is_file() and _keep(p, root, bytecode))
    unzipped = sum(p.stat().st_size for p in files)
    by_package: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="bench-zip-") as tmp:
        archive = Path(tmp) / "artifact.zip"
        with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for path in files:
                zf.write(path, os.path.join(prefix, path.relative_to(root).as_posix()))
        zipped = archive.stat().st_size
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                top = info.filename.removeprefix(f"{prefix}/").split("/", 1)[0]
                by_package[top] = by_package.get(top, 0) + info.compress_size
    return {
        "files": len(files),
        "unzipped_bytes": unzipped,
        "zipped_bytes": zipped,
        "zipped_by_package": dict(sorted(by_package.items(), key=lambda kv: -kv[1])),
    }
