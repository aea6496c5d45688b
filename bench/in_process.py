"""The functions in the benchmark's own process (the ledger's budgets, the checks): fresh, as a new container.

Everything else runs each artifact in its own interpreter (bench/runner.py), with Lambda's layout. In this
process the functions are the editable installs `make install` makes (no `sys.path` edit).
"""

from __future__ import annotations

from taskcore.caches import reset_container_caches


def new_container() -> None:
    """Forget every cached setting and client of the functions, as a new Lambda container would start."""
    reset_container_caches()
