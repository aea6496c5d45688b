"""The functions in the benchmark's own process (the ledger's budgets, the checks): importable, and fresh.

Everything else runs each artifact in its own interpreter (bench/runner.py), with Lambda's layout.
"""

from __future__ import annotations

import sys

from bench.build import CALLBACK_SRC, LAYER_SRC, SCHEDULER_SRC


def importable() -> None:
    """Put the layer and both functions on `sys.path`, as Lambda lays them out (/opt/python, /var/task)."""
    for path in (SCHEDULER_SRC, CALLBACK_SRC, LAYER_SRC):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))


def new_container() -> None:
    """Forget every cached setting and client of the functions, as a new Lambda container would start."""
    from taskcore.caches import reset_container_caches

    reset_container_caches()
    # Until every function's factories register with taskcore.caches (issue 18's other branches), the
    # local cloud's list of them clears the rest. Delete from here when that list is gone.
    try:
        from localcloud.cloud import reset_function_caches
    except ImportError:
        return
    reset_function_caches()
