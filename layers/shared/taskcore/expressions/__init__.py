"""EventBridge Scheduler schedule expressions: parse, validate, and compute when they fire.

Pure Python (stdlib only). Used by the scheduler API, to refuse an invalid expression with a message that says
what is wrong and to report the next run time, and by the local dispatcher, to fire schedules the way EventBridge
Scheduler does.

The three forms (EventBridge Scheduler User Guide, "Schedule types in EventBridge Scheduler"; CreateSchedule API
reference, ``ScheduleExpression``):

- ``at(yyyy-mm-ddThh:mm:ss)`` - once, at that wall-clock time in the schedule's time zone.
- ``rate(value unit)`` - every ``value`` minutes, hours or days; a positive integer and one of
  ``minute | minutes | hour | hours | day | days``.
- ``cron(minutes hours day-of-month month day-of-week year)`` - six fields, evaluated on the wall clock of the
  schedule's time zone.

Semantics (each one is what the AWS documentation says, or, where it is silent, the choice stated here):

- **Time zones.** ``cron`` and ``at`` are read on the local wall clock of the IANA zone, then converted to UTC.
  ``rate`` is zone-independent: a fixed interval of absolute time ("``days`` represents a 24-hour duration").
- **Daylight saving time.** A wall time that does not exist (spring forward) is skipped; a wall time that occurs
  twice (fall back) fires once, at its first occurrence ("When time shifts backwards in the Fall, your schedule
  runs only once and does not repeat its invocation"). For a cron that fires several times an hour this means the
  repeated hour is not run a second time.
- **Start and end.** A recurring schedule's occurrences lie in ``[start, end]`` (``StartDate``: "invocations might
  occur on, or after, the StartDate"; ``EndDate``: "might stop on, or before, the EndDate"). "EventBridge Scheduler
  ignores StartDate [and EndDate] for one-time schedules", so ``at()`` ignores both.
- **Rate anchor.** "With rate-based schedules, you use the StartDate property to set the first occurrence of the
  schedule. If you do not provide a StartDate for a rate-based schedule, your schedule starts invoking the target
  immediately." So the occurrences are ``anchor + k * interval`` (k = 0, 1, 2, ...) where ``anchor`` is ``start``
  when given, else ``created_at`` (the moment the schedule was created), else ``after``; a start or creation
  time is taken in whole seconds, rounded up (a creation time has sub-seconds, occurrences do not). The anchor
  itself is the first occurrence; since results are *strictly after* ``after``, pass an ``after`` earlier than
  the anchor to get it.
- **rate units.** The Scheduler API reference lists ``minute | minutes | hour | hours | day | days`` with no rule
  tying the unit's number to the value, and the Scheduler User Guide itself writes ``rate(1 days)``. The rule
  "if the value is 1 the unit must be singular" belongs to legacy EventBridge *rules*. So both ``rate(1 minute)``
  and ``rate(1 minutes)`` are accepted; :attr:`RateExpression.expression` renders the form that satisfies both
  services (``rate(1 minute)``, ``rate(5 minutes)``).
- **cron day fields.** Exactly one of day-of-month and day-of-week is ``?`` ("You can't use * in both the
  Day-of-month and Day-of-week fields. If you use it in one, you must use ? in the other"; "If you specify a value
  or * in one of the fields, you must use ? in the other").
- **cron details the AWS pages leave open** follow Quartz, whose syntax AWS cron mirrors: a range whose end is
  below its start wraps around (``22-2`` hours is 22, 23, 0, 1, 2; ``FRI-MON``), except in the year field; ``L``
  alone in day-of-week is Saturday (the last day of the week); ``nW`` is the weekday nearest day ``n`` *within the
  same month*, and does not fire in a month that has no day ``n``; ``d#5`` does not fire in a month without a fifth
  such weekday. ``L-n`` offsets are not documented by AWS and are refused.
- **Precision.** Cron occurrences are whole minutes; ``at()`` keeps its seconds. (Delivery itself is within 60 s.)
"""

from __future__ import annotations

from taskcore.expressions.forms import (
    MAX_YEAR,
    MIN_YEAR,
    AtExpression,
    CronExpression,
    DaysOfMonth,
    DaysOfWeek,
    Expression,
    ExpressionError,
    RateExpression,
)
from taskcore.expressions.grammar import parse_expression
from taskcore.expressions.occurrences import fire_times, next_fire_time
from taskcore.expressions.zones import format_at, local_to_utc, parse_timezone

__all__ = [
    "MAX_YEAR",
    "MIN_YEAR",
    "AtExpression",
    "CronExpression",
    "DaysOfMonth",
    "DaysOfWeek",
    "Expression",
    "ExpressionError",
    "RateExpression",
    "fire_times",
    "format_at",
    "local_to_utc",
    "next_fire_time",
    "parse_expression",
    "parse_timezone",
]
