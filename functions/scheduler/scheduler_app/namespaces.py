"""Where a task lives: its ledger partition and its schedule's name, in the shared namespace or in its owner's.

Under `Isolation=shared` (and for tasks made before `Isolation=owner` was turned on) task ids are one
namespace: the schedule is named after the task id and the ledger partition is `TASK#<task_id>`.

Under `Isolation=owner` each owner has its own task ids. An owner's *scope* is 16 characters of
base32 of the SHA-256 of its principal (80 bits: no two principals share one, and none can be
chosen to match another's). The scope prefixes the task's ledger partition (`TASK#<scope>#<task_id>`)
and its schedule's name, which stays unique in the stack's group, deterministic (the same owner and
task id always give the same name) and a valid schedule name (1..64 of `[0-9A-Za-z-_.]`):

- `<scope>.<task_id>` when that is at most 63 characters (a task id of up to 46), readable as it is;
- otherwise exactly 64: `<scope>.<first 26 characters of the task id>.<20 of base32 of SHA-256 of both>`.

The two forms differ in length, so they never meet. The scope, not the owner's ARN, travels in the
schedule's event (`X-Task-Scope`), so the callback writes each run to the right partition.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

#: Characters of an owner's scope (taskcore.ledger.SCOPE_PATTERN).
SCOPE_LENGTH = 16
#: EventBridge Scheduler's longest schedule name.
MAX_NAME_LENGTH = 64
#: The long form keeps this much of the task id, then a digest of this length.
_KEPT, _DIGEST = 26, 20


def _base32(text: str) -> str:
    return base64.b32encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii").lower()


def scope_of(owner: str) -> str:
    """The scope of `owner`'s task ids: 16 of `[a-z2-7]`, the same for the same principal."""
    return _base32(f"owner\n{owner}")[:SCOPE_LENGTH]


@dataclass(frozen=True)
class TaskAddress:
    """A task id in a namespace: the shared one (`scope` None) or one owner's."""

    task_id: str
    scope: str | None = None

    @property
    def schedule_name(self) -> str:
        """The name of the task's schedule in the stack's group."""
        if self.scope is None:
            return self.task_id
        short = f"{self.scope}.{self.task_id}"
        if len(short) < MAX_NAME_LENGTH:
            return short
        digest = _base32(f"{self.scope}\n{self.task_id}")[:_DIGEST]
        return f"{self.scope}.{self.task_id[:_KEPT]}.{digest}"


def readable_address(name: str, scope: str | None) -> TaskAddress | None:
    """The task of `scope` whose schedule has the readable name `name` (`<scope>.<task_id>`), or None."""
    prefix = f"{scope}."
    if scope is None or len(name) >= MAX_NAME_LENGTH or not name.startswith(prefix):
        return None
    return TaskAddress(name.removeprefix(prefix), scope)
