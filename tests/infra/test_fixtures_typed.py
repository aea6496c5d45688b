"""Every pytest fixture of the suite says what it takes and what it gives (mypy then checks its body)."""

from __future__ import annotations

import ast

from localcloud.template import ROOT


def untyped_fixtures() -> list[str]:
    found = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if not any(ast.unparse(d).startswith(("pytest.fixture", "fixture")) for d in node.decorator_list):
                continue
            arguments = [a for a in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs) if a.arg != "self"]
            if node.returns is None or any(a.annotation is None for a in arguments):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    return found


def test_every_fixture_is_annotated() -> None:
    assert untyped_fixtures() == []
