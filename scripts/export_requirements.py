"""Export each deployable's requirements.txt from the one lock file (uv.lock), or check for drift.

    python scripts/export_requirements.py --write   # after `uv lock` (make lock does both)
    python scripts/export_requirements.py --check   # make lint / CI: fails when a file is stale

`sam build` installs layers/shared/requirements.txt into the layer and each function's own file
into its artifact. boto3 is not exported: the Lambda python3.13 runtime provides it.
"""

from __future__ import annotations

import argparse
import difflib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UV = Path(os.environ.get("UV", ROOT / ".tools" / "uv" / "bin" / "uv"))

#: dependency group in pyproject.toml -> the requirements file `sam build` reads.
TARGETS = {
    "layer": ROOT / "layers" / "shared" / "requirements.txt",
    "callback": ROOT / "functions" / "callback" / "requirements.txt",
    "scheduler": ROOT / "functions" / "scheduler" / "requirements.txt",
}

#: The Lambda python3.13 runtime ships boto3; packaging it again would add 17 MB (zipped) to the layer.
#: Nothing in the layer may depend on these: pip's hash-checking mode (sam build) refuses unlisted deps.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer")

HEADER = "# Exported from uv.lock by scripts/export_requirements.py (dependency group: {group}). Do not edit.\n"


def export(group: str) -> str:
    """The requirements text of one dependency group, pinned with hashes from uv.lock."""
    out = subprocess.run(
        [
            str(UV),
            "export",
            "--frozen",
            "--only-group",
            group,
            "--no-emit-project",
            *(arg for pkg in RUNTIME_PROVIDED for arg in ("--no-emit-package", pkg)),
            "--no-header",
            "--no-annotate",
            "--format",
            "requirements-txt",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return HEADER.format(group=group) + out


def main(argv: list[str] | None = None) -> int:
    """Write or check every target; exit 1 on drift."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true")
    mode.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    stale = []
    for group, path in TARGETS.items():
        wanted = export(group)
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current == wanted:
            continue
        if args.write:
            path.write_text(wanted, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
        else:
            stale.append(path)
            sys.stdout.writelines(
                difflib.unified_diff(
                    current.splitlines(True), wanted.splitlines(True), str(path.relative_to(ROOT)), "uv.lock"
                )
            )
    if stale:
        print(f"\n{len(stale)} requirements file(s) drifted from uv.lock: run `make lock`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
