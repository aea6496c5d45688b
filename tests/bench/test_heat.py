"""The heat model's accounting: DynamoDB's documented capacity rules, charged to the right partition keys.

The unit tests build tables by hand (a layout the ledger never had), so they show the accounting holds for any
layout; the integration tests run it on moto with template.yaml's tables, through the probe and the entry points.
"""

from __future__ import annotations

import json
import math
import os
import re
from typing import Any

import pytest

from bench.heat import (
    CREATE_WRITE_UNITS_BESIDES_THE_REQUEST,
    DATA_SIZES,
    FIRST_DELIVERY_WRITE_UNITS,
    create_requests,
    sized_request,
    summarise,
)
from bench.heat_report import heat_tables
from bench.heat_units import (
    TABLE,
    Charge,
    Index,
    Table,
    index_entry,
    item_bytes,
    query_charge,
    read_units,
    table_shapes,
    value_bytes,
    write_charges,
)
from localcloud.template import ROOT, load_template

#: A layout of our own: a table keyed pk/sk, an index on `group` projecting `status`, and a keys-only one on `live`.
SHAPE = Table(
    "Things",
    "pk",
    "sk",
    (
        Index("ByGroup", "group", "created", "INCLUDE", frozenset({"status"})),
        Index("Live", "live", None, "KEYS_ONLY"),
    ),
)


def s(text: str) -> dict[str, str]:
    return {"S": text}


def thing(**attributes: str) -> dict[str, Any]:
    return {"pk": s("THING#1"), "sk": s("A"), "created": s("2026-12-07")} | {k: s(v) for k, v in attributes.items()}


def item_of_exactly(size: int, **attributes: str) -> dict[str, Any]:
    """A thing padded by a `payload` attribute to exactly `size` bytes."""
    base = thing(**attributes)
    item = base | {"payload": s("x" * (size - item_bytes(base) - len("payload")))}
    assert item_bytes(item) == size
    return item


def on(charges: list[Charge], index: str) -> list[tuple[str, float]]:
    return [(c.key, c.units) for c in charges if c.index == index]


# -- sizes and units ------------------------------------------------------------------------------


def test_an_items_size_is_its_names_and_values_in_utf8_numbers_by_significant_digits_lists_and_maps_with_overhead() -> (
    None
):
    assert item_bytes({"name": s("héllo")}) == 4 + 6
    assert value_bytes({"N": "12345"}) == 3 + 1  # 5 significant digits: 3 bytes, + 1
    assert value_bytes({"N": "1000"}) == 1 + 1  # trailing zeros trimmed
    assert value_bytes({"BOOL": True}) == value_bytes({"NULL": True}) == 1
    assert value_bytes({"L": [s("ab"), s("c")]}) == 3 + (2 + 1) + (1 + 1)
    assert value_bytes({"M": {"k": s("v")}}) == 3 + 1 + 1 + 1
    assert value_bytes({"B": b"\x00\x01"}) == 2


def test_a_read_is_one_unit_per_started_4_kb_half_when_eventually_consistent_twice_in_a_transaction() -> None:
    assert read_units(4096) == 1
    assert read_units(4097) == 2
    assert read_units(4097, consistent=False) == 1
    assert read_units(100, transactional=True) == 2
    assert read_units(0, consistent=False) == 0.5  # a read of nothing still costs the minimum


# -- writes on the table --------------------------------------------------------------------------


def test_a_put_of_a_3_kb_item_is_3_write_units_on_its_tables_partition_key_and_6_in_a_transaction() -> None:
    item = item_of_exactly(3 * 1024)
    key = SHAPE.key_of(item)

    assert on(write_charges(SHAPE, key, None, item), TABLE) == [("THING#1", 3)]
    assert on(write_charges(SHAPE, key, None, item, transactional=True), TABLE) == [("THING#1", 6)]
    assert on(write_charges(SHAPE, key, None, item_of_exactly(3 * 1024 + 1)), TABLE) == [("THING#1", 4)]


def test_an_update_is_charged_on_the_larger_of_the_item_before_and_after() -> None:
    big, small = item_of_exactly(5000), item_of_exactly(200)

    assert on(write_charges(SHAPE, SHAPE.key_of(big), big, small), TABLE) == [("THING#1", 5)]
    assert on(write_charges(SHAPE, SHAPE.key_of(big), small, big), TABLE) == [("THING#1", 5)]


def test_a_write_that_changed_nothing_still_costs_its_table_units_and_writes_no_index() -> None:
    item = item_of_exactly(1500, group="G#1", status="live", live="L#1")

    charges = write_charges(SHAPE, SHAPE.key_of(item), item, item)
    checked = write_charges(SHAPE, SHAPE.key_of(item), item, item, transactional=True, check_only=True)

    assert [(c.index, c.units) for c in charges] == [(TABLE, 2)]
    assert [(c.index, c.units) for c in checked] == [(TABLE, 4)]


# -- writes on the indexes ------------------------------------------------------------------------


def test_a_new_item_puts_one_entry_in_each_index_it_has_the_key_of_and_none_in_the_others() -> None:
    item = thing(group="G#1", status="scheduled")

    charges = write_charges(SHAPE, SHAPE.key_of(item), None, item)

    assert on(charges, "ByGroup") == [("G#1", 1)]
    assert on(charges, "Live") == []  # a sparse index: no `live`, no entry


def test_an_update_of_a_projected_attribute_writes_the_index_and_one_of_an_unprojected_attribute_does_not() -> None:
    before = thing(group="G#1", status="scheduled", note="a")
    projected = before | {"status": s("succeeded")}
    unprojected = before | {"note": s("b")}

    assert on(write_charges(SHAPE, SHAPE.key_of(before), before, projected), "ByGroup") == [("G#1", 1)]
    assert on(write_charges(SHAPE, SHAPE.key_of(before), before, unprojected), "ByGroup") == []
    # The keys-only index holds neither.
    assert on(write_charges(SHAPE, SHAPE.key_of(before), before, projected | {"live": s("L")}), "Live") == [("L", 1)]


def test_a_change_of_an_index_key_is_a_delete_on_the_old_key_and_a_put_on_the_new_one() -> None:
    before = thing(group="STATE#scheduled", status="scheduled", live="OWNER#1")
    after = before | {"group": s("STATE#succeeded"), "status": s("succeeded")}
    ended = {k: v for k, v in after.items() if k != "live"}

    charges = write_charges(SHAPE, SHAPE.key_of(before), before, ended, transactional=True)

    assert on(charges, "ByGroup") == [("STATE#scheduled", 1), ("STATE#succeeded", 1)]
    assert on(charges, "Live") == [("OWNER#1", 1)]  # left the sparse index: one delete
    assert on(charges, TABLE) == [("THING#1", 2)]  # the table's write at the transactional rate, the index's not


def test_an_index_entry_is_sized_by_what_the_index_projects_not_by_the_item() -> None:
    item = item_of_exactly(10 * 1024, group="G#1", status="s", live="L#1")

    charges = write_charges(SHAPE, SHAPE.key_of(item), None, item)

    assert on(charges, TABLE) == [("THING#1", 10)]
    assert on(charges, "ByGroup") == [("G#1", 1)]
    assert index_entry(SHAPE, SHAPE.indexes[1], item) == {"pk": s("THING#1"), "sk": s("A"), "live": s("L#1")}


def test_a_query_on_an_index_reads_its_entries_eventually_consistent_summed_before_rounding() -> None:
    entries = [thing(group="G#1", status="s", note="n" * 3000) for _ in range(10)]  # the note is not projected

    charge = query_charge(SHAPE, "ByGroup", "G#1", entries, consistent=True)
    table_charge = query_charge(SHAPE, None, "THING#1", entries, consistent=True)

    assert (charge.index, charge.key, charge.units) == ("ByGroup", "G#1", 0.5)
    assert table_charge.units == 8  # ten 3 KB items: 30 KB summed, then rounded up to 8 × 4 KB


# -- the figures ----------------------------------------------------------------------------------


def test_when_every_item_shares_one_index_key_the_hottest_key_takes_all_of_the_writes_and_sets_the_ceiling() -> None:
    ops = [
        write_charges(SHAPE, {"pk": s(f"T#{i}"), "sk": s("A")}, None, thing(group="G#1") | {"pk": s(f"T#{i}")})
        for i in range(50)
    ]

    figures = summarise(ops)

    by_group = next(p for p in figures["partitions"] if p["index"] == "ByGroup")
    table = next(p for p in figures["partitions"] if p["index"] == TABLE)
    assert (by_group["hottest_write_key"], by_group["hottest_write_share"]) == ("G#1", 1.0)
    assert table["hottest_write_share"] == pytest.approx(1 / 50)
    assert figures["ceiling_per_second"] == 1000  # 1 unit per operation on one key: 1,000 a second
    assert figures["limited_by"] == [{"table": "Things", "index": "ByGroup", "kind": "write", "key": "G#1"}]


def test_the_ledgers_indexes_are_read_from_template_yaml_with_their_keys_and_projections() -> None:
    shapes = table_shapes(load_template())

    ledger = shapes["TaskLedgerTable"]
    assert (ledger.hash_key, ledger.range_key) == ("pk", "sk")
    assert {"ByUser", "ByState", "ByOwner"} <= {index.name for index in ledger.indexes}
    assert shapes["IdempotencyTable"].indexes == ()


def test_the_workload_is_one_role_for_many_users_a_fifth_recurring_and_the_data_sizes_exact() -> None:
    requests = create_requests(100)

    assert len({r["user_id"] for r in requests}) > 90
    assert sum("cron" in r for r in requests) == 20
    assert len(sized_request("t", 60 * 1024)["data"]["recipients"][0]) > 60_000


# -- on moto, through the probe and the entry points ----------------------------------------------


def assert_adds_up(phase: dict[str, Any]) -> None:
    """The partitions' units add up to the operation's, and the ceiling is the lowest partition's."""
    parts = phase["partitions"]
    assert sum(p.get("write_units_per_op", 0) for p in parts) == pytest.approx(phase["write_units_per_op"], abs=0.01)
    assert all(0 < p["hottest_write_share"] <= 1 for p in parts if "hottest_write_share" in p)
    assert min(p["ceiling_per_second"] for p in parts) == phase["ceiling_per_second"]


def assert_within_the_budgets(figures: dict[str, Any]) -> None:
    """Items 1 and 3 of issue 20, on what the heat model measured through the entry points."""
    small, large = figures["data_budget"]["60 B"], figures["data_budget"]["60 KiB"]
    # Item 3: a run costs the same whatever the data; the request is written once, by the create.
    assert large["first_delivery_write_units"] == small["first_delivery_write_units"] <= FIRST_DELIVERY_WRITE_UNITS
    for label, size in DATA_SIZES.items():
        request_units = 2 * math.ceil(size / 1024)
        assert (
            figures["data_budget"][label]["create_write_units"]
            <= CREATE_WRITE_UNITS_BESIDES_THE_REQUEST + request_units
        )
    # Item 1: one role's 64 tasks spread over the shards; no index key takes the burst (it took 100% before).
    spread = {
        (operation, part["index"]): part["hottest_write_share"]
        for operation in ("create", "run")
        for part in figures[operation]["partitions"]
        if part["index"] in ("ByOwner", "ByState", "LiveByDue")
    }
    assert {index for _, index in spread} == {"ByOwner", "ByState", "LiveByDue"}
    assert max(spread.values()) <= 0.2, spread


@pytest.mark.integration
def test_a_small_workload_through_the_entry_points_charges_every_request_and_its_figures_add_up() -> None:
    from bench.heat import measure

    environment = dict(os.environ)

    figures = measure(creates=64)

    assert figures["unaccounted_requests"] == {}
    assert figures["create"]["operations"] == figures["run"]["operations"] == 64
    assert figures["create"]["write_units_per_op"] >= 1
    for operation in ("create", "run"):
        assert_adds_up(figures[operation])
    table = next(p for p in figures["create"]["partitions"] if p["table"] == "TaskLedgerTable" and p["index"] == TABLE)
    assert table["write_keys"] >= 64  # every task its own partition
    small, large = figures["data_budget"]["60 B"], figures["data_budget"]["60 KiB"]
    assert large["create_write_units"] > small["create_write_units"]
    assert_within_the_budgets(figures)
    assert "Creates/s" in heat_tables(figures)
    assert dict(os.environ) == environment


def test_the_heat_block_of_docs_performance_md_is_the_one_its_json_renders() -> None:
    heat = json.loads((ROOT / "docs" / "performance.json").read_text(encoding="utf-8"))["heat"]
    text = (ROOT / "docs" / "performance.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- bench:heat -->\n(.*?)\n<!-- /bench:heat -->", text, re.DOTALL)

    assert block is not None
    assert block[1] == heat_tables(heat)
    assert heat["unaccounted_requests"] == {}
