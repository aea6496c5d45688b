"""send_notification: payment-expiry reminders, welcome mails, any message to a user."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from aws_lambda_powertools import Logger
from pydantic import BaseModel, ConfigDict, Field

from taskcore import Identifier, TaskContext, action

logger = Logger(child=True)


class SendNotificationData(BaseModel):
    """The guide's notification payloads: reminders, payment expiry, welcome mails."""

    model_config = ConfigDict(extra="forbid")

    notification_type: str = Field(default="generic", max_length=64, examples=["payment_expiration"])
    message: str | None = Field(default=None, max_length=4096)
    channel: Literal["email", "sms", "push"] = "email"
    email: str | None = Field(default=None, max_length=320)
    template: str | None = Field(default=None, max_length=128)
    language: str | None = Field(default=None, max_length=16)
    payment_id: Identifier | None = None
    expires_at: datetime | None = None


@action("send_notification", SendNotificationData)
def send_notification(data: SendNotificationData, task: TaskContext) -> dict[str, str]:
    """Send a notification to the task's user (example: replace the body with your mailer)."""
    # Deliberately logs no message text, address or payment id: those are personal data.
    logger.info("notification sent", extra={"channel": data.channel})
    return {"notification_type": data.notification_type, "channel": data.channel}
