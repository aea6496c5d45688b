"""What the callback reads once per container, and Powertools' switch read the way Powertools reads it."""

from __future__ import annotations

import pytest
from aws_lambda_powertools.shared.functions import strtobool  # only to compare: the callback never imports it

from callback_app.ledger import get_run_ledger, idempotency_disabled
from callback_app.rejections import get_rejection_queue
from callback_app.service import get_dynamodb_client, get_task_runner
from callback_app.settings import get_settings
from taskcore.caches import registered_caches


def test_the_callbacks_cached_factories_are_forgotten_by_the_one_reset():
    callback_caches = {get_settings, get_dynamodb_client, get_task_runner, get_run_ledger, get_rejection_queue}

    assert callback_caches <= set(registered_caches())


@pytest.mark.parametrize("value", ["true", "True", "1", "yes", "on", "t", "y", "false", "FALSE", "0", "no", "off"])
def test_the_idempotency_switch_is_read_as_powertools_reads_it(value, monkeypatch):
    monkeypatch.setenv("POWERTOOLS_IDEMPOTENCY_DISABLED", value)

    assert idempotency_disabled() is strtobool(value)


@pytest.mark.parametrize("value", ["", "maybe", "2"])
def test_a_value_powertools_refuses_is_refused_here_too(value, monkeypatch):
    monkeypatch.setenv("POWERTOOLS_IDEMPOTENCY_DISABLED", value)

    with pytest.raises(ValueError, match="invalid truth value"):
        strtobool(value)
    with pytest.raises(ValueError, match="invalid truth value"):
        idempotency_disabled()


def test_without_the_switch_idempotency_is_on(monkeypatch):
    monkeypatch.delenv("POWERTOOLS_IDEMPOTENCY_DISABLED", raising=False)

    assert idempotency_disabled() is False
