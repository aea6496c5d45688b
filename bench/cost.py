"""Cost per million tasks from the measured durations, log volume and storage writes.

Prices are us-east-1 list prices, without free tiers (the marginal cost at scale), read on
PRICES_READ from the sources named on each price. Change them here; `make bench` redoes the sums.
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

INIT_BILLING_SOURCE = "https://aws.amazon.com/blogs/compute/aws-lambda-standardizes-billing-for-init-phase"

#: Powertools' DynamoDB persistence layer writes twice per first delivery of an occurrence: PutItem
#: (the INPROGRESS record, conditional) and UpdateItem (COMPLETED, with the stored result).
IDEMPOTENCY_WRITES_PER_TASK = 2
#: The callback counts each invocation of an occurrence (lambda_attempt): one UpdateItem of a small item.
COUNT_WRITES_PER_TASK = 1


@dataclass(frozen=True)
class Line:
    """One line of the bill: what, how many per million tasks, and the arithmetic."""

    item: str
    quantity: str
    arithmetic: str
    usd: float


def billed_ms(durations_ms: list[float]) -> float:
    """Mean billed duration: Lambda rounds each invocation up to the next whole millisecond."""
    return sum(math.ceil(d) for d in durations_ms) / len(durations_ms)


def gb_seconds_cost(count: float, ms: float, memory_mb: int) -> tuple[float, str]:
    """Cost of `count` invocations of `ms` each at `memory_mb`, and the arithmetic."""
    gb = memory_mb / 1024
    gbs = count * gb * ms / 1000
    usd = gbs * PRICES["lambda_arm_gb_second"].usd
    price = f"{PRICES['lambda_arm_gb_second'].usd:.10f}".rstrip("0")
    return usd, f"{count:,.0f} × {gb:g} GB × {ms:.2f} ms = {gbs:,.1f} GB-s × ${price}"


def delivery_lines(
    *,
    duration_ms: float,
    init_ms: float,
    log_bytes: float,
    memory_mb: int,
    idempotent: bool,
    record_bytes: int | None = None,
) -> list[Line]:
    """What one million deliveries of a task cost: Scheduler, Lambda (requests, duration, INIT), DynamoDB, logs."""
    p = PRICES
    lines = [
        Line(
            "EventBridge Scheduler invocations",
            "1,000,000",
            "1,000,000 × $1.00 / 1M",
            1e6 * p["scheduler_invocation"].usd,
        ),
        Line("Lambda requests", "1,000,000", "1,000,000 × $0.20 / 1M", 1e6 * p["lambda_request"].usd),
    ]
    usd, text = gb_seconds_cost(1e6, duration_ms, memory_mb)
    lines.append(Line("Lambda duration (warm, billed mean)", f"{duration_ms:.2f} ms each", text, usd))
    cold = 1e6 * COLD_START_SHARE
    init_usd, init_text = gb_seconds_cost(cold, init_ms, memory_mb)
    lines.append(
        Line(
            f"Lambda INIT ({COLD_START_SHARE:.0%} of invocations cold)",
            f"{cold:,.0f} × {init_ms:.0f} ms",
            init_text,
            init_usd,
        )
    )
    if idempotent:
        # A write of an item up to 1 KB is one unit; larger items take one more per started KB.
        units = IDEMPOTENCY_WRITES_PER_TASK * max(1, math.ceil((record_bytes or 0) / 1024))
        size = f", records of {record_bytes:,} B" if record_bytes else ""
        lines.append(
            Line(
                "DynamoDB writes (idempotency record)",
                f"{IDEMPOTENCY_WRITES_PER_TASK} writes{size}: {units} WRU",
                f"{units:,} × 1,000,000 WRU × $0.625 / 1M",
                units * 1e6 * p["dynamodb_write_request_unit"].usd,
            )
        )
        lines.append(
            Line(
                "DynamoDB writes (invocation count)",
                f"{COUNT_WRITES_PER_TASK} write of an item under 1 KB: {COUNT_WRITES_PER_TASK} WRU",
                f"{COUNT_WRITES_PER_TASK:,} × 1,000,000 WRU × $0.625 / 1M",
                COUNT_WRITES_PER_TASK * 1e6 * p["dynamodb_write_request_unit"].usd,
            )
        )
    gb = log_bytes * 1e6 / 1e9
    lines.append(
        Line(
            "CloudWatch Logs (the function's own lines)",
            f"{log_bytes:,.0f} B each",
            f"{gb:.3f} GB × $0.50",
            gb * p["cloudwatch_logs_gb"].usd,
        )
    )
    return lines


def create_lines(*, duration_ms: float, log_bytes: float, memory_mb: int, batch_size: int = 1) -> list[Line]:
    """What creating one million tasks through the API costs: API Gateway and the scheduler function."""
    p = PRICES
    requests = 1e6 / batch_size
    usd, text = gb_seconds_cost(requests, duration_ms, memory_mb)
    gb = log_bytes * requests / 1e9
    return [
        Line(
            "API Gateway REST requests",
            f"{requests:,.0f}",
            f"{requests:,.0f} × $3.50 / 1M",
            requests * p["api_gateway_rest_request"].usd,
        ),
        Line(
            "Lambda requests (scheduler)",
            f"{requests:,.0f}",
            f"{requests:,.0f} × $0.20 / 1M",
            requests * p["lambda_request"].usd,
        ),
        Line("Lambda duration (scheduler, billed mean)", f"{duration_ms:.2f} ms each", text, usd),
        Line(
            "CloudWatch Logs (scheduler)",
            f"{log_bytes:,.0f} B each",
            f"{gb:.3f} GB × $0.50",
            gb * p["cloudwatch_logs_gb"].usd,
        ),
    ]


def total(lines: list[Line]) -> float:
    """The sum of the lines."""
    return sum(line.usd for line in lines)


def as_json(lines: list[Line]) -> list[dict[str, Any]]:
    """The lines as JSON-able dicts."""
    return [{"item": x.item, "quantity": x.quantity, "arithmetic": x.arithmetic, "usd": x.usd} for x in lines]
