"""taskclient: the scheduled-tasks API from Python, sync (`TaskClient`) and async (`AsyncTaskClient`).

    from datetime import timedelta
    from taskclient import TaskClient

    tasks = TaskClient("https://abc123.execute-api.ap-northeast-2.amazonaws.com/v1")  # SigV4, default credentials
    task = tasks.schedule("send_notification", user_id=456, data={"message": "Your payment expires soon"},
                          task_id="payment-reminder-42", delay=timedelta(minutes=30))

docs/client.md in the repository describes every method, the errors and the retries.
"""

from taskclient._core import Backoff
from taskclient.aio import AsyncTaskClient
from taskclient.client import TaskClient
from taskclient.errors import (
    AccessDenied,
    InvalidTask,
    PayloadTooLarge,
    QuotaExceeded,
    ServiceUnavailable,
    TaskConflict,
    TaskError,
    TaskNotFound,
    Throttled,
)
from taskclient.models import (
    BatchItemResult,
    BatchResult,
    DeliveryRetry,
    FieldError,
    Health,
    LastRun,
    NewTask,
    RetryPolicyView,
    Run,
    RunError,
    Task,
    TaskStatus,
    TaskSummary,
    Timing,
)
from taskclient.stack import StackNotFound

__version__ = "0.1.0"

__all__ = [
    "AccessDenied",
    "AsyncTaskClient",
    "Backoff",
    "BatchItemResult",
    "BatchResult",
    "DeliveryRetry",
    "FieldError",
    "Health",
    "InvalidTask",
    "LastRun",
    "NewTask",
    "PayloadTooLarge",
    "QuotaExceeded",
    "RetryPolicyView",
    "Run",
    "RunError",
    "ServiceUnavailable",
    "StackNotFound",
    "Task",
    "TaskClient",
    "TaskConflict",
    "TaskError",
    "TaskNotFound",
    "TaskStatus",
    "TaskSummary",
    "Throttled",
    "Timing",
    "__version__",
]
