"""Artifact sizes, unzipped and zipped, against Lambda's deployment package limits."""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Collection
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.build import ROOT, Artifacts

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


def measure_sizes(art: Artifacts) -> dict[str, Any]:
    """Unzipped and zipped bytes of each artifact; the layer in its arm64 build, as deployed."""
    layer = measure(art.layer_arm64, prefix="python")
    callback, scheduler = measure(art.callback), measure(art.scheduler)
    deployables = {"callback + layer": callback, "scheduler + layer": scheduler}
    return {
        "artifacts": {
            "layer (arm64, with bytecode)": layer,
            "layer (arm64, as sam build ships it)": measure(art.layer_arm64, prefix="python", bytecode=False),
            "callback function": callback,
            "scheduler function": scheduler,
            "guide's package (x86_64, the guide's default)": measure(art.guide),
        },
        "deployables": {
            name: {k: fn[k] + layer[k] for k in ("unzipped_bytes", "zipped_bytes")} for name, fn in deployables.items()
        },
        "limits": {"unzipped_bytes": UNZIPPED_LIMIT, "zipped_bytes": ZIPPED_LIMIT},
        "sam_build": sam_build_sizes(),
    }


def sam_build_sizes(root: Path = ROOT / ".aws-sam" / "build") -> dict[str, Any] | None:
    """The sizes of `.aws-sam/build` (scripts/build.sh: `sam build` + bytecode), when one exists here: a
    cross-check, with its date (the benchmark does not build it: that needs the SAM CLI)."""
    names = ("SharedLayer", "CallbackFunction", "SchedulerFunction")
    if not all((root / name).is_dir() for name in names):
        return None
    built = datetime.fromtimestamp((root / "SharedLayer").stat().st_mtime, UTC).isoformat(timespec="minutes")
    figures = {name: measure(root / name) for name in names}
    return {
        "built_at": built,
        "artifacts": {n: {k: v for k, v in f.items() if k != "zipped_by_package"} for n, f in figures.items()},
    }


def selective_bytecode_size(art: Artifacts, imported: set[str]) -> dict[str, Any] | None:
    """The arm64 layer's size with bytecode only for the modules the two functions imported."""
    if not imported:
        return None
    fig = measure(art.layer_arm64, prefix="python", bytecode=imported)
    del fig["zipped_by_package"]
    return fig | {"compiled_modules": len(imported)}
