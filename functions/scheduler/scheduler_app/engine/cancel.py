"""Cancel: the schedule deleted, then the task's record kept as `cancelled` (its retention starts).

policy (whose task) -> schedules (delete) -> ledger (state) . A record without its schedule (a one-time
task that just fired, or a create cut short) is cancelled too; a task that has ended is a 404 that says so.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger

from scheduler_app.engine.change import ended
from scheduler_app.engine.context import Context
from scheduler_app.errors import ScheduleNotFound
from scheduler_app.namespaces import TaskAddress
from taskcore.states import TaskState

logger = Logger(child=True)


def delete(ctx: Context, task_id: str) -> None:
    """Cancel the task: schedule deleted, record kept as cancelled; ScheduleNotFound when neither is live."""
    _cancel(ctx, ctx.address(task_id))


def delete_by_arn(ctx: Context, schedule_arn: str) -> None:
    """Cancel a schedule given its ARN (the guide's cancel); raise ScheduleNotFound unless it is one of ours.

    Only an ARN equal, character for character, to this stack's own ARN for that name cancels: another
    region, account, partition or group, or anything appended, names another schedule.
    """
    name = schedule_arn.rsplit("/", 1)[-1]
    if not name or schedule_arn != ctx.schedules.arn_of(name):
        raise ScheduleNotFound(f"{schedule_arn!r} is not the ARN of a schedule in this stack's group")
    if not ctx.caller.isolated:
        delete(ctx, name)
        return
    _cancel(ctx, ctx.owners.of_schedule(name, ctx.now))  # under owner isolation a name is no task id


def _cancel(ctx: Context, address: TaskAddress) -> None:
    task_id = address.task_id
    try:
        ctx.schedules.delete(address.schedule_name, task_id=task_id)
    except ScheduleNotFound as missing:
        record, _ = ctx.ledger.read(task_id, runs=0, now=ctx.now, scope=address.scope)
        if record is None:
            raise missing from None
        if record.ended:
            raise ScheduleNotFound(ended(record)) from None
        # A record without its schedule (a one-time task that just fired, or a create cut short): cancelled.
    ctx.ledger.set_state(task_id, TaskState.CANCELLED, ctx.now, scope=address.scope)
    logger.info("schedule deleted", extra={"task_id": task_id})
