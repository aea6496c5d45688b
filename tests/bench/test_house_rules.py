"""The benchmark is held to the house rules: no function above the complexity limit, no module above 400 lines.

On the harness and the peers, not on bench/.build/ (what it builds: the layer's packages).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from localcloud.template import ROOT
from scripts.complexity import LIMIT, too_complex

BENCH = ROOT / "bench"
MAX_MODULE_LINES = 400


def sources() -> list[Path]:
    return sorted(BENCH.glob("*.py")) + sorted((BENCH / "baselines").rglob("*.py"))


def test_no_function_of_the_benchmark_is_above_the_complexity_limit(tmp_path: Path) -> None:
    # scripts/complexity.py's own check, on a copy of the sources without bench/.build/.
    for path in sources():
        copy = tmp_path / path.relative_to(BENCH)
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, copy)

    assert (tmp_path / "run.py").is_file()
    assert too_complex((tmp_path,), LIMIT, tmp_path) == []


def test_no_module_of_the_benchmark_is_above_400_lines() -> None:
    lengths = {
        path.relative_to(BENCH).as_posix(): len(path.read_text(encoding="utf-8").splitlines()) for path in sources()
    }

    assert "run.py" in lengths
    assert {name: n for name, n in lengths.items() if n > MAX_MODULE_LINES} == {}
