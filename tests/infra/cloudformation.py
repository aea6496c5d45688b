"""The CloudFormation that AWS really creates from template.yaml, for tests to assert on.

`translated()` runs the SAM transform offline (scripts/sam_translate.py, in aws-sam-cli's own tool
environment, which `make check-template` installs; installed here too when missing). `deployed()`
then applies a set of parameter values: resources whose Condition is false disappear, every
`Fn::If` takes its branch and `AWS::NoValue` vanishes, as CloudFormation would do at deploy time.
"""

from __future__ import annotations

import copy
import fcntl
import json
import os
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from localcloud.template import ROOT

SAM_PYTHON = ROOT / ".tools" / "sam" / "bin" / "python"
_NO_VALUE = object()


def _ensure_sam_tool() -> None:
    """The pinned aws-sam-cli in .tools/sam, installed as scripts/build.sh does (a no-op when it is there)."""
    lock_path = ROOT / ".tools" / "sam.install.lock"
    lock_path.parent.mkdir(exist_ok=True)
    # pytest-xdist workers get here at the same time: one installs, the others wait for it.
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        subprocess.run(
            ["bash", "-c", 'source scripts/template-checks.sh && ensure_tool sam "$SAM_CLI_SPEC"'],  # noqa: S607
            cwd=ROOT,
            check=True,
        )


@cache
def _translated_json(parameters: tuple[tuple[str, str], ...] = ()) -> str:
    _ensure_sam_tool()
    with tempfile.TemporaryDirectory() as tmp:
        output = Path(tmp) / "translated.json"
        env = {"PATH": os.environ.get("PATH", ""), "SAM_CLI_TELEMETRY": "0"}
        given = [f"--parameter={name}={value}" for name, value in parameters]
        done = subprocess.run(  # noqa: S603 - our script, in the project's tool environment
            [str(SAM_PYTHON), str(ROOT / "scripts" / "sam_translate.py"), "--output", str(output), *given],
            cwd=ROOT,
            env=env,
            check=False,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise RuntimeError(f"the SAM transform of template.yaml failed:\n{done.stderr}")
        return output.read_text(encoding="utf-8")


def translated(**parameters: str) -> dict[str, Any]:
    """A fresh copy of template.yaml after the SAM transform (conditions unresolved; parameters at their defaults,
    or these values, where the transform writes them into what it generates)."""
    template: dict[str, Any] = json.loads(_translated_json(tuple(sorted(parameters.items()))))
    return template


def _evaluate(expression: Any, template: Mapping[str, Any], parameters: Mapping[str, str]) -> Any:
    """The value of a condition expression (Fn::Equals/Not/And/Or, Condition, Ref to a parameter)."""
    if isinstance(expression, dict) and len(expression) == 1:
        ((function, argument),) = expression.items()
        if function == "Ref":
            return parameters[argument]
        if function == "Condition":
            return _evaluate(template["Conditions"][argument], template, parameters)
        if function == "Fn::Equals":
            left, right = (_evaluate(a, template, parameters) for a in argument)
            return str(left) == str(right)
        if function == "Fn::Not":
            return not _evaluate(argument[0], template, parameters)
        if function == "Fn::And":
            return all(_evaluate(a, template, parameters) for a in argument)
        if function == "Fn::Or":
            return any(_evaluate(a, template, parameters) for a in argument)
        raise ValueError(f"unsupported in a condition: {function}")
    return expression


def _resolve_ifs(node: Any, conditions: Mapping[str, bool]) -> Any:
    if isinstance(node, dict):
        if set(node) == {"Fn::If"}:
            name, if_true, if_false = node["Fn::If"]
            return _resolve_ifs(if_true if conditions[name] else if_false, conditions)
        if node == {"Ref": "AWS::NoValue"}:
            return _NO_VALUE
        resolved = {key: _resolve_ifs(value, conditions) for key, value in node.items()}
        return {key: value for key, value in resolved.items() if value is not _NO_VALUE}
    if isinstance(node, list):
        return [item for item in (_resolve_ifs(i, conditions) for i in node) if item is not _NO_VALUE]
    return node


def deployed(template: Mapping[str, Any], **overrides: str) -> dict[str, Any]:
    """`template` as deployed with these parameter values (the others at their defaults)."""
    parameters = {name: str(p.get("Default", "")) for name, p in template.get("Parameters", {}).items()}
    unknown = set(overrides) - set(parameters)
    assert not unknown, f"not parameters of the template: {unknown}"
    parameters.update(overrides)
    conditions = {name: bool(_evaluate(e, template, parameters)) for name, e in template.get("Conditions", {}).items()}
    result: dict[str, Any] = copy.deepcopy(dict(template))
    result["Resources"] = {
        logical_id: resource
        for logical_id, resource in result["Resources"].items()
        if conditions.get(resource.get("Condition", ""), True)
    }
    result["Outputs"] = {
        name: output
        for name, output in result.get("Outputs", {}).items()
        if conditions.get(output.get("Condition", ""), True)
    }
    resolved: dict[str, Any] = _resolve_ifs(result, conditions)
    return resolved


def statements(node: Any) -> Iterator[dict[str, Any]]:
    """Every IAM statement under `node`: role policies, trust policies, queue policies, the API's resource
    policy (both branches of a statement that is an `Fn::If`)."""
    if isinstance(node, dict):
        found = node.get("Statement")
        if isinstance(found, list):
            for statement in found:
                branches = (
                    statement["Fn::If"][1:] if isinstance(statement, dict) and "Fn::If" in statement else [statement]
                )
                yield from (s for s in branches if isinstance(s, dict) and "Effect" in s)
        for value in node.values():
            yield from statements(value)
    elif isinstance(node, list):
        for item in node:
            yield from statements(item)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
