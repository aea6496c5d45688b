"""The policy room: who may see and change which task (scheduler_app.ownership, over namespaces.py and
principals.py) and how many live tasks an owner may have (the quota, here). Over the ledger port only.
"""

from __future__ import annotations

from scheduler_app.errors import QuotaExceeded
from scheduler_app.ownership import Ownership, acting_for
from scheduler_app.ports import TaskLedgerPort
from scheduler_app.principals import Caller


def check_quota(caller: Caller, ledger: TaskLedgerPort, *, most: int) -> None:
    """Refuse a create when its owner already has `most` live tasks (MAX_ACTIVE_SCHEDULES_PER_OWNER)."""
    owner = caller.principal
    if owner is None:  # no principal (a direct invocation, `make dev` without one): nobody to count
        return
    if ledger.count_live(owner, up_to=most) >= most:
        raise QuotaExceeded(
            f"{owner} already has {most} active schedules, the most this stack allows "
            "(MaxActiveSchedulesPerOwner); cancel some, or wait for one-time tasks to run"
        )


__all__ = ["Ownership", "acting_for", "check_quota"]
