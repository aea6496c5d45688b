"""The allowlist's grammar and the address rules, on their own (the entry points' tests use them end to end)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from taskcore.outbound.allowlist import Allowlist, DestinationRefused, allowed_address, check_url, ip_literal
from taskcore.outbound.delivery import retry_after_seconds

LISTED = Allowlist.parse(" API.example.com., *.hooks.example.net ,10.1.0.0/16,[::1], ,")


@pytest.mark.parametrize(
    ("host", "listed"),
    [
        ("api.example.com", True),
        ("eu.hooks.example.net", True),
        ("a.b.hooks.example.net", True),
        ("hooks.example.net", False),  # a wildcard is for subdomains, not the apex
        ("xhooks.example.net", False),
        ("api.example.com.evil.org", False),
        ("10.1.2.3", True),
        ("10.2.0.1", False),
        ("::1", True),
    ],
)
def test_hosts_names_wildcards_and_networks(host: str, listed: bool) -> None:
    assert LISTED.lists_host(host) is listed


def test_an_empty_allowlist_allows_nothing() -> None:
    assert not Allowlist.parse(" , ")
    with pytest.raises(DestinationRefused, match="the http_request action is off"):
        check_url("https://api.example.com/", Allowlist.parse(""), allow_http_loopback=False)


def test_an_ipv6_literal_url_is_checked_as_an_address() -> None:
    parts = check_url("http://[::1]:8080/x", LISTED, allow_http_loopback=True)

    assert ip_literal(parts.hostname or "") is not None


def test_a_very_long_url_is_refused() -> None:
    with pytest.raises(DestinationRefused, match="longer than 2048"):
        check_url("https://api.example.com/" + "a" * 2048, LISTED, allow_http_loopback=False)


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert allowed_address(ip_literal(address), Allowlist()) is None  # type: ignore[arg-type]


@pytest.mark.parametrize("address", ["0.0.0.0", "224.0.0.1", "::", "fe80::1", "240.0.0.1"])  # noqa: S104
def test_unspecified_multicast_link_local_and_reserved_addresses_are_refused(address: str) -> None:
    assert allowed_address(ip_literal(address), Allowlist()) is not None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("7", 7.0),
        (" 120 ", 120.0),
        ("Tue, 01 Dec 2026 09:00:30 GMT", 30.0),
        ("Tue, 01 Dec 2026 08:00:00 GMT", 0.0),  # a date in the past: now
        ("soon", None),
        (None, None),
    ],
)
def test_retry_after_in_seconds_or_as_an_http_date(value: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(value, datetime(2026, 12, 1, 9, 0, tzinfo=UTC)) == seconds
