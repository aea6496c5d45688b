"""generate_daily_report: the guide's recurring example, every day at 09:00."""

from __future__ import annotations

from datetime import date, timedelta

from aws_lambda_powertools import Logger
from pydantic import BaseModel, ConfigDict, Field

from taskcore import TaskContext, action

logger = Logger(child=True)


class DailyReportData(BaseModel):
    """Optional overrides; by default the report covers the day before the scheduled time."""

    model_config = ConfigDict(extra="forbid")

    report_date: date | None = None
    recipients: list[str] = Field(default_factory=list, max_length=100)


@action("generate_daily_report", DailyReportData)
def generate_daily_report(data: DailyReportData, task: TaskContext) -> dict[str, str | int]:
    """Build the report for one day: each occurrence reports on its own day."""
    if data.report_date is not None:
        day = data.report_date
    elif task.scheduled_time is not None:
        day = task.scheduled_time.date() - timedelta(days=1)
    else:
        day = task.now().date() - timedelta(days=1)
    logger.info("daily report generated", extra={"report_date": day.isoformat()})
    return {"report_date": day.isoformat(), "recipients": len(data.recipients)}
