"""Operations on a stack, deployed or local: what runs against any AWS endpoint with the operator's credentials.

- `ops.queues`: an SQS queue's messages read and held (invisible to other readers) without losing them.
- `ops.letters`: the dead letters of the three queues (Lambda's on-failure, Scheduler's DLQ, the callback's
  rejections) read as one kind of thing: the task, its error, its attempts.
- `ops.replay`: a letter replayed through the callback (deleted only when the replay succeeded), discarded,
  or many replayed a few at a time.
- `ops.lambda_invoke`: the deployed callback invoked synchronously as a redrive (Lambda's Invoke API).

Used by `make dlq` / `make redrive` (localcloud/dlq.py), the console (console/deadletters.py) and the local
cloud. It imports neither the local cloud nor the console (tests/unit/test_import_rules.py): how the callback is
run for a replay is the caller's `Invoker`.
"""
