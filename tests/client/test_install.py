"""`pip install ./clients/python` (and from a git URL with `#subdirectory=clients/python`) into a fresh virtual
environment brings the client and what it needs, and nothing of the server: no FastAPI, Mangum, Powertools or moto.

The project's own uv installs it, constrained to the versions the dev environment already has, so it runs from
uv's cache without a network when it can (offline), and from the registry when the cache lacks something.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from localcloud.template import ROOT

pytestmark = pytest.mark.integration

UV = Path(os.environ.get("UV", ROOT / ".tools" / "uv" / "bin" / "uv"))
SERVER_ONLY = {"fastapi", "starlette", "mangum", "aws-lambda-powertools", "moto", "pydantic-settings"}
NEEDED = {"httpx", "botocore", "pydantic"}
CHECK_IMPORT = (
    "import sys, taskclient\n"
    "from taskclient import TaskClient, AsyncTaskClient, TaskConflict, TaskNotFound, InvalidTask\n"
    "loaded = {'fastapi', 'starlette', 'mangum', 'aws_lambda_powertools', 'moto'} & set(sys.modules)\n"
    "assert not loaded, loaded\n"
    "TaskClient('http://127.0.0.1:3000').close()\n"
    "print(taskclient.__version__)\n"
)


def uv(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    command = [str(UV), *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)  # noqa: S603 - the project's uv


@pytest.fixture(scope="module")
def constraints(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The dev environment's versions (uv's cache has them), as pins for the fresh installs."""
    frozen = uv("pip", "freeze", "--python", sys.executable)
    assert frozen.returncode == 0, frozen.stderr
    pins = [line for line in frozen.stdout.splitlines() if "==" in line and not line.startswith(("-e", "taskclient"))]
    path = tmp_path_factory.mktemp("pins") / "constraints.txt"
    path.write_text("\n".join(pins) + "\n", encoding="utf-8")
    return path


def install(venv: Path, requirement: str, constraints: Path) -> list[str]:
    """Install `requirement` into a new virtual environment at `venv`; its packages' names."""
    made = uv("venv", str(venv), "--python", sys.executable, "--quiet")
    assert made.returncode == 0, made.stderr
    python = str(venv / "bin" / "python")
    common = ("pip", "install", "--python", python, "--constraint", str(constraints), requirement)
    done = uv(*common, "--offline")
    if done.returncode != 0:  # something is not in uv's cache yet: from the registry
        done = uv(*common)
    assert done.returncode == 0, done.stderr
    listed = uv("pip", "freeze", "--python", python)
    assert listed.returncode == 0, listed.stderr
    return [line.split("==")[0].split(" @ ")[0].lower() for line in listed.stdout.splitlines()]


def imports_alone(venv: Path) -> str:
    done = subprocess.run(  # noqa: S603 - the fresh environment's interpreter, our code
        [str(venv / "bin" / "python"), "-c", CHECK_IMPORT],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")},  # noqa: S108
        cwd=venv,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_package_installs_alone_with_only_what_it_needs(tmp_path: Path, constraints: Path) -> None:
    packages = install(tmp_path / "venv", str(ROOT / "clients" / "python"), constraints)

    assert "taskclient" in packages
    assert packages_named(packages, NEEDED) == NEEDED
    assert packages_named(packages, SERVER_ONLY) == set()
    assert imports_alone(tmp_path / "venv") == "0.1.0"


def test_the_package_installs_from_a_git_url_with_its_subdirectory(tmp_path: Path, constraints: Path) -> None:
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True)  # noqa: S607
    url = f"taskclient @ git+file://{ROOT}@{head.stdout.strip()}#subdirectory=clients/python"

    packages = install(tmp_path / "venv", url, constraints)

    assert "taskclient" in packages
    assert packages_named(packages, SERVER_ONLY) == set()
    assert imports_alone(tmp_path / "venv") == "0.1.0"


def packages_named(packages: list[str], names: set[str]) -> set[str]:
    return {name for name in names if name in packages}
