"""`--persist PATH`: every acknowledged change is durable before it is acknowledged.

A write-ahead journal (`PATH.journal`, one JSON line per change, flushed and fsynced before the change is
answered) beside the snapshot (`PATH`, the format of `localcloud.persist`):

- moto's mutating requests (`localcloud.moto_journal`): after a DynamoDB write, the items it named as they now
  are; after an SQS send or delete, that queue's messages; after a Scheduler create, update or delete, that
  schedule (with moto's own stamps) or its absence. Each is written before moto's answer leaves the process:
  a client that saw its write succeed finds it after any crash;
- the Scheduler emulator's occurrences fired (once their delivery ended, accepted or dead-lettered: a crash
  before delivers it again, which the idempotency record makes a duplicate, never a loss);
- the Lambda emulator's events: accepted, waiting for a retry, finished. One accepted and not finished when the
  process died runs again after the restart (its idempotency record decides: a finished action is replayed,
  one still in progress waits for its record to expire, as after a Lambda timeout).

At the start the snapshot is read, the journal replayed over it (a torn last line, written when the process
died, is ignored: it was never acknowledged), the result restored and written as the new snapshot, and the
journal emptied; every `compact_every` entries the same compaction runs again. Each entry sets a thing to its
value (not a delta), so replaying one twice changes nothing.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from localcloud.persist import FORMAT, VERSION, _json_default, read_state_file, write_state_file

__all__ = ["Journal", "journal_path", "key_of"]

#: Table name -> its key attributes (hash, then range).
KeyAttributes = Callable[[str], list[str]]


def journal_path(snapshot: Path) -> Path:
    """Where the journal of a snapshot file lives."""
    return snapshot.with_name(snapshot.name + ".journal")


def key_of(item: dict[str, Any], attributes: Iterable[str]) -> str:
    """An item's key as one string (its key attributes, sorted JSON)."""
    return json.dumps({name: item.get(name) for name in attributes}, sort_keys=True)


class Journal:
    """The state as of the last acknowledged change, kept in memory and in the snapshot plus journal on disk."""

    def __init__(self, path: Path, key_attributes: KeyAttributes, *, compact_every: int = 2_000) -> None:
        self.path = path
        self.journal = journal_path(path)
        self._keys = key_attributes
        self._compact_every = compact_every
        self._lock = threading.RLock()
        self._file: Any = None
        self._since_compaction = 0
        self.groups: set[str] = set()
        self.schedules: dict[tuple[str, str], dict[str, Any]] = {}
        self.tables: dict[str, dict[str, dict[str, Any]]] = {}
        self.queues: dict[str, list[dict[str, Any]]] = {}
        self.fired: dict[tuple[str, str], str] = {}
        self.pending: dict[str, dict[str, Any]] = {}
        self.replayed = 0

    # -- reading -------------------------------------------------------------------------------------------------

    def load(self) -> dict[str, Any] | None:
        """The snapshot with the journal replayed over it (None when neither exists), in `persist`'s format."""
        saved = read_state_file(self.path)
        if saved is None and not self.journal.exists():
            return None
        self._take_snapshot(saved or {})
        if self.journal.exists():
            for line in self.journal.read_text(encoding="utf-8").splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:
                    break  # torn by the crash: never acknowledged
                self.apply(entry)
                self.replayed += 1
        return self.state()

    def _take_snapshot(self, saved: dict[str, Any]) -> None:
        self.groups = set(saved.get("schedule_groups", []))
        self.schedules = {(s["GroupName"], s["Name"]): s for s in saved.get("schedules", [])}
        self.tables = {}
        for table, items in saved.get("tables", {}).items():
            try:
                attributes = self._keys(table)
            except Exception:  # noqa: S112  # nosec B112  # not a table of the template any more: restore skips it too
                continue
            self.tables[table] = {key_of(item, attributes): item for item in items}
        self.queues = {name: list(messages) for name, messages in saved.get("queues", {}).items()}
        dispatcher = saved.get("dispatcher", {})
        self.fired = {(arn, created): due for arn, created, due in dispatcher.get("last_fired", [])}
        self.pending = {entry["request_id"]: entry for entry in dispatcher.get("invocations", [])}

    def state(self) -> dict[str, Any]:
        """Everything, in `localcloud.persist`'s snapshot format."""
        with self._lock:
            return {
                "format": FORMAT,
                "version": VERSION,
                "saved_at": datetime.now(UTC).isoformat(),
                "schedule_groups": sorted(self.groups),
                "schedules": list(self.schedules.values()),
                "tables": {table: list(items.values()) for table, items in self.tables.items()},
                "queues": {name: list(messages) for name, messages in self.queues.items()},
                "dispatcher": {
                    "last_fired": [[arn, created, due] for (arn, created), due in self.fired.items()],
                    "invocations": list(self.pending.values()),
                },
            }

    # -- writing -------------------------------------------------------------------------------------------------

    def open(self) -> None:
        """Compact what was loaded into a new snapshot, then journal every change from now on."""
        with self._lock:
            self._compact()

    def record(self, *entries: dict[str, Any]) -> None:
        """Make `entries` durable (written and fsynced), then apply them; compacts now and then."""
        if not entries:
            return
        lines = "".join(json.dumps(entry, default=_json_default, separators=(",", ":")) + "\n" for entry in entries)
        with self._lock:
            if self._file is None:
                return  # closed: the stop's snapshot has everything
            self._file.write(lines)
            self._file.flush()
            os.fsync(self._file.fileno())
            for entry in entries:
                self.apply(entry)
            self._since_compaction += len(entries)
            if self._since_compaction >= self._compact_every:
                self._compact()

    def close(self) -> None:
        """A last compaction; the journal is empty after it."""
        with self._lock:
            if self._file is not None:
                self._compact()
                self._file.close()
                self._file = None

    def _compact(self) -> None:
        write_state_file(self.path, self.state())
        if self._file is not None:
            self._file.close()
        self._file = self.journal.open("w", encoding="utf-8")
        self._file.flush()
        os.fsync(self._file.fileno())
        self._since_compaction = 0

    # -- the entries ---------------------------------------------------------------------------------------------

    def apply(self, entry: dict[str, Any]) -> None:
        """Set what `entry` names to its value."""
        kind = entry["t"]
        if kind == "item":
            items = self.tables.setdefault(entry["table"], {})
            if entry["item"] is None:
                items.pop(entry["key"], None)
            else:
                items[entry["key"]] = entry["item"]
        elif kind == "queue":
            self.queues[entry["name"]] = entry["messages"]
        elif kind == "schedule":
            if entry["record"] is None:
                self.schedules.pop((entry["group"], entry["name"]), None)
            else:
                self.schedules[(entry["group"], entry["name"])] = entry["record"]
        elif kind == "group":
            (self.groups.add if entry["exists"] else self.groups.discard)(entry["name"])
        else:
            self._apply_service(kind, entry)

    def _apply_service(self, kind: str, entry: dict[str, Any]) -> None:
        if kind == "fired":
            key = (entry["arn"], entry["created"])
            self.fired[key] = max(entry["due"], self.fired.get(key, entry["due"]))
        elif kind == "accepted":
            self.pending[entry["invocation"]["request_id"]] = entry["invocation"]
        elif kind == "retry":
            pending = self.pending.get(entry["request_id"])
            if pending is not None:
                pending.update(attempts=entry["attempts"], retry_at=entry["retry_at"])
        elif kind == "done":
            self.pending.pop(entry["request_id"], None)
        else:
            raise ValueError(f"unknown journal entry {kind!r}")
