"""Cost per million tasks from the measured durations, log volume and storage writes.

Prices are us-east-1 list prices, without free tiers (the marginal cost at scale), read on
PRICES_READ from the sources named on each price. Change them here; `make bench RENDER=1` redoes the sums.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

PRICES_READ = "2026-11-26"
#: Lambda gives a function one full vCPU at 1,769 MB and a proportional share below that.
FULL_VCPU_MB = 1769
#: AWS: cold starts (INIT) "typically occur in under 1% of invocations" (Compute Blog, 2025).
COLD_START_SHARE = 0.01


@dataclass(frozen=True)
class Price:
    """One list price: `usd` per `unit`."""

    usd: float
    unit: str
    source: str


PRICES = {
    "scheduler_invocation": Price(
        1.00 / 1e6,
        "scheduled invocation (the first 14 million a month are free)",
        "https://aws.amazon.com/eventbridge/pricing/ (Scheduler), as summarised for us-east-1 in March 2026 by "
        "https://cloudburn.io/blog/amazon-eventbridge-pricing; the AWS Price List rows read "
        '"$0 for the first 14 million scheduled invocations"',
    ),
    "lambda_request": Price(
        0.20 / 1e6,
        "Lambda request (1 million a month free)",
        "https://aws.amazon.com/lambda/pricing/",
    ),
    "lambda_arm_gb_second": Price(
        0.0000133334,
        "GB-second on Arm, first 7.5 billion GB-s a month (400,000 GB-s free)",
        "https://aws.amazon.com/lambda/pricing/ (Arm price, us-east-1; quoted by https://cloudchipr.com/blog/aws-lambda-pricing)",
    ),
    "dynamodb_write_request_unit": Price(
        0.625 / 1e6,
        "DynamoDB on-demand write request unit: one write of up to 1 KB (price since the November 2024 cut)",
        "https://aws.amazon.com/dynamodb/pricing/on-demand/ (us-east-1; quoted by "
        "https://airbyte.com/data-engineering-resources/dynamodb-pricing, July 2025)",
    ),
    "dynamodb_storage_gb_month": Price(
        0.25,
        "DynamoDB Standard table class storage, per GB-month beyond the first 25 GB (indexes included)",
        "https://aws.amazon.com/dynamodb/pricing/on-demand/ (us-east-1)",
    ),
    "cloudwatch_logs_gb": Price(
        0.50,
        "GB of Lambda logs ingested into CloudWatch Logs, Standard class, first tier",
        "https://aws.amazon.com/cloudwatch/pricing/ (tiered for Lambda logs since May 2025; first tier $0.50/GB "
        "per https://www.duckbillgroup.com/?p=9080)",
    ),
    "api_gateway_rest_request": Price(
        3.50 / 1e6,
        "API Gateway REST API request, first 333 million a month",
        "https://docs.aws.amazon.com/whitepapers/latest/best-practices-api-gateway-private-apis-integration/cost-optimization.html",
    ),
}

#: Powertools' idempotency record is written twice per first delivery of an occurrence: the INPROGRESS Put
#: and the COMPLETED update, each inside one of the callback's two transactions since issue 19 (the start and
#: the end write, docs/architecture.md), so each at the transactional rate.
IDEMPOTENCY_WRITES_PER_TASK = 2
#: A transactional write costs two units per KB of each item it names.
TRANSACTIONAL_UNITS = 2
#: What the two transactions write in the task ledger besides the idempotency record: the start counts the
#: attempt on the run item, checks the task item (a ConditionCheck, counted here as a write of it: the
#: conservative reading) and puts the request's pointer item (under 1 KB); the end writes the run and the task.
LEDGER_RUN_WRITES, LEDGER_TASK_WRITES, LEDGER_POINTER_WRITES = 2, 2, 1
#: A task item (on AWS every task has an owner) is in ByUser, ByState and ByOwner: each change of it
#: writes each of them once; a one-time task's final run also moves it to another ByState partition (a
#: delete and a put: one more) and leaves LiveByOwner (one more).
LEDGER_INDEX_WRITES_PER_RUN = 5
#: A create writes the task item (one conditional PutItem) and its four index entries.
LEDGER_INDEX_WRITES_PER_CREATE = 4


@dataclass(frozen=True)
class Line:
    """One line of the bill: what, how many per million tasks, and the arithmetic."""

    item: str
    quantity: str
    arithmetic: str
    usd: float


def dollars(value: float) -> str:
    """`value` as AWS writes a price: at least two decimals, no trailing zeros beyond them."""
    whole, _, cents = f"{value:.10f}".rstrip("0").partition(".")
    return f"${whole}.{cents.ljust(2, '0')}"


def dollars_per_unit(usd: float) -> str:
    """A unit price: per million when below a hundredth of a cent."""
    return f"{dollars(usd * 1e6)} per million" if usd < 1e-5 and usd * 1e6 >= 0.01 else dollars(usd)


def billed_ms(durations_ms: list[float]) -> float:
    """Mean billed duration: Lambda rounds each invocation up to the next whole millisecond."""
    return sum(math.ceil(d) for d in durations_ms) / len(durations_ms)


def _requests(item: str, count: float, price: str) -> Line:
    usd = PRICES[price].usd
    return Line(item, f"{count:,.0f}", f"{count:,.0f} × {dollars(usd * 1e6)} / 1M", count * usd)


def _duration(item: str, quantity: str, count: float, ms: float, memory_mb: int) -> Line:
    """`count` invocations of `ms` each at `memory_mb`."""
    gb = memory_mb / 1024
    gbs = count * gb * ms / 1000
    price = f"{PRICES['lambda_arm_gb_second'].usd:.10f}".rstrip("0")
    arithmetic = f"{count:,.0f} × {gb:g} GB × {ms:.2f} ms = {gbs:,.1f} GB-s × ${price}"
    return Line(item, quantity, arithmetic, gbs * PRICES["lambda_arm_gb_second"].usd)


def _writes(item: str, quantity: str, units: float) -> Line:
    usd = PRICES["dynamodb_write_request_unit"].usd
    return Line(item, quantity, f"{units:,} × 1,000,000 WRU × {dollars(usd * 1e6)} / 1M", units * 1e6 * usd)


def _logs(item: str, log_bytes: float, count: float) -> Line:
    gb = log_bytes * count / 1e9
    usd = PRICES["cloudwatch_logs_gb"].usd
    return Line(item, f"{log_bytes:,.0f} B each", f"{gb:.3f} GB × {dollars(usd)}", gb * usd)


def delivery_lines(
    *,
    duration_ms: float,
    init_ms: float,
    log_bytes: float,
    memory_mb: int,
    idempotent: bool,
    record_bytes: int | None = None,
    ledger_bytes: dict[str, int | None] | None = None,
) -> list[Line]:
    """What one million deliveries of a task cost: Scheduler, Lambda (requests, duration, INIT), DynamoDB, logs."""
    cold = 1e6 * COLD_START_SHARE
    lines = [
        _requests("EventBridge Scheduler invocations", 1e6, "scheduler_invocation"),
        _requests("Lambda requests", 1e6, "lambda_request"),
        _duration("Lambda duration (warm, billed mean)", f"{duration_ms:.2f} ms each", 1e6, duration_ms, memory_mb),
        _duration(
            f"Lambda INIT ({COLD_START_SHARE:.0%} of invocations cold)",
            f"{cold:,.0f} × {init_ms:.0f} ms",
            cold,
            init_ms,
            memory_mb,
        ),
    ]
    if idempotent:
        # A write of an item up to 1 KB is one unit; larger items take one more per started KB.
        units = TRANSACTIONAL_UNITS * IDEMPOTENCY_WRITES_PER_TASK * max(1, math.ceil((record_bytes or 0) / 1024))
        size = f", records of {record_bytes:,} B" if record_bytes else ""
        lines += [
            _writes(
                "DynamoDB writes (idempotency record)",
                f"{IDEMPOTENCY_WRITES_PER_TASK} transactional writes{size}: {units} WRU",
                units,
            ),
            _ledger_run_writes(ledger_bytes or {}),
            _writes(
                "DynamoDB writes (task ledger indexes)",
                f"{LEDGER_INDEX_WRITES_PER_RUN} index writes of the task item's projection (under 1 KB)",
                LEDGER_INDEX_WRITES_PER_RUN,
            ),
            _ledger_storage(ledger_bytes or {}),
        ]
    return [*lines, _logs("CloudWatch Logs (the function's own lines)", log_bytes, 1e6)]


def measured_writes(heat: dict[str, Any], operation: str) -> list[Line]:
    """The DynamoDB write lines of one million `operation`s (`create` or `run`) as the heat model measured them
    through the entry points (bench/heat.py): every write unit, of each table with its indexes, by DynamoDB's rules."""
    phase = heat[operation]
    by_table: dict[str, float] = {}
    for part in phase["partitions"]:
        by_table[part["table"]] = by_table.get(part["table"], 0.0) + part.get("write_units_per_op", 0.0)
    names = {"IdempotencyTable": "the idempotency record", "TaskLedgerTable": "the task ledger and its indexes"}
    return [
        _writes(
            f"DynamoDB writes ({names.get(table, table)}; measured)",
            f"{units:g} WRU a {'create' if operation == 'create' else 'first delivery'} "
            f"(make bench-heat, {phase['operations']} measured)",
            units,
        )
        for table, units in sorted(by_table.items())
    ]


def _units(size: int | None) -> int:
    """Write request units of one plain write of an item of `size` bytes (one per started KB)."""
    return max(1, math.ceil((size or 0) / 1024))


def _ledger_run_writes(ledger_bytes: dict[str, int | None]) -> Line:
    task, run = _units(ledger_bytes.get("TASK")), _units(ledger_bytes.get("RUN#"))
    items = LEDGER_RUN_WRITES * run + LEDGER_TASK_WRITES * task + LEDGER_POINTER_WRITES
    units = TRANSACTIONAL_UNITS * items
    sizes = ", ".join(f"{k.rstrip('#').lower()} item {v:,} B" for k, v in sorted(ledger_bytes.items()) if v)
    return _writes(
        "DynamoDB writes (task ledger: in the start and end transactions)",
        f"run ×{LEDGER_RUN_WRITES}, task ×{LEDGER_TASK_WRITES}, pointer ×{LEDGER_POINTER_WRITES}, "
        f"× {TRANSACTIONAL_UNITS} (transactional){f' ({sizes})' if sizes else ''}: {units} WRU",
        units,
    )


#: How long the ledger keeps an ended task (TaskRetentionSeconds' default: 7 days), in months of 30 days.
RETENTION_MONTHS = 7 / 30
#: Bytes DynamoDB adds to every item, in the table and in each index, for its own bookkeeping.
ITEM_OVERHEAD_BYTES = 100


def _ledger_storage(ledger_bytes: dict[str, int | None]) -> Line:
    """A million tasks' items (task, run, the task's three projected index entries) kept for the retention period."""
    task, run = ledger_bytes.get("TASK") or 1024, ledger_bytes.get("RUN#") or 1024
    # The table's task item, its copies in ByUser, ByState and ByOwner (they project most of it), the run.
    per_task = 4 * (task + ITEM_OVERHEAD_BYTES) + run + ITEM_OVERHEAD_BYTES
    gb = per_task * 1e6 / 1e9
    usd = PRICES["dynamodb_storage_gb_month"].usd
    return Line(
        "DynamoDB storage (task ledger, 7 days)",
        f"{per_task:,} B per task",
        f"{gb:.2f} GB × {RETENTION_MONTHS:.3f} months × {dollars(usd)}",
        gb * RETENTION_MONTHS * usd,
    )


def create_lines(
    *, duration_ms: float, log_bytes: float, memory_mb: int, batch_size: int = 1, task_bytes: int | None = None
) -> list[Line]:
    """What creating one million tasks through the API costs: API Gateway, the scheduler function, the ledger."""
    requests = 1e6 / batch_size
    units = _units(task_bytes)
    return [
        _writes(
            "DynamoDB writes (task ledger: the task item and its index entries)",
            f"1 conditional PutItem{f' of {task_bytes:,} B' if task_bytes else ''}: {units} WRU, "
            f"+ {LEDGER_INDEX_WRITES_PER_CREATE} index writes",
            units + LEDGER_INDEX_WRITES_PER_CREATE,
        ),
        _requests("API Gateway REST requests", requests, "api_gateway_rest_request"),
        _requests("Lambda requests (scheduler)", requests, "lambda_request"),
        _duration(
            "Lambda duration (scheduler, billed mean)", f"{duration_ms:.2f} ms each", requests, duration_ms, memory_mb
        ),
        _logs("CloudWatch Logs (scheduler)", log_bytes, requests),
    ]


def total(lines: list[Line]) -> float:
    """The sum of the lines."""
    return sum(line.usd for line in lines)


def figures(r: dict[str, Any], memory_mb: int) -> dict[str, list[Line]]:
    """The bills from one run's measurements (`r`, performance.json): delivering and, if measured, creating."""
    warm, cold, s = r["warm"], r["cold_start"], r.get("scheduling")
    ours, guide = warm["callback:enabled"], warm["guide"]
    bills = {
        "callback": delivery_lines(
            duration_ms=ours["billed_ms_mean"],
            init_ms=cold["callback"]["init_ms"]["p50"],
            log_bytes=ours["log_bytes_per_invocation"],
            memory_mb=memory_mb,
            idempotent=True,
            record_bytes=ours.get("idempotency_record_bytes"),
            ledger_bytes=ours.get("ledger_item_bytes"),
        ),
        "guide": delivery_lines(
            duration_ms=guide["billed_ms_mean"],
            init_ms=cold["guide"]["init_ms"]["p50"],
            log_bytes=guide["log_bytes_per_invocation"],
            memory_mb=memory_mb,
            idempotent=False,
        ),
    }
    if s and "speedup" in s:
        for key, part, size in (
            ("create_single", s["single"], 1),
            ("create_batch", s["batch"], s["batch"]["batch_size"]),
        ):
            bills[key] = create_lines(
                duration_ms=part["billed_ms_mean"],
                log_bytes=part["log_bytes_per_request"],
                memory_mb=memory_mb,
                batch_size=size,
                task_bytes=s.get("task_item_bytes"),
            )
    heat = r.get("heat")
    if heat:  # the writes as measured through the entry points, in place of the modelled ones
        for key, operation in (("callback", "run"), ("create_single", "create"), ("create_batch", "create")):
            if key in bills:
                bills[key] = with_measured(bills[key], measured_writes(heat, operation))
    return bills


def with_measured(lines: list[Line], measured: list[Line]) -> list[Line]:
    """`lines` with their modelled DynamoDB write lines replaced by `measured`, where the first of them stood."""
    first = next((i for i, line in enumerate(lines) if line.item.startswith("DynamoDB writes")), len(lines))
    kept = [line for line in lines if not line.item.startswith("DynamoDB writes")]
    return [*kept[:first], *measured, *kept[first:]]
