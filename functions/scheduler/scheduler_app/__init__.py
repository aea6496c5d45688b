"""The scheduler function: an HTTP API (FastAPI behind API Gateway) that manages the task schedules."""
