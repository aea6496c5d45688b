"""One clock: `taskcore.clock` is what every path reads, and `localcloud.virtual_time` points moto's Scheduler,
Powertools' idempotency and the Lambda context at it too. These tests fail when a library moves what is patched."""

from __future__ import annotations

import importlib
import inspect
from datetime import UTC, datetime, timedelta

import pytest

from localcloud.clock import FakeClock
from localcloud.virtual_time import MOTO_SCHEDULER, POWERTOOLS_MODULES, VirtualLambdaContext, virtual_time
from taskcore import clock
from taskcore.registry import TaskContext

FAR = datetime(2040, 6, 1, 12, 0, tzinfo=UTC)


def test_the_process_clock_is_the_wall_clock_until_a_test_replaces_it_and_comes_back_after() -> None:
    assert abs(clock.utcnow() - datetime.now(UTC)) < timedelta(seconds=5)
    with clock.use_clock(lambda: FAR):
        assert clock.utcnow() == FAR
        assert TaskContext(task_id="t", user_id=1, action="a").now() == FAR  # what an action reads
    assert abs(clock.utcnow() - datetime.now(UTC)) < timedelta(seconds=5)


def test_the_scheduler_and_the_callback_read_the_process_clock() -> None:
    from callback_app import outcome, rejections, run, service
    from scheduler_app import engine
    from scheduler_app.adapters import memory

    assert inspect.signature(engine.Engine).parameters["clock"].default is clock.utcnow
    for module in (outcome, rejections, run, service, memory):
        source = inspect.getsource(module)
        assert "datetime.now(" not in source, f"{module.__name__} reads the wall clock itself"
    with clock.use_clock(lambda: FAR):
        assert memory.system_clock() == FAR
        assert run.Run().started_at == FAR


@pytest.mark.parametrize("name", POWERTOOLS_MODULES)
def test_powertools_idempotency_reads_now_through_its_datetime_module(name: str) -> None:
    module = importlib.import_module(name)
    assert module.dt.__name__ == "datetime"
    assert "dt.datetime.now()" in inspect.getsource(module)


def test_powertools_records_expire_in_virtual_time() -> None:
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

    record = DataRecord(idempotency_key="k", status="COMPLETED", expiry_timestamp=int(FAR.timestamp()) - 60)
    assert not record.is_expired  # by the wall clock: years from now
    with virtual_time(lambda: FAR):
        assert record.is_expired  # by the virtual clock: a minute ago
    assert not record.is_expired


def test_moto_scheduler_stamps_follow_the_virtual_clock_and_never_repeat() -> None:
    scheduler = importlib.import_module(MOTO_SCHEDULER)
    original = (scheduler.unix_time, scheduler.utcnow)
    with virtual_time(lambda: FAR):
        first, second = scheduler.unix_time(), scheduler.unix_time()
        assert first == pytest.approx(FAR.timestamp())
        assert second > first  # two changes at one virtual instant are two revisions
        assert scheduler.utcnow() == FAR.replace(tzinfo=None)
    assert (scheduler.unix_time, scheduler.utcnow) == original


def test_the_lambda_context_counts_down_in_virtual_time() -> None:
    fake = FakeClock(FAR)
    with clock.use_clock(fake.now):
        context = VirtualLambdaContext(timeout_seconds=30)
        fake.advance(12)
        assert context.get_remaining_time_in_millis() == 18_000
        fake.advance(60)
        assert context.get_remaining_time_in_millis() == 0
