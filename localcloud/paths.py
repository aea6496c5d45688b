"""Make the layer and both functions importable, as Lambda lays them out (/opt/python, /var/task).

Imported for its effect by the modules that import `taskcore` or the functions' packages, so that
`python -m localcloud.<tool>` works from the repository root without PYTHONPATH.
"""

from __future__ import annotations

import sys

from localcloud.template import ROOT

#: The layer first, then each function's code directory.
CODE_PATHS = (ROOT / "layers" / "shared", ROOT / "functions" / "callback", ROOT / "functions" / "scheduler")


def ensure_import_paths() -> None:
    """Put the code directories on sys.path (once)."""
    for path in reversed(CODE_PATHS):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))


ensure_import_paths()
