"""The scheduler's per-container factories are registered: one reset (taskcore.caches) forgets them all."""

from __future__ import annotations

import pytest

from scheduler_app.apidocs import get_docs_settings
from scheduler_app.clients import get_dynamodb_client, get_scheduler_client, get_secrets_client
from scheduler_app.keys import get_cursor_seal
from scheduler_app.settings import get_settings
from taskcore.caches import registered_caches, reset_container_caches

FACTORIES = (
    get_settings,
    get_scheduler_client,
    get_dynamodb_client,
    get_secrets_client,
    get_cursor_seal,
    get_docs_settings,
)


def test_every_scheduler_factory_is_a_registered_container_cache() -> None:
    registered = registered_caches()

    assert [factory in registered for factory in FACTORIES] == [True] * len(FACTORIES)


def test_one_reset_makes_the_scheduler_read_its_environment_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_DOCS_ASSETS_URL", "/before")
    reset_container_caches()
    assert get_docs_settings().assets_url == "/before"

    monkeypatch.setenv("API_DOCS_ASSETS_URL", "/after")
    kept = get_docs_settings().assets_url
    reset_container_caches()

    assert (kept, get_docs_settings().assets_url) == ("/before", "/after")
    reset_container_caches()
