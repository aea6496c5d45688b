"""The engine's adapters, one module per implementation of a port (scheduler_app.ports):

- `dynamodb_ledger.DynamoDBLedger`: the task ledger on DynamoDB (boto3);
- `eventbridge.EventBridgeSchedules`: the schedules on EventBridge Scheduler (boto3);
- `memory.MemoryLedger`, `memory.MemorySchedules`: their in-memory twins (dict-backed, thread-safe, the
  same semantics and errors; tests/contract holds each pair to one suite).

Import the module you need: importing the twins never loads boto3.
"""
