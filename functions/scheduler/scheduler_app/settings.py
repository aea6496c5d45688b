"""Configuration of the scheduler function, read from its environment (see template.yaml)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from taskcore.caches import container_cache
from taskcore.clients import ClientSettings
from taskcore.envelope import TASK_ID_PATTERN
from taskcore.limits import MAX_TASK_EVENT_BYTES

#: The largest `Target.Input` a schedule may carry, in bytes, after the scheduler has substituted
#: its context attributes. The callback is invoked asynchronously, so Lambda's asynchronous payload
#: limit applies: 1 MB (Lambda Invoke API reference, "For asynchronous invocations, the maximum
#: payload size is 1 MB", https://docs.aws.amazon.com/lambda/latest/dg/API_Invoke.html; raised from
#: 256 KB in October 2025). EventBridge Scheduler documents no smaller limit for `Target.Input`.
#: taskcore.limits.MAX_TASK_EVENT_BYTES reads 1 MB as 10^6 bytes so that either reading of "MB"
#: holds; lower it with MAX_TARGET_INPUT_BYTES=262144 where the old 256 KB limit still applies.
MAX_TARGET_INPUT_BYTES = MAX_TASK_EVENT_BYTES


class AwsClientSettings(BaseSettings):
    """How the scheduler's boto3 client retries and times out."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    aws_retry_mode: Literal["standard", "adaptive"] = Field(default="standard", alias="SCHEDULER_AWS_RETRY_MODE")
    aws_max_attempts: int = Field(default=3, ge=1, le=10, alias="SCHEDULER_AWS_MAX_ATTEMPTS")
    aws_connect_timeout_seconds: float = Field(default=2.0, gt=0, alias="SCHEDULER_AWS_CONNECT_TIMEOUT")
    aws_read_timeout_seconds: float = Field(default=5.0, gt=0, alias="SCHEDULER_AWS_READ_TIMEOUT")


class BatchSettings(BaseSettings):
    """How `POST /api/v1/schedules/batch` spreads its creates and backs off when throttled."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    batch_concurrency: int = Field(default=16, ge=1, le=100, alias="SCHEDULER_BATCH_CONCURRENCY")
    batch_max_attempts: int = Field(default=5, ge=1, le=20, alias="SCHEDULER_BATCH_MAX_ATTEMPTS")
    batch_backoff_base_seconds: float = Field(default=0.1, ge=0, alias="SCHEDULER_BATCH_BACKOFF_BASE")
    batch_backoff_max_seconds: float = Field(default=2.0, ge=0, alias="SCHEDULER_BATCH_BACKOFF_MAX")


class SchedulerSettings(AwsClientSettings, BatchSettings):
    """Everything the scheduler function reads from its environment.

    The five required values are set by template.yaml. Logging is configured by Powertools' own
    variables (POWERTOOLS_SERVICE_NAME, POWERTOOLS_LOG_LEVEL).
    """

    model_config = SettingsConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    schedule_group_name: str = Field(alias="SCHEDULE_GROUP_NAME", pattern=TASK_ID_PATTERN)
    callback_function_arn: str = Field(alias="CALLBACK_FUNCTION_ARN", pattern=r"^arn:[\w-]+:lambda:")
    scheduler_role_arn: str = Field(alias="SCHEDULER_ROLE_ARN", pattern=r"^arn:[\w-]+:iam::")
    scheduler_dlq_arn: str = Field(alias="SCHEDULER_DLQ_ARN", pattern=r"^arn:[\w-]+:sqs:")
    task_ledger_table: str = Field(alias="TASK_LEDGER_TABLE", min_length=3, max_length=255)
    task_retention_seconds: int = Field(default=7 * 86_400, ge=3_600, alias="TASK_RETENTION_SECONDS")
    # Who may do what, and how much (docs/security.md).
    task_isolation: Literal["shared", "owner"] = Field(default="shared", alias="TASK_ISOLATION")
    assumed_role_owner: Literal["role", "session"] = Field(default="role", alias="ASSUMED_ROLE_OWNER")
    admin_principals: str = Field(default="", alias="ADMIN_PRINCIPALS", description="Comma-separated IAM ARNs")
    min_schedule_interval_seconds: int = Field(default=60, ge=60, alias="MIN_SCHEDULE_INTERVAL_SECONDS")
    max_active_schedules_per_owner: int = Field(default=10_000_000, ge=1, alias="MAX_ACTIVE_SCHEDULES_PER_OWNER")

    @property
    def admins(self) -> frozenset[str]:
        """ADMIN_PRINCIPALS as normalised principals: a role without its path; an assumed-role ARN as its role,
        or (ASSUMED_ROLE_OWNER=session) as that session."""
        from scheduler_app.principals import normalise

        entries = (arn.strip() for arn in self.admin_principals.split(","))
        return frozenset(normalise(arn, self.assumed_role_owner) for arn in entries if arn)

    def client_settings(self) -> ClientSettings:
        """How the EventBridge Scheduler client retries and waits (the batch calls from several threads)."""
        return ClientSettings(
            retry_mode=self.aws_retry_mode,
            total_max_attempts=self.aws_max_attempts,
            connect_timeout_seconds=self.aws_connect_timeout_seconds,
            read_timeout_seconds=self.aws_read_timeout_seconds,
            max_pool_connections=max(10, self.batch_concurrency),
        )

    default_max_retry_attempts: int = Field(default=185, ge=0, le=185, alias="SCHEDULE_MAX_RETRY_ATTEMPTS")
    default_max_event_age_seconds: int = Field(default=86_400, ge=60, le=86_400, alias="SCHEDULE_MAX_EVENT_AGE_SECONDS")
    max_target_input_bytes: int = Field(default=MAX_TARGET_INPUT_BYTES, ge=1024, alias="MAX_TARGET_INPUT_BYTES")
    retry_after_seconds: int = Field(default=1, ge=1, le=3600, alias="SCHEDULER_RETRY_AFTER_SECONDS")
    #: The secret holding the listing cursors' key (CursorKeySecret: its ARN, or locally its name); read
    #: only when a listing first needs a cursor, so nothing else depends on it.
    cursor_secret_id: str | None = Field(default=None, min_length=1, alias="CURSOR_SECRET_ID")


@container_cache
def get_settings() -> SchedulerSettings:
    """The settings, read once per container (tests call `get_settings.cache_clear()`)."""
    return SchedulerSettings()  # the required values come from the environment
