"""The code in docs/adding-an-action.md works as printed."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from localcloud.template import ROOT
from taskcore.registry import TaskContext, TaskRejected, registry


@pytest.fixture
def documented_action() -> Iterator[None]:
    text = (ROOT / "docs" / "adding-an-action.md").read_text(encoding="utf-8")
    source = re.search(r"```python\n(# layers/shared/taskcore/actions/.*?)```", text, re.S)
    assert source is not None, "the example action is missing from docs/adding-an-action.md"
    # Someone who followed the page has this action in the package already: put theirs back afterwards.
    theirs = registry.get("expire_coupon") if "expire_coupon" in registry else None
    registry.unregister("expire_coupon")
    exec(compile(source.group(1), "adding-an-action.md", "exec"), {"__name__": "taskcore.actions.expire_coupon"})  # noqa: S102
    yield
    registry.unregister("expire_coupon")
    if theirs is not None:
        registry.action(theirs.name, theirs.model, description=theirs.description)(theirs.run)


def test_the_documented_action_registers_and_runs(documented_action):
    action = registry.get("expire_coupon")
    task = TaskContext(task_id="t", user_id=1, action="expire_coupon")

    assert action.run(action.parse({"coupon_id": "c-1"}), task) == {"coupon_id": "c-1", "status": "expired"}
    with pytest.raises(TaskRejected):
        action.run(action.parse({"coupon_id": "legacy-1"}), task)
