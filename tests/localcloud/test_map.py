"""docs/local-cloud.md's map of one schedule's path names modules, classes and functions that exist.

A rename that leaves the map behind fails here: every `module.py` it names is a file, and every
`Class.method`, `function()` or `_private` name it gives is defined (or, for an attribute, assigned)
in the code it runs.
"""

from __future__ import annotations

import re

from localcloud.template import ROOT

SOURCES = (ROOT / "localcloud", ROOT / "ops", ROOT / "functions", ROOT / "layers" / "shared" / "taskcore")
#: `Runtime.ExitError`, `Sandbox.Timedout`: Lambda's error types, which the map quotes.
ERROR_TYPES = {"Runtime", "Sandbox"}


def map_text() -> str:
    """The two diagrams of the section "The path of one schedule"."""
    doc = (ROOT / "docs" / "local-cloud.md").read_text(encoding="utf-8")
    section = doc.split("### The path of one schedule", 1)[1].split("\n### ", 1)[0]
    blocks = re.findall(r"```\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 2, "the map is a diagram of the path and one of the failure branches"
    return "\n".join(blocks)


def definitions() -> set[str]:
    """Every class, function, method and instance attribute defined in the code the local cloud runs."""
    names: set[str] = set()
    for root in SOURCES:
        for path in root.rglob("*.py"):
            source = path.read_text("utf-8")
            names.update(re.findall(r"^\s*(?:async\s+)?(?:def|class)\s+(\w+)", source, re.M))
            names.update(re.findall(r"\bself\.(\w+)\s*(?::[^=\n]+)?=", source))
    return names


def test_every_module_on_the_map_exists() -> None:
    text = map_text()
    modules = set(re.findall(r"\b((?:[\w]+/)*\w+\.py)\b", text))

    assert len(modules) >= 10
    missing = [m for m in sorted(modules) if not any(next(root.rglob(m), None) for root in SOURCES)]
    assert missing == []


def test_every_class_and_function_on_the_map_is_defined() -> None:
    text = map_text()
    named = {
        *(name for pair in re.findall(r"\b([A-Z]\w+)\.(\w+)\b", text) if pair[0] not in ERROR_TYPES for name in pair),
        *re.findall(r"\b(\w+)\(\)", text),
        *re.findall(r"(?<![\w.])(_\w+)\b", text),
    }

    assert len(named) >= 25
    assert sorted(named - definitions()) == []
