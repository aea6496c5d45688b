"""HTTP action fixtures: its settings pointed at the template's signing secret, a receiver on loopback."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from localcloud.template import LocalResources
from taskcore.outbound import allowlist, delivery
from taskcore.outbound.settings import get_outbound_settings
from taskcore.secrets import get_secrets_provider
from tests.http.receiver import Receiver, receiver_on_loopback


@dataclass
class HttpAction:
    """The action's environment in a test: the signing secret's value, and the waits it asked for."""

    secret: str
    secret_id: str
    sleeps: list[float]

    @staticmethod
    def configure(monkeypatch: pytest.MonkeyPatch, **variables: str) -> None:
        """Set HTTP_ACTION_* variables (`allowed_hosts="..."`) as a new container would read them."""
        for name, value in variables.items():
            monkeypatch.setenv(f"HTTP_ACTION_{name.upper()}", value)
        get_outbound_settings.cache_clear()


def resolving(monkeypatch: pytest.MonkeyPatch, *addresses: str) -> list[str]:
    """Make every name resolve to `addresses`; the names asked for, in order."""
    asked: list[str] = []

    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        asked.append(host)
        family = socket.AF_INET6 if ":" in addresses[0] else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port)) for address in addresses]

    monkeypatch.setattr(allowlist, "getaddrinfo", getaddrinfo)
    return asked


@pytest.fixture
def http_action(aws: LocalResources, monkeypatch: pytest.MonkeyPatch) -> Iterator[HttpAction]:
    """The callback's HTTP_ACTION_* variables as template.yaml and the local cloud set them (loopback allowed)."""
    secret_id = aws.arns["HttpSigningSecret"]
    HttpAction.configure(
        monkeypatch, allowed_hosts="127.0.0.1,::1", allow_http_loopback="true", signing_secret_id=secret_id
    )
    get_secrets_provider.cache_clear()
    sleeps: list[float] = []
    monkeypatch.setattr(delivery, "sleep", sleeps.append)
    secret = boto3.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"]
    yield HttpAction(secret=secret, secret_id=secret_id, sleeps=sleeps)
    get_outbound_settings.cache_clear()
    get_secrets_provider.cache_clear()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A scripted receiver on 127.0.0.1 (200 `{"ok":true}` until told otherwise)."""
    with receiver_on_loopback() as running:
        yield running
