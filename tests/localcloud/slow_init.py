"""A handler module whose import (the environment's Init phase) takes longer than any test waits for it."""

from __future__ import annotations

import time
from typing import Any

time.sleep(60)


def lambda_handler(event: Any, context: Any) -> None:
    """Never reached in the tests."""
