"""The policy room: who may see and change which task (scheduler_app.ownership, over namespaces.py and
principals.py). How many live tasks an owner may have (the quota) is checked by the ledger's claim itself, in the
transaction that creates the task (taskcore.quota): a count read first could not hold under concurrent creates.
"""

from __future__ import annotations

from scheduler_app.ownership import Ownership, acting_for

__all__ = ["Ownership", "acting_for"]
