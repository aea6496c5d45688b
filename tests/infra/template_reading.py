"""template.yaml as written, read for the security tests (tests/infra/test_template_security_*.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from localcloud.template import load_template, resources_of_type

TEMPLATE = load_template()
RESOURCES: dict[str, dict[str, Any]] = TEMPLATE["Resources"]
FUNCTIONS = resources_of_type(TEMPLATE, "AWS::Serverless::Function")


def props(logical_id: str) -> dict[str, Any]:
    properties: dict[str, Any] = RESOURCES[logical_id].get("Properties", {})
    return properties


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def policy_statements(node: Any = TEMPLATE) -> Iterator[dict[str, Any]]:
    """Every IAM statement anywhere in the template: role and queue policies, SAM `Policies`, trust policies."""
    if isinstance(node, dict):
        statements = node.get("Statement")
        if isinstance(statements, list):
            yield from (s for s in statements if isinstance(s, dict))
        for value in node.values():
            yield from policy_statements(value)
    elif isinstance(node, list):
        for item in node:
            yield from policy_statements(item)


def function_statements(logical_id: str) -> list[dict[str, Any]]:
    return [s for policy in props(logical_id).get("Policies", []) for s in policy["Statement"]]


def statement_granting(statements: list[dict[str, Any]], action: str, resource: str = "") -> dict[str, Any]:
    """The one statement granting `action` (on a resource whose definition names `resource`)."""
    (found,) = [s for s in statements if action in as_list(s["Action"]) and resource in str(s["Resource"])]
    return found
