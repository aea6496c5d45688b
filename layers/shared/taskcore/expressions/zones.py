"""Time zones and wall clocks: IANA names checked, and wall-clock times read by the Scheduler's DST rules."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from taskcore.expressions.forms import ExpressionError, _format_naive_at


@cache
def _zone_names() -> dict[str, str]:
    """IANA zone names (case-folded -> canonical), without the system's non-IANA aliases."""
    return {name.lower(): name for name in available_timezones() if name not in ("localtime", "posixrules", "Factory")}


def parse_timezone(name: str) -> ZoneInfo:
    """An IANA time zone by name (``Asia/Seoul``, ``UTC``); raise :class:`ExpressionError` for anything else."""
    if not isinstance(name, str) or not name:
        raise ExpressionError("the time zone must be an IANA name such as 'UTC' or 'Asia/Seoul'")
    names = _zone_names()
    canonical = names.get(name.lower())
    if canonical is None:
        raise ExpressionError(f"unknown time zone {name!r}; use an IANA name such as 'UTC' or 'Asia/Seoul'")
    if canonical != name:
        raise ExpressionError(f"unknown time zone {name!r}; did you mean {canonical!r}? (names are case-sensitive)")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):  # pragma: no cover - listed but unreadable
        raise ExpressionError(f"unknown time zone {name!r}") from None


def format_at(moment_utc: datetime) -> str:
    """An aware datetime as the ``at()`` expression of its UTC time: seconds kept, sub-seconds dropped."""
    _require_aware(moment_utc, "moment_utc")
    return _format_naive_at(moment_utc.astimezone(UTC).replace(tzinfo=None))


def local_to_utc(moment: datetime, timezone: str | ZoneInfo = "UTC") -> datetime | None:
    """A naive wall-clock time in ``timezone`` as an aware UTC datetime, by the Scheduler's DST rules.

    ``None`` when the zone skips that wall time (spring forward); the first instant when it repeats (fall back).
    """
    zone = timezone if isinstance(timezone, ZoneInfo) else parse_timezone(timezone)
    if moment.tzinfo is not None:
        raise ValueError("local_to_utc takes a naive wall-clock time")
    aware = moment.replace(tzinfo=zone, fold=0)  # fold=0: the first of two repeated wall times
    try:
        utc = aware.astimezone(UTC)
        back = utc.astimezone(zone).replace(tzinfo=None)
    except OverflowError:  # within a day of datetime.min/max: no such instant
        return None
    if back != moment.replace(fold=0):
        return None  # the wall clock jumps over this time
    return utc


def _require_aware(value: datetime, name: str) -> None:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value!r}")
