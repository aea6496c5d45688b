"""Powertools Logger, Metrics and Tracer: one of each per container.

Service name, log level and metrics namespace come from POWERTOOLS_SERVICE_NAME,
POWERTOOLS_LOG_LEVEL and POWERTOOLS_METRICS_NAMESPACE (template.yaml's Globals).

Tracing: every invocation is traced by Lambda itself (`Tracing: Active`). Powertools' Tracer adds
subsegments only where the X-Ray SDK is installed; the layer does not ship it (the SDK is in
maintenance until its end of support on 2027-02-25, and it would bring a second botocore). Add
`aws-xray-sdk` to the layer group to turn the subsegments on; nothing else changes.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Callable
from typing import Any, Protocol, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_NAMESPACE = "ScheduledTasks"


class _DropTaskName(logging.Filter):
    """Python 3.12+ stamps every record with its asyncio task ("Task-7"): noise, not information."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.taskName = None  # Powertools leaves out keys whose value is None
        return True


logger = Logger()
# On the handler, so the actions' child loggers (Logger(child=True)) are covered too.
logger.registered_handler.addFilter(_DropTaskName())
# EMF needs a namespace; outside the template (tests, `make invoke`) fall back to the project's.
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_NAMESPACE)


class TracerLike(Protocol):
    """The part of Powertools' Tracer this function uses."""

    disabled: bool

    def capture_method(
        self, *, capture_response: bool | None = None, capture_error: bool | None = None
    ) -> Callable[[F], F]:
        """Decorate a method with a subsegment."""


class NoSubsegments:
    """Stands in for Powertools' Tracer where the X-Ray SDK is absent (its constructor imports the SDK)."""

    disabled = True

    def capture_method(
        self, *, capture_response: bool | None = None, capture_error: bool | None = None
    ) -> Callable[[F], F]:
        """Return the method unchanged."""
        return lambda method: method


def _make_tracer() -> TracerLike:
    if importlib.util.find_spec("aws_xray_sdk") is None:
        return NoSubsegments()
    from aws_lambda_powertools import Tracer

    # The tracer logs every exception of a captured method with its traceback ("Exception received
    # from ..."), and an action's exception may hold personal data: the callback logs its own
    # redacted line instead (callback_app.run, Run.failed). The tracer's logger says nothing else we need.
    logging.getLogger("aws_lambda_powertools.tracing.tracer").setLevel(logging.CRITICAL)
    # Powertools disables it by itself outside Lambda (tests, the local cloud).
    return cast(TracerLike, Tracer())


tracer = _make_tracer()
