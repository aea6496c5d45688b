"""Which task a request addresses, in whose namespace of task ids, and whether its caller may act on it.

Under `Isolation=shared` there is one namespace and nothing is read to decide (every caller sees every
task). Under `Isolation=owner` a task id names the caller's own task (`scheduler_app.namespaces`), or
the one of the owner an admin names (`?owner=`). A task made before the switch keeps its shared name and
partition: when the caller's namespace has no such task, its owner (or an admin) still reaches it there.
Any other task does not exist for the caller: the answer is the 404 of a task that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from scheduler_app.errors import InvalidSchedule, ScheduleNotFound
from scheduler_app.namespaces import TaskAddress, readable_address
from scheduler_app.ports import SchedulesPort, TaskLedgerPort
from scheduler_app.principals import OWNER_ARN, Caller, normalise
from scheduler_app.records import RunRecord, TaskRecord


def acting_for(caller: Caller, owner: str) -> Caller:
    """The caller addressing `owner`'s tasks (`?owner=`): an admin acts as that owner; anyone else only as itself."""
    if not caller.isolated:
        raise InvalidSchedule(
            "owner: task ids are not kept per owner under Isolation=shared (every caller sees every task); leave it out"
        )
    if not OWNER_ARN.fullmatch(owner):
        raise InvalidSchedule(
            f"owner: {owner[:64]!r} is not an IAM ARN; give the owner as listings show it (arn:aws:iam::…)"
        )
    named = normalise(owner, caller.assumed_role_owner)
    if named == caller.principal:
        return caller
    if not caller.admin:
        raise InvalidSchedule(
            "owner: only the principals in AdminPrincipals may address another owner's tasks; "
            "leave owner out to address your own"
        )
    return caller.acting_for(named)


@dataclass(frozen=True)
class Ownership:
    """Finds the caller's tasks in the ledger (and, for the guide's cancel, from a schedule's name)."""

    caller: Caller
    ledger: TaskLedgerPort
    schedules: SchedulesPort

    def home(self, task_id: str) -> TaskAddress:
        """Where the caller's task `task_id` is created: its own namespace (the shared one when not isolated)."""
        return TaskAddress(task_id, self.caller.scope)

    def not_found(self, task_id: str) -> ScheduleNotFound:
        """The 404 of a task that does not exist, word for word (a hidden task must read the same)."""
        group = self.schedules.group
        return ScheduleNotFound(
            f"no schedule for task {task_id!r} in group {group!r} (never created, cancelled, or already run)"
        )

    def locate(
        self, task_id: str, *, runs: int, now: datetime
    ) -> tuple[TaskAddress, TaskRecord | None, list[RunRecord]]:
        """The caller's task `task_id`: where it is, its record (None: a schedule older than the ledger) and runs.

        Raises the not-found of a task that does not exist when the caller may not see it.
        """
        address = self.home(task_id)
        record, found = self.ledger.read(task_id, runs=runs, now=now, scope=address.scope)
        if record is None and address.scope is not None:  # not in its namespace: made before the switch?
            address = TaskAddress(task_id)
            record, found = self.ledger.read(task_id, runs=runs, now=now)
        if not self.caller.may_see(record.owner if record is not None else None):
            raise self.not_found(task_id)
        return address, record, found

    def address(self, task_id: str, now: datetime) -> TaskAddress:
        """Where the caller's task `task_id` is; under shared isolation without reading anything."""
        if not self.caller.isolated:
            return TaskAddress(task_id)
        return self.locate(task_id, runs=0, now=now)[0]

    def made_before(self, task_id: str, now: datetime) -> TaskRecord | None:
        """The caller's own task `task_id` of the shared namespace, made before owner isolation was turned on."""
        if self.caller.scope is None:
            return None
        record, _ = self.ledger.read(task_id, runs=0, now=now)
        return record if record is not None and record.owner == self.caller.principal else None

    def held(self, task_id: str, now: datetime) -> TaskRecord | None:
        """What holds the caller's task id: its task in its namespace, or its own made before the switch."""
        record, _ = self.ledger.read(task_id, runs=0, now=now, scope=self.caller.scope)
        return record if record is not None else self.made_before(task_id, now)

    def of_schedule(self, name: str, now: datetime) -> TaskAddress:
        """The task whose schedule is named `name`, if the caller may act on it; else the not-found of a task.

        Under owner isolation a name is not a task id: a readable name of the caller's scope says its task id;
        any other is looked up (the schedule's event names its task and scope).
        """
        address = readable_address(name, self.caller.scope) or self._from_schedule(name)
        if address.scope is None:
            self.locate_shared(address.task_id, now)
        elif address.scope != self.caller.scope and not self.caller.sees_all:
            raise self.not_found(address.task_id)
        return address

    def locate_shared(self, task_id: str, now: datetime) -> None:
        """Raise the not-found of a task unless the caller may see `task_id` of the shared namespace."""
        record, _ = self.ledger.read(task_id, runs=0, now=now)
        if not self.caller.may_see(record.owner if record is not None else None):
            raise self.not_found(task_id)

    def _from_schedule(self, name: str) -> TaskAddress:
        try:
            stored = self.schedules.get(name)
        except ScheduleNotFound:
            return TaskAddress(name)  # none by that name: the shared namespace's task of that id, if any
        task_id, scope = stored.task.get("task_id"), stored.scope
        if isinstance(task_id, str) and TaskAddress(task_id, scope).schedule_name == name:
            return TaskAddress(task_id, scope)
        return TaskAddress(name)
