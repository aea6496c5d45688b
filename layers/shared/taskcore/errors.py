"""Validation errors as both functions answer them: one line that says what is wrong, and the list for programs.

Every 422 of the scheduler API and of the callback has the same body, `{"detail": str, "errors": [...]}`:
`detail` is one line, `field: message` per error joined with `; ` (the request's `body` location and
pydantic's `Value error, ` prefix left out), and `errors` keeps each error's location, message and
type, never its input (which may be task data, or not JSON-renderable at all).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import ValidationError

#: Location parts that say only where FastAPI found the value, not which field is wrong.
REQUEST_LOCATIONS = ("body",)


def describe_errors(
    errors: ValidationError | Iterable[Mapping[str, Any]], *, skip: Sequence[str] = REQUEST_LOCATIONS
) -> str:
    """One line, `field.sub: message; ...`, for a 4xx that says what is wrong."""
    items = errors.errors(include_url=False) if isinstance(errors, ValidationError) else errors
    parts = []
    for err in items:
        loc = [str(p) for p in err.get("loc", ())]
        while loc and loc[0] in skip:
            loc = loc[1:]
        message = str(err.get("msg", "invalid"))
        message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
        parts.append(f"{'.'.join(loc)}: {message}" if loc else message)
    return "; ".join(parts) or "invalid request"


def error_list(errors: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each error's location, message and type: never its input."""
    return [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg")), "type": str(e.get("type"))} for e in errors]


def validation_problem(errors: Sequence[Mapping[str, Any]], detail: str | None = None) -> dict[str, Any]:
    """The body of a 422: `{"detail": "<one line>", "errors": [...]}`."""
    return {"detail": detail if detail is not None else describe_errors(errors), "errors": error_list(errors)}


__all__ = ["describe_errors", "error_list", "validation_problem"]
