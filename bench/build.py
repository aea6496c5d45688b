"""Build the artifacts the benchmark measures, under bench/.build/, the way each one is deployed.

``runtime``: boto3 and its dependencies, precompiled (the Lambda runtime image ships its copy with
bytecode). ``guide``: the guide's packaging, ``pip install -r requirements.txt -t`` plus
``lambda_handler.py``, no bytecode. ``layer-sam`` / ``callback-sam``: what ``sam build`` ships (no
bytecode); ``layer`` / ``callback`` / ``scheduler`` / ``guide-compiled``: the same plus our build step,
``compileall --invalidation-mode unchecked-hash``. ``resolver`` and ``bare``: the other peers, built
like ours. ``layer-arm64``: the layer with arm64 wheels, for the sizes Lambda (arm64) receives. The
rest is installed for this host (x86_64), so that the timings are of code that runs here. Each
artifact is rebuilt only when its inputs change (a stamp of their hashes).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD, BASELINES = ROOT / "bench" / ".build", ROOT / "bench" / "baselines"
UV = Path(os.environ.get("UV", ROOT / ".tools" / "uv" / "bin" / "uv"))
LAYER_SRC, CALLBACK_SRC, SCHEDULER_SRC = (
    ROOT / "layers" / "shared",
    ROOT / "functions" / "callback",
    ROOT / "functions" / "scheduler",
)
#: What the Lambda runtime provides, at the versions the dev environment locks (uv.lock).
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil", "six")
#: Lambda runs python3.13 on Amazon Linux 2023 (glibc 2.34); the template deploys arm64.
ARM64_PLATFORM = "aarch64-manylinux_2_34"
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".mypy_cache", ".pytest_cache")


@dataclass(frozen=True)
class Artifacts:
    """Where each built artifact lives. A layer path is the directory Lambda mounts as /opt/python."""

    runtime: Path
    guide: Path
    guide_compiled: Path
    layer_sam: Path
    callback_sam: Path
    layer: Path
    callback: Path
    scheduler: Path
    resolver: Path
    bare: Path
    layer_arm64: Path


def python313() -> str:
    """The python3.13 interpreter (the Lambda runtime's version) that builds and runs the artifacts."""
    found = subprocess.run([str(ROOT / "scripts" / "find-python313.sh")], capture_output=True, text=True).stdout.strip()
    if found or sys.version_info[:2] == (3, 13):
        return found or sys.executable
    raise SystemExit("bench: python3.13 (the Lambda runtime) is required; scripts/find-python313.sh found none")


def _sources(root: Path) -> list[Path]:
    """`root` itself if a file, else the files under it (none if it does not exist), bytecode left out."""
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    return [p for p in files if "__pycache__" not in p.parts and p.suffix != ".pyc"]


def fingerprint(inputs: Iterable[Path], *extra: str) -> str:
    """A hash of the inputs' relative paths and contents, plus `extra` strings (commands, versions)."""
    digest = hashlib.sha256()
    for path in (path for root in inputs for path in _sources(root)):
        digest.update(str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path).encode())
        digest.update(path.read_bytes())
    for item in extra:
        digest.update(item.encode())
    return digest.hexdigest()


def _uv_install(py: str, target: Path, *args: str) -> None:
    uv = [str(UV), "pip", "install", "--quiet", "--link-mode", "copy", "--target", str(target), "--python", py]
    subprocess.run([*uv, *args], check=True, cwd=ROOT)


def compile_tree(py: str, directory: Path) -> None:
    """Our build step: bytecode next to every source, checked by hash only if ever (unchecked-hash)."""
    compileall = [py, "-m", "compileall", "-q", "-f", "-j", "0", "--invalidation-mode", "unchecked-hash"]
    subprocess.run([*compileall, str(directory)], check=True)


def _copy_into(src: Path, dest: Path) -> None:
    shutil.copytree(src, dest, ignore=_IGNORE, dirs_exist_ok=True)


def build(py: str | None = None, *, log: Callable[[str], None] = lambda m: print(f"bench: {m}")) -> Artifacts:
    """Build (or reuse) every artifact and return where they are."""
    py = py or python313()
    version = subprocess.run([py, "-c", "import sys; print(sys.version)"], capture_output=True, text=True).stdout
    layer_req, guide_dir = LAYER_SRC / "requirements.txt", BASELINES / "guide_callback"

    def step(name: str, inputs: list[Path], make: Callable[[Path], None], *extra: str) -> Path:
        """`bench/.build/<name>`, rebuilt by `make` unless its stamp says it was built from the same inputs."""
        target, stamp = BUILD / name, fingerprint(inputs, version, *extra)
        marker = target.parent / f".{target.name}.stamp"
        if target.is_dir() and marker.is_file() and marker.read_text() == stamp:
            return target
        log(f"building {target.relative_to(ROOT)}")
        shutil.rmtree(target, ignore_errors=True)
        marker.unlink(missing_ok=True)
        target.mkdir(parents=True)
        make(target)
        marker.write_text(stamp)
        return target

    def compiled(*sources: tuple[Path, str]) -> Callable[[Path], None]:
        """Copy each source (into the given subdirectory), then our bytecode step."""

        def make(d: Path) -> None:
            for src, sub in sources:
                _copy_into(src, d / sub)
            compile_tree(py, d)

        return make

    def layer_build(platform: tuple[str, ...] = (), *, bytecode: bool = False) -> Callable[[Path], None]:
        # The exported file pins every dependency except what the runtime provides (boto3, botocore,
        # jmespath, ...); --no-deps keeps those out, as the export intends (aws-xray-sdk and
        # Powertools declare botocore/jmespath, which would otherwise land in the layer a second time).
        def make(d: Path) -> None:
            _uv_install(py, d / "python", *platform, "--no-deps", "-r", str(layer_req))
            _copy_into(LAYER_SRC / "taskcore", d / "python" / "taskcore")
            if bytecode:
                compile_tree(py, d)

        return make

    def guide_build(d: Path) -> None:
        # pip install -r requirements.txt -t package/, at the layer's locked versions (constraints).
        _uv_install(py, d, "-r", str(guide_dir / "requirements.txt"), "-c", str(layer_req))
        shutil.copy2(guide_dir / "lambda_handler.py", d / "lambda_handler.py")

    # boto3 and friends pinned to the locked dev versions (the bench runs in the project's venv).
    pins = [f"{name}=={importlib.metadata.version(name)}" for name in RUNTIME_PACKAGES]
    arm64 = ("--python-platform", ARM64_PLATFORM, "--python-version", "3.13")
    guide = step("guide", [guide_dir, layer_req], guide_build)
    layer_sam = step("layer-sam", [LAYER_SRC], layer_build(), "no-deps")
    resolver_sources = [BASELINES / "powertools_resolver", CALLBACK_SRC]
    return Artifacts(
        runtime=step("runtime", [], lambda d: _uv_install(py, d, "--compile-bytecode", *pins), *pins),
        guide=guide,
        guide_compiled=step("guide-compiled", [guide], compiled((guide, ".")), "compiled"),
        layer_sam=layer_sam / "python",
        callback_sam=step("callback-sam", [CALLBACK_SRC], lambda d: _copy_into(CALLBACK_SRC, d)),
        layer=step("layer", [layer_sam], compiled((layer_sam, ".")), "compiled") / "python",
        callback=step("callback", [CALLBACK_SRC], compiled((CALLBACK_SRC, ".")), "compiled"),
        scheduler=step("scheduler", [SCHEDULER_SRC], compiled((SCHEDULER_SRC, ".")), "compiled"),
        # Same service code as ours (callback_app.service), a different front door.
        resolver=step(
            "resolver",
            resolver_sources,
            compiled((resolver_sources[0], "."), (CALLBACK_SRC / "callback_app", "callback_app")),
        ),
        bare=step("bare", [BASELINES / "bare"], compiled((BASELINES / "bare", "."))),
        layer_arm64=step("layer-arm64", [LAYER_SRC], layer_build(arm64, bytecode=True), ARM64_PLATFORM, "no-deps")
        / "python",
    )
