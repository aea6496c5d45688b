"""The counted figures of a reliability run: what was sent, what came back, what ran.

docs/reliability.md quotes these numbers; `pytest tests/reliability -p no:cacheprovider` prints them.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field


@dataclass
class Figures:
    """Counters by section (`fuzz`, `corpus`, `faults`, ...); thread-safe, process-local."""

    counters: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    #: Lines of text by section (what a count cannot say: the hottest key's name).
    notes: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, section: str, name: str, amount: int = 1) -> None:
        """Add `amount` to `section`'s counter `name`."""
        with self._lock:
            self.counters[section][name] += amount

    def note(self, section: str, text: str) -> None:
        """Add a line of text to `section` (printed after its counters)."""
        with self._lock:
            self.notes[section].append(text)

    def get(self, section: str, name: str) -> int:
        """The current value of a counter."""
        with self._lock:
            return self.counters[section][name]

    def summary(self) -> list[str]:
        """One line per section, counters sorted by name; then each of its notes."""
        with self._lock:
            lines: list[str] = []
            for section in sorted(set(self.counters) | set(self.notes)):
                counter = self.counters.get(section)
                if counter:
                    lines.append(
                        f"{section}: " + ", ".join(f"{name}={value}" for name, value in sorted(counter.items()))
                    )
                lines.extend(f"{section}: {text}" for text in self.notes.get(section, []))
            return lines


FIGURES = Figures()
