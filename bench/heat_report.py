"""The heat model's tables (docs/performance.md's `bench:heat` block) from its figures (performance.json's `heat`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

#: Each operation measured: how a row names it, and its rate.
OPERATIONS = {"create": ("create", "Creates/s"), "run": ("run (a first delivery)", "Runs/s")}
#: The ceilings' rows: the operations, and a task created and run once (both at its rate).
CEILINGS = {**{name: rate for name, (_, rate) in OPERATIONS.items()}, "task": "Tasks/s, each created and run once"}
#: A key is shown up to this many characters (the JSON has it whole).
KEY_WIDTH = 48


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def _key(key: str | None) -> str:
    if key is None:
        return "—"
    return f"`{key if len(key) <= KEY_WIDTH else key[: KEY_WIDTH - 1] + '…'}`"


def _units(value: float | None) -> str:
    return "—" if value is None else f"{value:,.2f}".rstrip("0").rstrip(".")


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _partition(part: dict[str, Any]) -> str:
    return f"{part['table']} (table)" if part["index"] == "(table)" else f"{part['table']} · {part['index']}"


def _operation_table(name: str, phase: dict[str, Any]) -> str:
    label, rate = OPERATIONS[name]
    rows = [
        (
            _partition(p),
            _units(p.get("write_units_per_op")),
            str(p.get("write_keys", "—")),
            _key(p.get("hottest_write_key")),
            _share(p.get("hottest_write_share")),
            _units(p.get("read_units_per_op")),
            _rate(p["ceiling_per_second"]),
        )
        for p in phase["partitions"]
    ]
    rows.append(
        (
            "**Total**",
            f"**{_units(phase['write_units_per_op'])}**",
            "",
            "",
            "",
            f"**{_units(phase['read_units_per_op'])}**",
            f"**{_rate(phase['ceiling_per_second'])}**",
        )
    )
    header = (
        "Partition keys of",
        f"Write units per {name}",
        "Keys written",
        "Hottest key (writes)",
        "Its share of the writes",
        f"Read units per {name}",
        f"{rate} before its hottest key's limit",
    )
    last = (
        f"; the last one read {_units(phase['read_units_of_the_last_op'])} units" if phase["read_units_per_op"] else ""
    )
    return f"#### Per {label} ({phase['operations']:,} measured{last})\n\n" + _table(header, rows)


def _ceilings(heat: dict[str, Any]) -> str:
    rows = []
    for name, rate in CEILINGS.items():
        if not (phase := heat.get(name)):
            continue
        for i, by in enumerate(phase["limited_by"] or [{}]):
            where = f"{by['table']} · {by['index']}" if by else "—"
            first = (rate, _rate(phase["ceiling_per_second"])) if i == 0 else ("", "")
            rows.append((*first, where, _key(by.get("key")), by.get("kind", "—")))
    header = ("Sustained, before any partition key reaches its limit", "Rate", "Limited by", "Its key", "Units")
    return _table(header, rows)


def _budget(heat: dict[str, Any]) -> str:
    rows = [
        (label, _units(b["create_write_units"]), _units(b["first_delivery_write_units"]))
        for label, b in heat["data_budget"].items()
    ]
    return _table(("`data`", "Write units of a create", "Write units of its first delivery"), rows)


def heat_tables(heat: dict[str, Any] | None) -> str:
    """The block: the workload, the ceilings, each operation's partitions, the data budget."""
    if not heat:
        return "Not measured yet: `make bench-heat` measures it."
    w, limits = heat["workload"], heat["limits"]
    intro = (
        f"{w['creates']:,} creates by one role ({w['sessions']} sessions of `{w['principal'].rsplit('/', 1)[0]}`) "
        f"for {w['distinct_users']:,} users drawn from {w['users_drawn_from']:,} ({w['recurring']:,} daily recurring, "
        f"the rest one-time at the same 09:00), then {w['runs']:,} first deliveries. Limits: "
        f"{limits['write_units_per_key_per_second']:,} write units and {limits['read_units_per_key_per_second']:,} "
        "read units a second per partition key, indexes included."
    )
    if heat.get("unaccounted_requests"):
        intro += f" Requests not charged: {heat['unaccounted_requests']}."
    parts = [intro, _ceilings(heat), _operation_table("create", heat["create"]), _operation_table("run", heat["run"])]
    parts.append("#### Write units by the size of `data` (issue 20, item 3)\n\n" + _budget(heat))
    return "\n\n".join(parts)
