"""Property: any valid envelope survives builder -> Scheduler substitution -> Mangum -> FastAPI unchanged."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callback_app.handler import lambda_handler
from callback_app.main import app, task_runner
from callback_app.service import RunResult
from localcloud.lambda_context import LocalLambdaContext
from taskcore.envelope import TASK_ID_PATTERN, TaskEnvelope
from taskcore.proxy import SchedulerContext, delivered_event
from taskcore.registry import registry
from tests.callback.helpers import AnyData

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
envelopes: st.SearchStrategy[dict[str, Any]] = st.builds(
    dict,
    task_id=st.from_regex(TASK_ID_PATTERN, fullmatch=True).filter(lambda s: s.strip(".") != ""),  # not only dots
    user_id=st.integers() | st.text(min_size=1, max_size=128),
    action=st.just("spy"),
    data=st.dictionaries(st.text(max_size=20), json_values, max_size=6),
)
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2199, 12, 31), timezones=st.just(UTC)).map(
    lambda d: d.replace(microsecond=0)
)


class RecordingRunner:
    """Stands in for the idempotent runner: keeps what the route received."""

    def __init__(self) -> None:
        self.received: list[tuple[TaskEnvelope, SchedulerContext]] = []

    def run(self, envelope: TaskEnvelope, scheduler: SchedulerContext, lambda_context: Any, **_: Any) -> RunResult:
        self.received.append((envelope, scheduler))
        return RunResult(stored={"result": None}, replayed=False)


@pytest.fixture(scope="module")
def runner() -> Iterator[RecordingRunner]:
    recording = RecordingRunner()
    registry.action("spy", AnyData)(lambda data, task: None)
    app.dependency_overrides[task_runner] = lambda: recording
    yield recording
    app.dependency_overrides.clear()
    registry.unregister("spy")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fields=envelopes, scheduled=moments, attempt=st.integers(min_value=1, max_value=186))
def test_any_valid_envelope_round_trips_unchanged(runner, fields, scheduled, attempt):
    envelope = TaskEnvelope.model_validate(fields)
    execution_id = str(uuid.uuid4())
    event = delivered_event(
        envelope,
        schedule_arn=f"arn:aws:scheduler:us-east-1:123456789012:schedule/g/{envelope.task_id}",
        scheduled_time=scheduled,
        execution_id=execution_id,
        attempt=attempt,
    )
    response = lambda_handler(event, LocalLambdaContext())

    assert response["statusCode"] == 200, response["body"]
    received, scheduler = runner.received[-1]
    assert received.model_dump() == envelope.model_dump()
    assert type(received.user_id) is type(envelope.user_id)
    assert (scheduler.scheduled_time, scheduler.attempt, scheduler.execution_id) == (scheduled, attempt, execution_id)
