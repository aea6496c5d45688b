"""Redaction of free text that may carry personal data (an action's error message, before it is logged or kept).

An exception raised by an action says what went wrong in the action's words, and those words often
hold what the action was working on: an address, a payment number, a name in quotes. What stays is
the shape of the message; what goes is every e-mail address, every run of digits long enough to be
an id, card or phone number, every quoted value and every URL query string. The result is short.
"""

from __future__ import annotations

import re
from collections.abc import Callable

#: Longest redacted message (characters); longer ones end in an ellipsis.
MAX_REDACTED_LENGTH = 200

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "<email>"),
    (re.compile(r"\?[^\s'\"]+"), "?<redacted>"),
    (re.compile(r"'[^']*'"), "'<redacted>'"),
    (re.compile(r'"[^"]*"'), '"<redacted>"'),
    # Four digits or more, with the separators of cards and phone numbers: ids, cards, phones, amounts.
    (re.compile(r"\+?\d[\d \-.()]{2,}\d"), "<number>"),
)


def redact(message: str, limit: int = MAX_REDACTED_LENGTH) -> str:
    """`message` without e-mail addresses, numbers of four digits or more, quoted values and query strings."""
    for pattern, replacement in _PATTERNS:
        message = pattern.sub(_replacer(replacement), message)
    return message if len(message) <= limit else message[: limit - 1] + "…"


def _replacer(replacement: str) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        found = match.group(0)
        if replacement == "<number>" and sum(c.isdigit() for c in found) < 4:
            return found  # an HTTP status, a count: not an id
        return replacement

    return replace
