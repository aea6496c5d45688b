"""One HTTP request to an address that was checked: the standard library's http.client, no redirect followed.

The connection goes to the IP address `allowlist.resolve` approved, while the URL's host name is what the
request's `Host` header and TLS (SNI and certificate checks) use: a DNS answer that changes between the
check and the connection cannot move the request elsewhere. http.client never follows a redirect; the
action decides what a 3xx means.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import SplitResult

from taskcore.outbound.allowlist import IPAddress

#: How much of the receiver's answer is read and kept (bytes).
PREVIEW_BYTES = 1024


@dataclass(frozen=True)
class Answer:
    """The receiver's answer: status, the headers the action reads, the start of the body, the time taken."""

    status: int
    retry_after: str | None
    location: str | None
    preview: str
    duration_ms: int


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: IPAddress, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((str(self._address), self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: IPAddress, timeout: float) -> None:
        # The system's trust store, certificate and host name checked (ssl's defaults).
        self._tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self._tls)
        self._address = address

    def connect(self) -> None:
        raw = socket.create_connection((str(self._address), self.port), self.timeout)
        try:
            self.sock = self._tls.wrap_socket(raw, server_hostname=self.host)
        except BaseException:
            raw.close()
            raise


def send(
    parts: SplitResult,
    address: IPAddress,
    *,
    method: str,
    body: bytes,
    headers: dict[str, str],
    timeout: float,
) -> Answer:
    """Send the request to `address` for the URL `parts`; raise OSError (timeouts included) when no answer came."""
    host = parts.hostname or ""
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    kind = _PinnedHTTPSConnection if secure else _PinnedHTTPConnection
    connection = kind(host, port, address, timeout)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    started = time.perf_counter()
    try:
        connection.request(method, target, body=body or None, headers=headers)
        response = connection.getresponse()
        preview = response.read(PREVIEW_BYTES)
    except http.client.HTTPException as exc:  # a malformed answer: as good as none
        raise OSError(f"the receiver's answer was not HTTP ({type(exc).__name__})") from None
    finally:
        connection.close()
    return Answer(
        status=response.status,
        retry_after=response.getheader("Retry-After"),
        location=response.getheader("Location"),
        preview=preview.decode("utf-8", errors="replace"),
        duration_ms=round((time.perf_counter() - started) * 1000),
    )


__all__ = ["PREVIEW_BYTES", "Answer", "send"]
