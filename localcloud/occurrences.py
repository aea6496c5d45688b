"""When a schedule's next occurrence is due, as the Scheduler emulator (`localcloud.dispatcher`) fires it: a
one-time schedule once, unless it expired before it was seen; a recurring one after the last fired, without a
backlog from before it was seen (`catch_up`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from localcloud.schedules import Schedule
from localcloud.stats import LogSink, log_record
from taskcore.expressions import AtExpression, Expression, next_fire_time

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TICK = timedelta(microseconds=1)


def one_time_occurrence(
    schedule: Schedule, expression: AtExpression, now: datetime, last: datetime | None, *, log: LogSink
) -> datetime | None:
    """An `at()` schedule's time, unless it fired already, or had passed when this dispatcher first saw it."""
    due = next_fire_time(expression, after=last or _EPOCH, timezone=schedule.timezone)
    if due is None or last is not None:
        return due
    if due <= now and schedule.modified > schedule.created:
        # Enabled (or changed) after its time: AWS documents no catch-up for a one-time schedule, and
        # the API reports next_run_at null for it, so it does not run (docs/local-cloud.md).
        log(
            log_record(
                "dispatcher", "one-time schedule enabled after its time: it does not run", schedule=schedule.name
            )
        )
        return None
    if (now - due).total_seconds() > schedule.max_event_age_seconds:
        log(log_record("dispatcher", "one-time schedule expired before it was seen", schedule=schedule.name))
        return None
    return due


def recurring_occurrence(
    schedule: Schedule,
    expression: Expression,
    now: datetime,
    after: datetime | None,
    last: datetime | None,
    *,
    catch_up: timedelta,
) -> datetime | None:
    """A `cron()`/`rate()` schedule's next time after `after` (the occurrence just fired), else from the
    later of its revision and `catch_up_seconds` ago; never at or before the last one fired."""
    # Since this revision exists, by this dispatcher's clock: moto stamps revisions with the wall clock,
    # which a test's FakeClock may be behind (a revision "made in its future" must not skip occurrences).
    since = min(schedule.modified, now)
    floor = after if after is not None else max(since, now - catch_up) - _TICK
    if last is not None:
        floor = max(floor, last)
    return next_fire_time(
        expression,
        after=floor,
        timezone=schedule.timezone,
        start=schedule.start,
        end=schedule.end,
        created_at=schedule.created,
    )
