"""The heat model: what one service role's workload puts on every partition key of the ledger, and the ceilings.

In this process, on moto's server on loopback with the tables from template.yaml, through the Lambda entry
points: ONE service role (the usual deployment: one backend's role, several instances, each its own session)
creates tasks for users drawn from 100,000 (one-time reminders due at the same 09:00, and one in five a
daily recurring task), through the scheduler API's handler; then every task's first occurrence is delivered
to the callback's handler, with the Input its schedule holds. bench.heat_probe counts every request the
functions' own DynamoDB clients send; bench.heat_units charges it to the partition keys of the tables and
indexes it writes and reads. Per operation (a create, a run): the units on the table and on each index,
the hottest key's share, and the rate at which the hottest key reaches DynamoDB's per-key limits.

Also the item-3 budget: the write units of a create and of its first delivery, 60-byte `data` and 60 KiB.
`make bench` measures it with the rest; `make bench-heat` alone (bench.run --only heat).
"""

from __future__ import annotations

import contextlib
import io
import json
import random
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.config import log
from bench.events import api_event
from bench.heat_probe import Probe, counting
from bench.heat_units import (
    PARTITION_READ_UNITS_PER_SECOND,
    PARTITION_WRITE_UNITS_PER_SECOND,
    Charge,
    table_shapes,
)

USERS = 100_000
CREATES = 500
#: One create in this many is a daily recurring task; the others are one-time reminders for the same 09:00.
RECURRING_EVERY = 5
SEED = 20
#: The one principal: sessions of one role (normalised by the API to the role, the tasks' one owner).
ROLE_SESSION = "arn:aws:sts::123456789012:assumed-role/orders-service/i-{instance}"
INSTANCES = 4
#: The item-3 budget's two sizes of `data` (its JSON text): 60 bytes and 60 KiB.
DATA_SIZES = {"60 B": 60, "60 KiB": 60 * 1024}
#: The item-3 budgets, in write units (docs/architecture.md, "Budgets"): a first delivery writes only small items,
#: whatever the task's data; a create writes its request once (2 units a KB in its transaction) and small items.
FIRST_DELIVERY_WRITE_UNITS = 24
CREATE_WRITE_UNITS_BESIDES_THE_REQUEST = 12
#: The goal of issue 20: ten times Scheduler's default invocation rate, and its CreateSchedule rate in large regions.
GOAL_RUNS_PER_SECOND, GOAL_CREATES_PER_SECOND = 10_000, 5_000
#: What the JSON says the rules are (bench/heat_units.py quotes each).
SOURCES = {
    "item size": "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html",
    "read and write units": "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html",
    "transactions": "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html",
    "index writes": "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html",
    "per-key limits": "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/warm-throughput-scenarios.html",
}


# -- the workload ---------------------------------------------------------------------------------


def nine_tomorrow(now: datetime | None = None) -> datetime:
    """The burst's moment: 09:00 UTC of the next day."""
    day = (now or datetime.now(UTC)).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, 9, tzinfo=UTC)


def create_requests(count: int, *, users: int = USERS, seed: int = SEED) -> list[dict[str, Any]]:
    """`count` create requests: users drawn from `users`, one in RECURRING_EVERY daily at 09:00, the rest at 09:00."""
    rng, at = random.Random(seed), nine_tomorrow().isoformat()
    requests = []
    for i in range(count):
        when = {"cron": "cron(0 9 * * ? *)", "timezone": "UTC"} if i % RECURRING_EVERY == 0 else {"run_at": at}
        data = {"notification_type": "daily_reminder", "channel": "push", "template": "reminder-0900"}
        user = rng.randrange(1, users + 1)
        requests.append({"task_id": f"heat-{i:05d}", "user_id": user, "action": "send_notification", "data": data})
        requests[-1].update(when)
    return requests


def sized_request(task_id: str, size: int) -> dict[str, Any]:
    """A create whose `data` is `size` bytes of JSON (generate_daily_report: its recipients)."""
    one = '{"recipients":[""]}'
    data: dict[str, Any] = {"recipients": ["x" * (size - len(one))]}
    assert len(json.dumps(data, separators=(",", ":"))) == size
    return {
        "task_id": task_id,
        "user_id": 7,
        "action": "generate_daily_report",
        "data": data,
        "run_at": nine_tomorrow(),
    }


def _api_call(api: Callable[..., Any], body: dict[str, Any], instance: int) -> dict[str, Any]:
    event = api_event("POST", "/api/v1/schedules", json.loads(json.dumps(body, default=str)))
    event["requestContext"]["identity"]["userArn"] = ROLE_SESSION.format(instance=instance)
    response = api(event, None)
    if int(response["statusCode"]) != 201:
        raise RuntimeError(f"create {body['task_id']}: {response['statusCode']} {response.get('body')}")
    created: dict[str, Any] = json.loads(response["body"])
    return created


def _deliver(callback: Callable[..., Any], scheduler: Any, created: dict[str, Any]) -> None:
    """Deliver the task's first occurrence as Scheduler would: its schedule's Input, context attributes filled."""
    from localcloud.lambda_context import LocalLambdaContext
    from taskcore import delivered_event

    schedule = scheduler.get_schedule(Name=created["schedule_name"], GroupName=created["group"])
    moment = datetime.fromisoformat(created["next_run_at"].replace("Z", "+00:00"))
    event = delivered_event(schedule["Target"]["Input"], schedule_arn=schedule["Arn"], scheduled_time=moment)
    response = callback(event, LocalLambdaContext())
    if int(response["statusCode"]) >= 300:
        raise RuntimeError(f"delivery of {created['task_id']}: {response['statusCode']} {response.get('body')}")


def _run_workload(probe: Probe, scheduler: Any, creates: int) -> dict[str, list[list[Charge]]]:
    """Each create, then each first delivery: the charges of each operation; then the item-3 budget's four."""
    from callback_app.handler import lambda_handler as callback
    from scheduler_app.handler import lambda_handler as api

    ops: dict[str, list[list[Charge]]] = defaultdict(list)
    created = []
    for i, request in enumerate(create_requests(creates)):
        created.append(_api_call(api, request, i % INSTANCES))
        ops["create"].append(probe.take())
    for task in created:
        _deliver(callback, scheduler, task)
        ops["run"].append(probe.take())
    for label, size in DATA_SIZES.items():
        task = _api_call(api, sized_request(f"heat-data-{size}", size), 0)
        ops[f"create:{label}"].append(probe.take())
        _deliver(callback, scheduler, task)
        ops[f"run:{label}"].append(probe.take())
    return ops


@contextlib.contextmanager
def _local_cloud() -> Iterator[tuple[Probe, Any]]:
    """moto's server with template.yaml's resources, the functions' settings, their DynamoDB clients counted."""
    import boto3

    from localcloud.endpoint import moto_endpoint, patched_environ
    from localcloud.template import load_template

    with moto_endpoint() as endpoint, patched_environ(endpoint.environment()):
        env = endpoint.environment()
        session = boto3.Session(
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            region_name=env["AWS_REGION"],
        )
        shapes = table_shapes(load_template())
        tables = {endpoint.resources.names[logical]: shape for logical, shape in shapes.items()}
        raw = session.client("dynamodb", endpoint_url=endpoint.url)
        with counting(raw, tables) as probe, contextlib.redirect_stdout(io.StringIO()):
            yield probe, session.client("scheduler", endpoint_url=endpoint.url)


def measure(creates: int = CREATES) -> dict[str, Any]:
    """The heat model's figures (the JSON `make bench` keeps under `heat`)."""
    ops: dict[str, list[list[Charge]]] | None = None
    try:
        with _local_cloud() as (probe, scheduler):
            ops = _run_workload(probe, scheduler, creates)
            unaccounted = dict(probe.unaccounted)
    except OSError as error:  # TimeoutError included
        if ops is None:
            raise
        # Measured; only the local endpoint's teardown failed (its reset once timed out after 1,000 creates).
        log(f"the local endpoint's teardown failed after the measurement: {error!r}")
    return _figures(creates, ops, unaccounted)


def _figures(creates: int, ops: dict[str, list[list[Charge]]], unaccounted: dict[str, int]) -> dict[str, Any]:
    return {
        "workload": {
            "creates": creates,
            "runs": len(ops["run"]),
            "users_drawn_from": USERS,
            "distinct_users": len({r["user_id"] for r in create_requests(creates)}),
            "recurring": len(range(0, creates, RECURRING_EVERY)),
            "principal": ROLE_SESSION.format(instance="<n>"),
            "sessions": INSTANCES,
        },
        "limits": {
            "write_units_per_key_per_second": PARTITION_WRITE_UNITS_PER_SECOND,
            "read_units_per_key_per_second": PARTITION_READ_UNITS_PER_SECOND,
        },
        "create": summarise(ops["create"]),
        "run": summarise(ops["run"]),
        # Each task created and run once, at the same rate: the steady state of a daily reminder.
        "task": summarise([create + run for create, run in zip(ops["create"], ops["run"], strict=True)]),
        "data_budget": {
            label: {
                "create_write_units": _total(ops[f"create:{label}"], "write"),
                "first_delivery_write_units": _total(ops[f"run:{label}"], "write"),
            }
            for label in DATA_SIZES
        },
        "unaccounted_requests": unaccounted,
        "sources": SOURCES,
    }


# -- the figures ----------------------------------------------------------------------------------


def _total(ops: list[list[Charge]], kind: str) -> float:
    return sum(c.units for op in ops for c in op if c.kind == kind) / max(1, len(ops))


def summarise(ops: list[list[Charge]]) -> dict[str, Any]:
    """Per operation of `ops` (each its charges): units on each table and index, the hottest keys, the ceiling."""
    n = max(1, len(ops))
    per_key: dict[tuple[str, str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for op in ops:
        for c in op:
            per_key[(c.table, c.index, c.kind)][c.key] += c.units
    limits = {"write": PARTITION_WRITE_UNITS_PER_SECOND, "read": PARTITION_READ_UNITS_PER_SECOND}
    parts: dict[str, dict[str, Any]] = {}
    for (table, index, kind), keys in sorted(per_key.items()):
        part = parts.setdefault(f"{table}/{index}", {"table": table, "index": index})
        total = sum(keys.values())
        hottest = max(keys, key=lambda k: keys[k])
        part[f"{kind}_units_per_op"] = round(total / n, 4)
        part[f"{kind}_keys"] = len(keys)
        part[f"hottest_{kind}_key"] = hottest
        part[f"hottest_{kind}_share"] = round(keys[hottest] / total, 4)
        part[f"{kind}_ceiling_per_second"] = round(limits[kind] / (keys[hottest] / n), 1)
    for part in parts.values():
        part["ceiling_per_second"] = min(v for k, v in part.items() if k.endswith("_ceiling_per_second"))
    ceiling = min((p["ceiling_per_second"] for p in parts.values()), default=None)
    return {
        "operations": len(ops),
        "write_units_per_op": round(_total(ops, "write"), 4),
        "read_units_per_op": round(_total(ops, "read"), 4),
        "read_units_of_the_last_op": _total(ops[-1:], "read"),
        "partitions": list(parts.values()),
        "ceiling_per_second": ceiling,
        "limited_by": [_limiting(p) for p in parts.values() if p["ceiling_per_second"] == ceiling],
    }


def _limiting(part: dict[str, Any]) -> dict[str, Any]:
    """Where a partition reaches its limit first: its hottest key, for writes or for reads."""
    kind = "write" if part.get("write_ceiling_per_second") == part["ceiling_per_second"] else "read"
    return {"table": part["table"], "index": part["index"], "kind": kind, "key": part[f"hottest_{kind}_key"]}
