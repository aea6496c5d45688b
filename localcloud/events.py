"""One loader for the fixtures in events/: used by the tests, the docs' commands and the local tools."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from localcloud.template import ROOT

EVENTS_DIR = ROOT / "events"


def load_event(name: str) -> dict[str, Any]:
    """The event in `events/<name>` (`.json` may be left off)."""
    path = EVENTS_DIR / (name if name.endswith(".json") else f"{name}.json")
    event: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return event


def event_files() -> list[Path]:
    """Every invocation event in events/ (the `env-*.json` files are `--env-vars` files, not events)."""
    return sorted(p for p in EVENTS_DIR.glob("*.json") if not p.name.startswith("env"))
