"""cleanup: remove a temporary resource when it is no longer needed."""

from __future__ import annotations

from aws_lambda_powertools import Logger
from pydantic import BaseModel, ConfigDict, Field

from taskcore import Identifier, TaskContext, action

logger = Logger(child=True)


class CleanupData(BaseModel):
    """The guide's clean-up payload: a resource, and where it lives."""

    model_config = ConfigDict(extra="forbid")

    resource_id: Identifier
    resource_type: str = Field(default="temp_file", max_length=64)
    s3_bucket: str | None = Field(default=None, max_length=63)
    s3_key: str | None = Field(default=None, max_length=1024)


@action("cleanup", CleanupData)
def cleanup(data: CleanupData, task: TaskContext) -> dict[str, str | int]:
    """Delete the resource (example: call s3.delete_object(Bucket=..., Key=...) here)."""
    logger.info("resource cleaned up")
    return {"resource_id": data.resource_id, "resource_type": data.resource_type, "status": "deleted"}
