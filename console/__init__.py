"""The console: server-rendered pages to see and operate every task, on `make dev` or against a deployed stack.

Never part of a Lambda artifact (template.yaml's CodeUri/ContentUri name functions/ and layers/ only).
"""

from __future__ import annotations

from console.api import ApiError, SchedulerApi
from console.app import Console, create_app

__all__ = ["ApiError", "Console", "SchedulerApi", "create_app"]
