"""docs/testing.md is followed verbatim: its code blocks, in order, make one test module whose every test passes."""

from __future__ import annotations

import inspect
import re
import types
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from localcloud.taskkit import TaskCloud
from localcloud.template import ROOT
from taskcore.registry import registry

pytestmark = pytest.mark.integration

DOC = ROOT / "docs" / "testing.md"


def code_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


@pytest.fixture(scope="module")
def page() -> Iterator[types.ModuleType]:
    """The page's code as the test module a reader would write (its own actions registered while it lives)."""
    before = set(registry.names())
    module = types.ModuleType("test_from_testing_md")
    exec(compile("\n\n".join(code_blocks()), str(DOC), "exec"), module.__dict__)  # noqa: S102 - the docs' own code
    yield module
    for name in set(registry.names()) - before:
        registry.unregister(name)


def page_tests() -> list[str]:
    return re.findall(r"^def (test_\w+)", "\n".join(code_blocks()), re.M)


def test_every_example_action_has_a_worked_test_on_the_page() -> None:
    source = "\n".join(code_blocks())
    actions = (ROOT / "layers/shared/taskcore/actions").glob("*.py")
    shipped = sorted(p.stem for p in actions if not p.stem.startswith("_"))
    assert shipped, "no example actions found"
    assert [name for name in shipped if f'"{name}"' not in source] == []
    assert len(page_tests()) >= len(shipped)


@pytest.mark.parametrize("name", page_tests())
def test_the_page_runs_as_printed(page: types.ModuleType, name: str) -> None:
    """Each test of the page, given the fixture as pytest gives it (its `@pytest.mark.task_cloud` options)."""
    function: Callable[..., Any] = getattr(page, name)
    assert list(inspect.signature(function).parameters) == ["task_cloud"]
    options: dict[str, Any] = {}
    for mark in getattr(function, "pytestmark", []):
        if mark.name == "task_cloud":
            options.update(mark.kwargs)
    with TaskCloud(**options) as task_cloud:
        function(task_cloud)


def test_adding_an_action_pages_task_cloud_example_runs_as_printed() -> None:
    text = (ROOT / "docs" / "adding-an-action.md").read_text(encoding="utf-8")
    action_source = re.search(r"```python\n(# layers/shared/taskcore/actions/.*?)```", text, re.S)
    example = re.search(r"```python\n(def test_expire_coupon_runs_at_its_time.*?)```", text, re.S)
    assert action_source is not None, "docs/adding-an-action.md lost its example action"
    assert example is not None, "docs/adding-an-action.md lost its task_cloud example"
    theirs = registry.get("expire_coupon") if "expire_coupon" in registry else None
    registry.unregister("expire_coupon")
    namespace: dict[str, Any] = {"__name__": "taskcore.actions.expire_coupon", "timedelta": timedelta}
    try:
        exec(compile(action_source.group(1) + "\n" + example.group(1), "adding-an-action.md", "exec"), namespace)  # noqa: S102
        with TaskCloud() as task_cloud:
            namespace["test_expire_coupon_runs_at_its_time"](task_cloud)
    finally:
        registry.unregister("expire_coupon")
        if theirs is not None:
            registry.action(theirs.name, theirs.model, description=theirs.description)(theirs.run)
