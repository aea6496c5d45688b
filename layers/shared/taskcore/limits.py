"""The sizes and depths the system lives within, in one place: AWS's limits, and this project's own below them."""

from __future__ import annotations

#: Lambda's limit for an asynchronous invocation's payload, as Lambda enforces it ("1 MB"; raised from 256 KB in
#: October 2025). The local Lambda refuses a larger event, as Invoke would (RequestEntityTooLargeException).
LAMBDA_ASYNC_PAYLOAD_BYTES = 1_048_576

#: The largest task event this project creates (a schedule's Target.Input, context attributes filled in) or
#: accepts in the callback: 10^6 bytes, below Lambda's limit whichever way "1 MB" is read.
MAX_TASK_EVENT_BYTES = 1_000_000

#: Lambda's synchronous request payload limit: API Gateway cannot hand the scheduler function more.
LAMBDA_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024

#: SQS's largest message, 1 MiB, and since 2025 also a queue's default MaximumMessageSize (it was 256 KiB):
#: "Default: 1,048,576 bytes (1 MiB)" (SQS API reference, CreateQueue). Every queue of template.yaml takes it;
#: RejectedTaskQueue also sets it explicitly.
SQS_MAX_MESSAGE_BYTES = 1_048_576

#: Deeper `data` is refused: JSON-serialisable everywhere it goes (pydantic stops at ~255 levels).
MAX_DATA_DEPTH = 32

__all__ = [
    "LAMBDA_ASYNC_PAYLOAD_BYTES",
    "LAMBDA_SYNC_PAYLOAD_BYTES",
    "MAX_DATA_DEPTH",
    "MAX_TASK_EVENT_BYTES",
    "SQS_MAX_MESSAGE_BYTES",
]
