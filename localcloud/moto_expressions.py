"""moto's DynamoDB UpdateExpressions, validated in linear time for the local cloud.

The callback records every run with a transaction of UpdateExpressions of about fifteen clauses each. moto
5 spends most of such a request in two of its validators: `ActionCountValidator` and
`OverlappingPathsValidator` run at *every* `UpdateExpression` node of the parsed tree (every action is
one), and each scans that node's whole subtree: quadratic in the number of clauses. It also parses each
expression twice per request (once to check the request, once to run it).

`install()` keeps moto's own checks and changes how often they run:

- the two validators check the root only: its scan sees every clause and every action of the expression,
  a superset of what any inner node sees, so an expression is refused exactly when moto refuses it (with
  several overlapping paths, the pair its message names may differ);
- an expression's text is parsed once and its tree kept (up to `CACHE_SIZE` texts): moto's callers only
  read the tree, and its `Validator` works on a deep copy of it.

It takes the CPU time of 30 daily runs of the test kit (docs/testing.md) from about 1.1 s to about 0.75 s.
tests/localcloud/test_moto_expressions.py checks that both refusals still happen, and the moto internals
this relies on (it fails when they change).
"""

from __future__ import annotations

import threading
from typing import Any

#: Distinct expression texts whose parsed tree is kept (the cache is emptied when it is full).
CACHE_SIZE = 512
_MARK = "_localcloud_root_only"


def install() -> None:
    """Patch moto's UpdateExpression parser and its two quadratic validators (once per process)."""
    from moto.dynamodb.parsing import expressions, validators

    if getattr(validators.ActionCountValidator.traverse, _MARK, False):
        return
    for validator in (validators.ActionCountValidator, validators.OverlappingPathsValidator):
        validator.traverse = _root_only
    parser = expressions.UpdateExpressionParser  # type: ignore[attr-defined]
    parse = parser.make.__func__
    trees: dict[str, Any] = {}
    lock = threading.Lock()

    def make(cls: Any, expression_str: str) -> Any:
        with lock:
            tree = trees.get(expression_str)
        if tree is None:
            tree = parse(cls, expression_str)  # an invalid expression raises here, and is not kept
            with lock:
                if len(trees) >= CACHE_SIZE:
                    trees.clear()
                trees[expression_str] = tree
        return tree

    parser.make = classmethod(make)


def _root_only(self: Any, node: Any) -> Any:
    """A validator's check of the whole expression, once, at its root (instead of `DepthFirstTraverser.traverse`)."""
    if isinstance(node, self.nodes_to_be_processed()):
        return self.process(node)
    return node


setattr(_root_only, _MARK, True)

__all__ = ["CACHE_SIZE", "install"]
