"""Where the HTTP action may call: the stack's host allowlist, and the addresses a host may resolve to.

Two checks, each run twice (when the task is scheduled, through the action's data model, and again when it
runs): the URL (scheme, host on the allowlist, no credentials in it), then the addresses its host resolves
to. An address that is not globally routable (private, loopback, link-local and so the instance metadata
service 169.254.169.254, unique-local and so fd00:ec2::254, shared, reserved, multicast) is refused unless
the allowlist names it or a network holding it, whatever host name led to it. The request then goes to
the address that was checked, so a name that resolves differently a moment later changes nothing.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
#: getaddrinfo's shape: (family, type, proto, canonname, sockaddr).
Resolver = Callable[..., Sequence[tuple[object, object, object, object, tuple[object, ...]]]]

#: The instance metadata service's addresses (EC2, and Lambda's own environment), named in refusals.
METADATA_ADDRESSES = frozenset({ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")})
MAX_URL_LENGTH = 2048

#: The resolver the action asks (tests replace it to make a name resolve where they need).
getaddrinfo: Resolver = socket.getaddrinfo


class DestinationRefused(ValueError):
    """Raise when a URL or an address is not one the HTTP action may call (a ValueError: a 422 in a data model)."""


@dataclass(frozen=True)
class Allowlist:
    """The parsed allowlist: exact host names, subdomain wildcards, and IP networks."""

    hosts: frozenset[str] = frozenset()
    suffixes: tuple[str, ...] = ()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Allowlist:
        """Comma-separated entries: `api.example.com`, `*.example.com`, `203.0.113.7`, `10.0.0.0/8`, `::1`."""
        hosts: set[str] = set()
        suffixes: list[str] = []
        networks: list[IPNetwork] = []
        for raw in text.split(","):
            entry = raw.strip().lower().rstrip(".")
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                if entry.startswith("*."):
                    suffixes.append(entry[1:])  # ".example.com": any subdomain, not the apex
                else:
                    hosts.add(entry)
        return cls(frozenset(hosts), tuple(suffixes), tuple(networks))

    def __bool__(self) -> bool:
        return bool(self.hosts or self.suffixes or self.networks)

    def lists_host(self, host: str) -> bool:
        """Whether `host` (lower case, an IP literal or a name) is on the list."""
        literal = ip_literal(host)
        if literal is not None:
            return self.lists_address(literal)
        return host in self.hosts or any(host.endswith(suffix) for suffix in self.suffixes)

    def lists_address(self, address: IPAddress) -> bool:
        """Whether `address` is in a network the list names."""
        return any(address in network for network in self.networks)


def ip_literal(host: str) -> IPAddress | None:
    """`host` as an IP address when it is one (`[::1]` included), else None."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def check_url(url: str, allowlist: Allowlist, *, allow_http_loopback: bool) -> SplitResult:
    """The URL split, when the action may call it; else DestinationRefused saying why."""
    if len(url) > MAX_URL_LENGTH:
        raise DestinationRefused(f"the URL is longer than {MAX_URL_LENGTH} characters")
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".")
    if parts.scheme not in ("https", "http") or not host:
        raise DestinationRefused("must be an absolute https:// URL")
    if parts.username is not None or parts.password is not None:
        raise DestinationRefused("must not carry credentials (user:password@); the request is signed instead")
    _check_port(parts)
    # Plain http only where the local cloud allows it, and then only to a loopback address (checked on resolving).
    if parts.scheme == "http" and not allow_http_loopback:
        raise DestinationRefused(
            "must be https:// (plain http is allowed only to a loopback receiver on the local cloud)"
        )
    if not allowlist:
        raise DestinationRefused(
            "the http_request action is off: no host is allowed (set the stack's HttpActionAllowedHosts)"
        )
    if not allowlist.lists_host(host):
        raise DestinationRefused(f"host {host} is not on the stack's allowlist (HttpActionAllowedHosts)")
    return parts


def _check_port(parts: SplitResult) -> None:
    try:
        parts.port  # noqa: B018  # raises on a port that is not a number in 0..65535
    except ValueError:
        raise DestinationRefused("the URL's port is not a number in 1..65535") from None


def allowed_address(address: IPAddress, allowlist: Allowlist) -> str | None:
    """Why `address` may not be called (None: it may): not globally routable, and not on the list."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if allowlist.lists_address(address):
        return None
    if address in METADATA_ADDRESSES:
        return f"{address} is the instance metadata service"
    if not address.is_global or address.is_multicast:
        return f"{address} is not a public address (private, loopback, link-local or reserved)"
    return None


def resolve(host: str, port: int, allowlist: Allowlist) -> list[IPAddress]:
    """Every address `host` resolves to, when each may be called; DestinationRefused if any may not.

    One refused address refuses them all: a name that answers with a public and a private address is
    how DNS rebinding starts. A resolver error (OSError) is left to the caller: it is transient.
    """
    literal = ip_literal(host)
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        answers = getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses = list(dict.fromkeys(ipaddress.ip_address(str(answer[4][0]).split("%")[0]) for answer in answers))
    if not addresses:
        raise OSError(f"{host} resolved to no address")
    for address in addresses:
        reason = allowed_address(address, allowlist)
        if reason is not None:
            raise DestinationRefused(f"host {host} resolves to {reason}; list the address to allow it")
    return addresses


__all__ = [
    "METADATA_ADDRESSES",
    "Allowlist",
    "DestinationRefused",
    "allowed_address",
    "check_url",
    "ip_literal",
    "resolve",
]
