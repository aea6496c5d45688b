"""Every test has a time limit: a hang (a deadlock, a server that never answers) fails with a stack, never stalls CI."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from localcloud.template import ROOT

#: A test that deadlocks: two threads take two locks in opposite orders (what once hung `make test`).
DEADLOCK = """
import threading

def test_two_locks_taken_in_both_orders():
    first, second = threading.Lock(), threading.Lock()
    holding = threading.Barrier(2)

    def take(a, b):
        with a:
            holding.wait()
            with b:
                pass

    other = threading.Thread(target=take, args=(second, first), daemon=True)
    other.start()
    take(first, second)
"""


def pytest_config() -> dict[str, object]:
    config: dict[str, object] = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    return config


def test_every_test_has_a_default_timeout_that_prints_the_stacks_of_all_threads() -> None:
    config = pytest_config()

    assert isinstance(config["timeout"], int)
    assert 0 < config["timeout"] <= 300
    assert config["timeout_method"] == "thread"  # the signal method cannot interrupt a thread blocked on a lock


def test_a_deadlocked_test_fails_with_every_threads_stack_instead_of_hanging(tmp_path: Path) -> None:
    test_file = tmp_path / "test_hang.py"
    test_file.write_text(DEADLOCK)

    command = [sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(ROOT)]
    result = subprocess.run(  # noqa: S603 - this interpreter's pytest on a file the test wrote
        [*command, "-p", "no:cacheprovider", "-p", "no:xdist", "-o", "timeout=2", str(test_file)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )

    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Timeout" in output
    assert output.count("Stack of") >= 2  # both deadlocked threads, each where it waits
    assert "in take" in output
