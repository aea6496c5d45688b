"""No function in the product's code is more complex than a reader can hold: radon's cyclomatic complexity <= 12.

`make lint` runs the same check (`scripts/complexity.py`); this states the rule and proves the check can fail.
"""

from __future__ import annotations

from pathlib import Path

from scripts.complexity import LIMIT, too_complex


def test_no_function_in_the_functions_the_layer_or_the_local_cloud_is_above_the_limit() -> None:
    assert too_complex() == []


def test_a_function_with_more_branches_than_the_limit_is_reported_with_its_place(tmp_path: Path) -> None:
    branches = "\n".join(f"    if x == {n}:\n        return {n}" for n in range(LIMIT))
    (tmp_path / "tangled.py").write_text(f"def tangled(x):\n{branches}\n    return -1\n", encoding="utf-8")
    (tmp_path / "plain.py").write_text("def plain(x):\n    return x\n", encoding="utf-8")

    found = too_complex((tmp_path,), root=tmp_path)

    assert found == [f"tangled.py:1 tangled ({LIMIT + 1})"]
