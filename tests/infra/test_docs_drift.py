"""The docs say what the code and template.yaml do: each fact here is read from both, so one cannot drift alone.

- docs/operating.md: how many alarms the template creates, and a row for each;
- docs/deploying.md: a row for every stack output, and every index of the task ledger;
- docs/local-cloud.md: a row for every flag of `python -m localcloud.dev`, and the restart rule's 60 s;
- template.yaml: no queue takes less than one SQS message of `taskcore.limits.SQS_MAX_MESSAGE_BYTES`;
- docs/operating.md, "Limits at scale": every default it quotes (a template parameter's or a scheduler
  setting's), the callback's `EventInvokeConfig`, the functions' `Timeout`, the batch size, the tables'
  billing mode (and no throughput maximum) and the queues' retention.
"""

from __future__ import annotations

import argparse
import inspect
import re
from typing import Any

from localcloud.dev import build_parser
from localcloud.dispatcher import Dispatcher
from localcloud.template import ROOT, load_template, resources_of_type
from scheduler_app.responses import BatchRequest
from scheduler_app.settings import SchedulerSettings
from taskcore.limits import SQS_MAX_MESSAGE_BYTES

NUMBERS = {"three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}


def doc(name: str) -> str:
    return (ROOT / "docs" / name).read_text(encoding="utf-8")


def table_after(text: str, marker: str) -> list[str]:
    """The rows (below the header) of the first Markdown table after `marker`."""
    rest = text.split(marker, 1)[1]
    rows: list[str] = []
    for line in rest.splitlines():
        if line.startswith("|"):
            rows.append(line)
        elif rows:
            break
    return rows[2:]


def first_cell_names(row: str) -> list[str]:
    return re.findall(r"`([^`]+)`", row.split("|")[1])


def test_operating_md_counts_and_lists_every_alarm_of_the_template() -> None:
    alarms = set(resources_of_type(load_template(), "AWS::CloudWatch::Alarm"))
    text = doc("operating.md")
    said = re.search(r"`template.yaml` creates (\w+) alarms", text)
    assert said is not None
    listed = {name for row in table_after(text, said.group(0)) for name in first_cell_names(row)}

    assert NUMBERS[said.group(1)] == len(alarms)
    assert listed == alarms


def documented_outputs(rows: list[str]) -> set[str]:
    """Output names of the table: "`XName` / `Arn`" stands for XName and XArn."""
    names: set[str] = set()
    for row in rows:
        cell = row.split("|")[1]
        for pair in cell.split(","):
            parts = re.findall(r"`([^`]+)`", pair)
            if not parts:
                continue
            names.add(parts[0])
            for suffix in parts[1:]:
                names.add(re.sub(r"(Name|Url)$", "", parts[0]) + suffix)
    return names


def test_deploying_md_has_a_row_for_every_stack_output() -> None:
    outputs = set(load_template()["Outputs"])
    rows = table_after(doc("deploying.md"), "The stack outputs")

    assert documented_outputs(rows) == outputs


def test_deploying_md_names_every_index_of_the_task_ledger() -> None:
    table: dict[str, Any] = load_template()["Resources"]["TaskLedgerTable"]["Properties"]
    indexes = {index["IndexName"] for index in table.get("GlobalSecondaryIndexes", [])}
    (row,) = [r for r in table_after(doc("deploying.md"), "The stack outputs") if "`TaskLedgerTableName`" in r]
    named = re.search(r"indexes ([^,]*(?:, `[^`]+`)*)", row)

    assert named is not None
    assert set(re.findall(r"`([^`]+)`", named.group(1))) == indexes


def test_local_cloud_md_has_a_row_for_every_flag_of_make_dev() -> None:
    flags = {
        option
        for action in build_parser()._actions
        if action.help != argparse.SUPPRESS
        for option in action.option_strings
        if option.startswith("--") and option != "--help"
    }
    rows = table_after(doc("local-cloud.md"), "## Options")
    documented = {re.sub(r" .*", "", name) for row in rows for name in first_cell_names(row)}

    assert documented == flags


def test_local_cloud_md_states_the_restart_rule_the_dispatcher_applies() -> None:
    catch_up = inspect.signature(Dispatcher).parameters["catch_up_seconds"].default
    text = doc("local-cloud.md")

    assert f"at most {catch_up:g} s" in text
    assert "`MaximumEventAgeInSeconds`" in text.split("## State", 1)[1].split("\n## ", 1)[0]


def test_no_queue_of_the_template_takes_less_than_one_sqs_message() -> None:
    queues = resources_of_type(load_template(), "AWS::SQS::Queue")

    # Without MaximumMessageSize a queue takes SQS's default, which is its maximum (1 MiB) since 2025.
    sizes = {q.get("Properties", {}).get("MaximumMessageSize", SQS_MAX_MESSAGE_BYTES) for q in queues.values()}
    assert sizes == {SQS_MAX_MESSAGE_BYTES}


def limits_section() -> str:
    return doc("operating.md").split("## Limits at scale", 1)[1].split("\n## ", 1)[0]


#: "`Name` (default value)": a template parameter's or a scheduler setting's default, as the section quotes it.
QUOTED_DEFAULT = re.compile(r"`([A-Za-z][A-Za-z0-9_]*)` \(default ([^):]*)")


def default_of(name: str) -> str:
    """The default of a template parameter, else of the scheduler setting read from that variable, as written."""
    parameters: dict[str, Any] = load_template()["Parameters"]
    if name in parameters:
        value = parameters[name].get("Default")
    else:
        (value,) = [f.default for f in SchedulerSettings.model_fields.values() if f.alias == name]
    return "empty" if value == "" else str(value)


def test_operating_md_limits_quote_the_defaults_the_template_and_the_settings_have() -> None:
    quoted = QUOTED_DEFAULT.findall(limits_section())

    assert {"ApiThrottlingRateLimit", "CallbackReservedConcurrency", "SCHEDULE_MAX_EVENT_AGE_SECONDS"} <= {
        name for name, _ in quoted
    }
    assert [(name, said.strip()) for name, said in quoted] == [(name, default_of(name)) for name, _ in quoted]


def test_operating_md_limits_quote_the_callbacks_invoke_config_and_the_functions_timeout() -> None:
    template = load_template()
    resources = template["Resources"]
    config = resources["CallbackFunction"]["Properties"]["EventInvokeConfig"]
    latest = resources["CallbackLatestInvokeConfig"]["Properties"]
    section = limits_section()

    for key in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds"):
        assert config[key] == latest[key]
        assert f"`{key}: {config[key]}`" in section
    for function in ("CallbackFunction", "SchedulerFunction"):
        timeout = resources[function]["Properties"].get("Timeout", template["Globals"]["Function"]["Timeout"])
        assert f"`Timeout: {timeout}`" in section


def test_operating_md_limits_state_the_batch_size_billing_mode_and_retention_the_stack_has() -> None:
    template = load_template()
    section = limits_section()
    batch_items = BatchRequest.model_json_schema()["properties"]["items"]["maxItems"]
    tables = [t["Properties"] for t in resources_of_type(template, "AWS::DynamoDB::Table").values()]
    modes = {table["BillingMode"] for table in tables}
    queues = resources_of_type(template, "AWS::SQS::Queue").values()
    retention = {q["Properties"]["MessageRetentionPeriod"] for q in queues}

    assert f"up to {batch_items} items" in section
    assert [f"`BillingMode: {mode}`" in section for mode in modes] == [True]
    assert not [table for table in tables if "OnDemandThroughput" in table]
    assert "sets no `OnDemandThroughput` maximum" in section
    assert retention == {14 * 86_400}
    assert "**Retention**: 14 days" in section
