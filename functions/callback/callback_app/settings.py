"""Configuration of the callback function, read from its environment (see template.yaml)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from taskcore.caches import container_cache
from taskcore.clients import ClientSettings

#: Longest time one occurrence can be redelivered: Scheduler retries for up to 24 h
#: (MaximumEventAgeInSeconds 86400), then Lambda's async retries for up to 6 h more.
LONGEST_REDELIVERY_WINDOW_SECONDS = 86_400 + 21_600


class IdempotencySettings(BaseSettings):
    """Where and for how long completed occurrences are remembered."""

    model_config = SettingsConfigDict(extra="ignore")

    idempotency_table_name: str | None = Field(default=None, description="DynamoDB table (key `id`, TTL `expiration`)")
    idempotency_expires_after_seconds: int = Field(
        default=2 * 86_400,
        ge=LONGEST_REDELIVERY_WINDOW_SECONDS,
        description="Record lifetime; must outlive every redelivery of an occurrence.",
    )


class CallbackSettings(IdempotencySettings):
    """Everything the callback function reads from its environment.

    `REJECTED_TASK_QUEUE_URL` is where a rejected task's event is kept (template.yaml's RejectedTaskQueue);
    `TASK_LEDGER_TABLE` is where each run is recorded (TaskLedgerTable; callback_app.ledger).

    Logging and metrics are configured by Powertools' own variables (POWERTOOLS_SERVICE_NAME,
    POWERTOOLS_LOG_LEVEL, POWERTOOLS_METRICS_NAMESPACE). Task `data` is never logged.
    POWERTOOLS_IDEMPOTENCY_DISABLED (tests and benchmarks only) turns off the idempotency records and
    with them the ledger's writes (callback_app.ledger.idempotency_disabled).
    """

    rejected_task_queue_url: str | None = Field(default=None, description="SQS queue URL for rejected tasks")
    task_ledger_table: str | None = Field(default=None, description="DynamoDB table of tasks and runs (the ledger)")
    task_retention_seconds: int = Field(
        default=7 * 86_400, ge=3_600, description="How long a task's records outlive its end (and a run its finish)"
    )
    # How many times Lambda invokes one event: 1 + the function's MaximumRetryAttempts (template.yaml).
    # A failure on the last of them is the run's final outcome.
    max_invocations: int = Field(default=3, ge=1, le=3, alias="CALLBACK_MAX_INVOCATIONS")
    # An attempt's deadline is this long before the function's Timeout: time to record it as timed out.
    timeout_margin_seconds: float = Field(default=1.0, ge=0, le=10, alias="CALLBACK_TIMEOUT_MARGIN")
    # Fail fast and let Lambda retry: a hung call would eat the whole timeout.
    aws_max_attempts: int = Field(default=4, ge=1, le=10, alias="CALLBACK_AWS_MAX_ATTEMPTS")
    aws_connect_timeout_seconds: float = Field(default=2.0, gt=0, alias="CALLBACK_AWS_CONNECT_TIMEOUT")
    aws_read_timeout_seconds: float = Field(default=5.0, gt=0, alias="CALLBACK_AWS_READ_TIMEOUT")

    def client_settings(self) -> ClientSettings:
        """How the DynamoDB and SQS clients retry (4 attempts in all, botocore's standard mode) and wait."""
        return ClientSettings(
            total_max_attempts=self.aws_max_attempts,
            connect_timeout_seconds=self.aws_connect_timeout_seconds,
            read_timeout_seconds=self.aws_read_timeout_seconds,
        )


@container_cache
def get_settings() -> CallbackSettings:
    """The settings, read once per container (`taskcore.caches.reset_container_caches()` forgets them)."""
    return CallbackSettings()
