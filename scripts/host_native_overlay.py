"""Install this host's builds of the packages whose native code in a built layer is for another CPU.

    python scripts/host_native_overlay.py .aws-sam/build/SharedLayer/python DEST

The layer is built for Lambda's arm64; this machine may be x86_64. Pure-Python files and our
precompiled bytecode run anywhere, but a `.so` does not: the built-artifact test puts DEST (these
packages, same versions, for this host) ahead of the layer on sys.path and runs everything else
exactly as built. Prints the packages it installed.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UV = Path(os.environ.get("UV", ROOT / ".tools" / "uv" / "bin" / "uv"))

#: ELF e_machine values.
MACHINES = {0x3E: "x86_64", 0xB7: "aarch64"}


def elf_machine(path: Path) -> str | None:
    """The CPU a shared object was built for, from its ELF header."""
    header = path.read_bytes()[:20]
    if header[:4] != b"\x7fELF":
        return None
    return MACHINES.get(int.from_bytes(header[18:20], "little"), "other")


def foreign_distributions(site: Path) -> set[str]:
    """`name==version` of each distribution in `site` that ships a shared object for another CPU."""
    host = platform.machine()
    found = set()
    for record in site.glob("*.dist-info/RECORD"):
        files = [line.split(",", 1)[0] for line in record.read_text(encoding="utf-8").splitlines()]
        if any(f.endswith(".so") and elf_machine(site / f) not in (None, host) for f in files if (site / f).exists()):
            name, version = record.parent.name.removesuffix(".dist-info").rsplit("-", 1)
            found.add(f"{name}=={version}")
    return found


def main(argv: list[str]) -> int:
    """Install the host builds of the foreign distributions into DEST."""
    site, dest = Path(argv[0]), Path(argv[1])
    wanted = sorted(foreign_distributions(site))
    if wanted:
        subprocess.run(
            [
                str(UV),
                "pip",
                "install",
                "--quiet",
                "--no-deps",
                "--python",
                sys.executable,
                "--target",
                str(dest),
                *wanted,
            ],
            check=True,
        )
    dest.mkdir(parents=True, exist_ok=True)
    print(" ".join(wanted) or "(nothing foreign)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
