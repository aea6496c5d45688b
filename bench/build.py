"""Build the artifacts the benchmark measures, under bench/.build/, the way each one is deployed.

- ``runtime``: boto3 and its dependencies, precompiled, standing in for the copy the Lambda
  python3.13 runtime provides (the runtime image ships it with bytecode).
- ``guide``: the guide's packaging, ``pip install -r requirements.txt -t package/`` plus
  ``lambda_handler.py``, no bytecode.
- ``layer-sam`` / ``callback-sam``: what ``sam build`` ships for the shared layer (``/opt/python``)
  and the callback function: requirements installed, sources copied, no bytecode.
- ``layer`` / ``callback`` / ``scheduler``: the same plus our build step, ``compileall`` with
  ``--invalidation-mode unchecked-hash`` (timestamps do not survive a zip, hashes need no check).
- ``resolver`` and ``bare``: the two other baselines, built like ours.
- ``layer-arm64``: the layer with arm64 wheels, for the sizes Lambda (arm64) actually receives.

Dependencies are installed for this host (x86_64) so that the timings are of code that runs here.
Each artifact is rebuilt only when its inputs change (a stamp of their hashes).
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
BUILD = ROOT / "bench" / ".build"
BASELINES = ROOT / "bench" / "baselines"
UV = Path(os.environ.get("UV", ROOT / ".tools" / "uv" / "bin" / "uv"))

LAYER_SRC = ROOT / "layers" / "shared"
CALLBACK_SRC = ROOT / "functions" / "callback"
SCHEDULER_SRC = ROOT / "functions" / "scheduler"

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
    found = subprocess.run([str(ROOT / "scripts" / "find-python313.sh")], capture_output=True, text=True).stdout
    if found.strip():
        return found.strip()
    if sys.version_info[:2] == (3, 13):
        return sys.executable
    raise SystemExit("bench: python3.13 (the Lambda runtime) is required; scripts/find-python313.sh found none")


def _files(paths: Iterable[Path]) -> Iterable[Path]:
    for path in paths:
        if path.is_file():
            yield path
        elif path.is_dir():
            yield from sorted(
                p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
            )


def fingerprint(inputs: Iterable[Path], *extra: str) -> str:
    """A hash of the inputs' relative paths and contents, plus `extra` strings (commands, versions)."""
    digest = hashlib.sha256()
    for path in _files(inputs):
        digest.update(str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path).encode())
        digest.update(path.read_bytes())
    for item in extra:
        digest.update(item.encode())
    return digest.hexdigest()


def _cached(target: Path, stamp: str, build: Callable[[Path], None], log: Callable[[str], None]) -> Path:
    """`target`, rebuilt by `build` unless its stamp file says it was built from the same inputs."""
    marker = target.parent / f".{target.name}.stamp"
    if target.is_dir() and marker.is_file() and marker.read_text() == stamp:
        return target
    log(f"building {target.relative_to(ROOT)}")
    shutil.rmtree(target, ignore_errors=True)
    marker.unlink(missing_ok=True)
    target.mkdir(parents=True)
    build(target)
    marker.write_text(stamp)
    return target


def _uv_install(py: str, target: Path, *args: str) -> None:
    subprocess.run(
        [str(UV), "pip", "install", "--quiet", "--link-mode", "copy", "--target", str(target), "--python", py, *args],
        check=True,
        cwd=ROOT,
    )


def compile_tree(py: str, directory: Path) -> None:
    """Our build step: bytecode next to every source, checked by hash only if ever (unchecked-hash)."""
    subprocess.run(
        [py, "-m", "compileall", "-q", "-f", "-j", "0", "--invalidation-mode", "unchecked-hash", str(directory)],
        check=True,
    )


def _copy_into(src: Path, dest: Path) -> None:
    shutil.copytree(src, dest, ignore=_IGNORE, dirs_exist_ok=True)


def runtime_pins() -> list[str]:
    """boto3 and friends pinned to the locked dev versions (the bench runs in the project's venv)."""
    return [f"{name}=={importlib.metadata.version(name)}" for name in RUNTIME_PACKAGES]


def build(py: str | None = None, *, log: Callable[[str], None] = lambda m: print(f"bench: {m}")) -> Artifacts:
    """Build (or reuse) every artifact and return where they are."""
    py = py or python313()
    version = subprocess.run([py, "-c", "import sys; print(sys.version)"], capture_output=True, text=True).stdout
    layer_req = LAYER_SRC / "requirements.txt"
    guide_dir = BASELINES / "guide_callback"

    def step(name: str, inputs: list[Path], fn: Callable[[Path], None], *extra: str) -> Path:
        return _cached(BUILD / name, fingerprint(inputs, version, *extra), fn, log)

    pins = runtime_pins()
    runtime = step("runtime", [], lambda d: _uv_install(py, d, "--compile-bytecode", *pins), *pins)

    def guide_build(d: Path) -> None:
        # pip install -r requirements.txt -t package/, at the layer's locked versions (constraints).
        _uv_install(py, d, "-r", str(guide_dir / "requirements.txt"), "-c", str(layer_req))
        shutil.copy2(guide_dir / "lambda_handler.py", d / "lambda_handler.py")

    guide = step("guide", [guide_dir, layer_req], guide_build)

    def layer_sam_build(d: Path) -> None:
        # The exported file pins every dependency except what the runtime provides (boto3, botocore,
        # jmespath, ...); --no-deps keeps those out, as the export intends (aws-xray-sdk and
        # Powertools declare botocore/jmespath, which would otherwise land in the layer a second time).
        _uv_install(py, d / "python", "--no-deps", "-r", str(layer_req))
        _copy_into(LAYER_SRC / "taskcore", d / "python" / "taskcore")

    layer_sam = step("layer-sam", [LAYER_SRC], layer_sam_build, "no-deps")
    callback_sam = step("callback-sam", [CALLBACK_SRC], lambda d: _copy_into(CALLBACK_SRC, d))

    def compiled_copy(src: Path) -> Callable[[Path], None]:
        def make(d: Path) -> None:
            _copy_into(src, d)
            compile_tree(py, d)

        return make

    guide_compiled = step("guide-compiled", [guide], compiled_copy(guide), "compiled")
    layer = step("layer", [layer_sam], compiled_copy(layer_sam), "compiled")
    callback = step("callback", [CALLBACK_SRC], compiled_copy(CALLBACK_SRC), "compiled")
    scheduler = step("scheduler", [SCHEDULER_SRC], compiled_copy(SCHEDULER_SRC), "compiled")

    def resolver_build(d: Path) -> None:
        # Same service code as ours (callback_app.service), a different front door.
        _copy_into(BASELINES / "powertools_resolver", d)
        _copy_into(CALLBACK_SRC / "callback_app", d / "callback_app")
        compile_tree(py, d)

    resolver = step("resolver", [BASELINES / "powertools_resolver", CALLBACK_SRC], resolver_build)
    bare = step("bare", [BASELINES / "bare"], compiled_copy(BASELINES / "bare"))

    def layer_arm64_build(d: Path) -> None:
        _uv_install(
            py,
            d / "python",
            *("--python-platform", ARM64_PLATFORM, "--python-version", "3.13", "--no-deps", "-r", str(layer_req)),
        )
        _copy_into(LAYER_SRC / "taskcore", d / "python" / "taskcore")
        compile_tree(py, d)

    layer_arm64 = step("layer-arm64", [LAYER_SRC], layer_arm64_build, ARM64_PLATFORM, "no-deps")
    return Artifacts(
        runtime=runtime,
        guide=guide,
        guide_compiled=guide_compiled,
        layer_sam=layer_sam / "python",
        callback_sam=callback_sam,
        layer=layer / "python",
        callback=callback,
        scheduler=scheduler,
        resolver=resolver,
        bare=bare,
        layer_arm64=layer_arm64 / "python",
    )


if __name__ == "__main__":
    print(build())
