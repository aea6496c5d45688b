"""Powertools Logger, Metrics and Tracer: one of each per container.

Service name, log level and metrics namespace come from POWERTOOLS_SERVICE_NAME,
POWERTOOLS_LOG_LEVEL and POWERTOOLS_METRICS_NAMESPACE (template.yaml's Globals).
"""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics, Tracer

DEFAULT_NAMESPACE = "ScheduledTasks"

logger = Logger()
# EMF needs a namespace; outside the template (tests, `make invoke`) fall back to the project's.
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_NAMESPACE)
# Tracer disables itself outside Lambda (tests, the local cloud), so it costs nothing there.
tracer = Tracer()
