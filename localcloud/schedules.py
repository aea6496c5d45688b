"""The schedules as EventBridge Scheduler itself sees them: read straight from moto's in-process store, and
deleted through its API once they completed (`ScheduleDeleter`).

The dispatcher plays the Scheduler *service*, and a service reads its own storage rather than polling
its public API: reading moto's backend costs microseconds per schedule instead of an HTTP round trip
per `GetSchedule`, so a thousand schedules are re-checked every poll and a schedule cancelled a moment
before it is due is never fired. Everything the functions and users do still goes through the real
API over HTTP. Tied to moto's internal model (pinned in uv.lock): tests/localcloud/test_moto_internals.py checks it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from localcloud.stats import LogSink, log_record, stdout_sink
from localcloud.template import LOCAL_ACCOUNT, LOCAL_REGION
from taskcore.states import ScheduleState

#: Scheduler's defaults when a target has no RetryPolicy (CreateSchedule API reference).
DEFAULT_MAX_RETRY_ATTEMPTS = 185
DEFAULT_MAX_EVENT_AGE_SECONDS = 86_400


@dataclass(frozen=True)
class Schedule:
    """One schedule's settings, in the shape `GetSchedule` describes, with times as aware UTC datetimes."""

    arn: str
    name: str
    group: str
    expression: str
    timezone: str
    state: str
    start: datetime | None
    end: datetime | None
    created: datetime
    modified: datetime
    target_arn: str
    role_arn: str | None
    input: str | None
    max_retry_attempts: int
    max_event_age_seconds: int
    dead_letter_arn: str | None
    action_after_completion: str | None
    #: moto's raw (creation, last modification) stamps, as `MotoScheduleStore.revisions()` reports them.
    revision: tuple[float, float] = (0.0, 0.0)

    @property
    def enabled(self) -> bool:
        """Whether the schedule runs (DISABLED schedules keep their settings and do nothing)."""
        return self.state == ScheduleState.ENABLED

    @property
    def version(self) -> tuple[str, datetime, datetime]:
        """Identifies this incarnation and revision: a re-created schedule is a new one."""
        return (self.arn, self.created, self.modified)


def _moment(value: Any) -> datetime | None:
    """A stored timestamp (epoch seconds from boto3, or ISO-8601 text) as an aware UTC datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(float(value), UTC)
    text = str(value)
    try:
        return datetime.fromtimestamp(float(text), UTC)
    except ValueError:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def from_moto(model: Any) -> Schedule:
    """Convert moto's `Schedule` model object."""
    target: Mapping[str, Any] = model.target or {}
    retry: Mapping[str, Any] = target.get("RetryPolicy") or {}
    dead_letter: Mapping[str, Any] = target.get("DeadLetterConfig") or {}
    created = _moment(model.creation_date) or datetime.now(UTC)
    return Schedule(
        arn=model.arn,
        name=model.name,
        group=model.group_name,
        expression=model.schedule_expression,
        timezone=model.schedule_expression_timezone or "UTC",
        state=model.state or ScheduleState.ENABLED,
        start=_moment(model.start_date),
        end=_moment(model.end_date),
        created=created,
        modified=_moment(model.last_modified_date) or created,
        target_arn=str(target.get("Arn", "")),
        role_arn=target.get("RoleArn"),
        input=target.get("Input"),
        max_retry_attempts=int(retry.get("MaximumRetryAttempts", DEFAULT_MAX_RETRY_ATTEMPTS)),
        max_event_age_seconds=int(retry.get("MaximumEventAgeInSeconds", DEFAULT_MAX_EVENT_AGE_SECONDS)),
        dead_letter_arn=dead_letter.get("Arn"),
        action_after_completion=model.action_after_completion,
        revision=(model.creation_date, model.last_modified_date),
    )


class MotoScheduleStore:
    """Read access to the schedules of one group in moto's scheduler backend (this process's moto), and of the
    groups in `also` (template.yaml's own schedules), whose schedules it names `group/name`."""

    def __init__(
        self, group: str, *, also: tuple[str, ...] = (), account: str = LOCAL_ACCOUNT, region: str = LOCAL_REGION
    ) -> None:
        self.group = group
        self.also = tuple(g for g in also if g != group)
        self.account = account
        self.region = region

    def _models(self) -> dict[str, Any]:
        from moto.scheduler.models import scheduler_backends

        groups = scheduler_backends[self.account][self.region].schedule_groups
        group = groups.get(self.group)
        found: dict[str, Any] = group.schedules if group is not None else {}
        if not self.also:
            return found
        found = dict(found)
        for name in self.also:
            other = groups.get(name)
            if other is not None:
                found.update({f"{name}/{key}": model for key, model in dict(other.schedules).items()})
        return found

    def revisions(self) -> dict[str, tuple[float, float]]:
        """Name -> (creation, last modification) of every schedule in the group; cheap enough to call often."""
        # A copy first: the moto server's threads add and remove schedules while we read.
        return {name: (s.creation_date, s.last_modified_date) for name, s in dict(self._models()).items()}

    def get(self, name: str) -> Schedule | None:
        """The schedule called `name`, or None when it does not exist (any more)."""
        model = self._models().get(name)
        if model is None:
            return None
        schedule = from_moto(model)
        return schedule if name == schedule.name else replace(schedule, name=name)


def _moto_schedule(group: str, name: str, *, account: str, region: str) -> Any:
    from moto.scheduler.models import scheduler_backends

    found = scheduler_backends[account][region].schedule_groups.get(group)
    return found.schedules.get(name) if found is not None else None


def moto_stamps(
    group: str, name: str, *, account: str = LOCAL_ACCOUNT, region: str = LOCAL_REGION
) -> tuple[float, float] | None:
    """A schedule's (creation, last modification) stamps, exactly as moto keeps them; None when it is gone."""
    model = _moto_schedule(group, name, account=account, region=region)
    return (float(model.creation_date), float(model.last_modified_date)) if model is not None else None


def set_moto_stamps(
    group: str, name: str, created: float, modified: float, *, account: str = LOCAL_ACCOUNT, region: str = LOCAL_REGION
) -> None:
    """Give a re-created schedule back its own stamps (`--persist`: a restart is not a new creation)."""
    model = _moto_schedule(group, name, account=account, region=region)
    if model is None:
        raise LookupError(f"no schedule {group}/{name} in moto's scheduler backend")
    model.creation_date, model.last_modified_date = created, modified


class ScheduleDeleter:
    """Deletes completed schedules through the Scheduler API, off the main thread (it must stay on time)."""

    def __init__(
        self, store: MotoScheduleStore, *, client: Any = None, background: bool = True, log: LogSink = stdout_sink
    ) -> None:
        self._store = store
        self._client = client
        self._log = log
        self._queue: queue.Queue[tuple[str, tuple[str, datetime, datetime]] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        if background:
            self._thread = threading.Thread(target=self._work, name="localcloud-deleter", daemon=True)
            self._thread.start()

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("scheduler")
        return self._client

    def delete(self, schedule: Schedule) -> None:
        """Delete `schedule` unless it was changed or re-created since this version."""
        if self._thread is None:
            self._delete(schedule.name, schedule.version)
        else:
            self._queue.put((schedule.name, schedule.version))

    def flush(self) -> None:
        """Wait until every requested deletion is done."""
        if self._thread is not None:
            self._queue.join()

    def close(self) -> None:
        """Finish the pending deletions and stop the thread."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=10)
            self._thread = None

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                self._delete(*item)
            except Exception as exc:  # keep the thread alive; the schedule just stays
                self._log(
                    log_record("dispatcher", "could not delete a completed schedule", level="ERROR", error=repr(exc))
                )
            finally:
                self._queue.task_done()

    def _delete(self, name: str, version: tuple[str, datetime, datetime]) -> None:
        live = self._store.get(name)
        if live is None or live.version != version:
            return  # cancelled, updated or re-created meanwhile: not ours to delete
        try:
            self.client.delete_schedule(Name=name, GroupName=self._store.group)
        except self.client.exceptions.ResourceNotFoundException:
            return
        self._log(
            log_record("dispatcher", "schedule completed and deleted (ActionAfterCompletion: DELETE)", schedule=name)
        )
