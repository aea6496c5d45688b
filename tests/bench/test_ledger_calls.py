"""The ledger's budgets are measured through the functions' entry points, on moto's server, with nothing left behind."""

from __future__ import annotations

import os

import pytest

from bench import ledger_calls


@pytest.mark.integration
def test_every_path_of_the_ledger_budgets_is_measured_and_a_users_page_among_others_is_one_query_and_one_get() -> None:
    environment = dict(os.environ)

    calls = ledger_calls.measure()

    assert list(calls) == list(ledger_calls.BUDGETS)
    assert all(calls.values())
    # The idempotency record's writes and the ledger's in two transactions (three requests before issue 19).
    assert calls["callback: first delivery"] == {"TransactWriteItems": 2}
    assert calls["API: one user's page"] == {"Query": 1, "BatchGetItem": 1}
    assert calls["API: create"] == {"TransactWriteItems": 1}
    assert dict(os.environ) == environment
