"""What the console checks on every request before a page runs, and adds to every answer (docs/security.md).

- **Host** (DNS rebinding): a page on a name that resolves to 127.0.0.1 reaches the console with its own name in
  `Host`; the console answers only to the name and port it serves (and the loopback names for that port): 421.
- **Framing** (clickjacking): `Content-Security-Policy` with `frame-ancestors 'none'` and `X-Frame-Options: DENY`;
  scripts and styles only from the console itself (htmx is vendored; the pages have no inline script or style).
- **CSRF**: every change (any method but GET/HEAD) must come from the console's own pages (`Origin`,
  `Sec-Fetch-Site`) and carry the token of this browser: an HMAC, with a secret made when the process starts, of a
  random id the browser keeps in a cookie (a signed double submit). Forms send it as `csrf_token`, htmx as
  `X-CSRF-Token`.
- **Notices** after a change are shown only when this browser carries the console's signature of that text.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
import socket
from collections.abc import Callable
from urllib.parse import parse_qsl, urlsplit

from fastapi import Request
from fastapi.responses import PlainTextResponse, Response

#: Headers on every response the console gives.
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}
BROWSER_COOKIE = "console_id"
NOTICE_COOKIE = "console_notice"
# The names of a form field and a header, not secrets.
TOKEN_FIELD = "csrf_token"  # noqa: S105  # nosec B105
TOKEN_HEADER = "x-csrf-token"  # noqa: S105  # nosec B105
_BROWSER_ID = re.compile(r"^[A-Za-z0-9_-]{43}$")
_LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
#: The "every interface" addresses (0.0.0.0, ::), to recognise in the URL a console is served at.
_WILDCARDS = frozenset({str(ipaddress.IPv4Address(0)), str(ipaddress.IPv6Address(0)), ""})
_FORM = "application/x-www-form-urlencoded"
CSRF_REFUSAL = (
    "refused: this change carries no valid CSRF token for this browser (the console restarted, or the form did "
    "not come from one of its pages). Reload the console's page and try again."
)
CROSS_SITE = "cross-site request refused: a change must come from one of the console's own pages"


class BadForm(ValueError):
    """Raise when a form body cannot be read (not UTF-8): a 400."""


def read_form(body: bytes) -> dict[str, str]:
    """A urlencoded form (python-multipart is not a dependency); BadForm when it is not UTF-8."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadForm(f"the form is not UTF-8 (byte {exc.start} cannot be read): send it as UTF-8") from None
    return dict(parse_qsl(text, keep_blank_values=True))


def is_loopback(host: str) -> bool:
    """`localhost` or a loopback address (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _names_for(served_host: str) -> set[str]:
    """The Host names a console served on `served_host` answers to."""
    host = served_host.lower().strip("[]")
    if host in _WILDCARDS:  # every interface: loopback and this machine's own names
        return {*_LOOPBACK_NAMES, socket.gethostname().lower(), socket.getfqdn().lower()}
    if is_loopback(host):
        return {*_LOOPBACK_NAMES, host}
    return {host}


def host_allowed(header: str | None, served_at: str | None) -> bool:
    """Whether a request's `Host` names this console: the host and port it is served at (`served_at`, its URL), or
    a loopback name for that port; with `served_at` unknown, a loopback name on any port."""
    if not header:
        return False
    try:
        given = urlsplit("//" + header)
        name, port = (given.hostname or "").lower(), given.port or 80
    except ValueError:
        return False
    if served_at is None:
        return name in _LOOPBACK_NAMES
    served = urlsplit(served_at)
    return name in _names_for(served.hostname or "") and port == (served.port or 80)


def misdirected(served_at: str | None) -> Response:
    """The 421 for a Host this console does not serve (it names what it serves, not what it was sent)."""
    where = served_at or "a loopback address"
    return PlainTextResponse(
        f"misdirected request: this console answers only to {where} (DNS rebinding is refused)", status_code=421
    )


def browser_id(request: Request) -> tuple[str, bool]:
    """This browser's id (from its cookie), and whether it is new (to be set)."""
    found = request.cookies.get(BROWSER_COOKIE, "")
    if _BROWSER_ID.match(found):
        return found, False
    return secrets.token_urlsafe(32), True


def sign(secret: bytes, purpose: str, *parts: str) -> str:
    """HMAC-SHA256 of `parts` for one purpose (the CSRF token, a notice)."""
    message = "\x00".join((purpose, *parts)).encode("utf-8")
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def _same_origin(request: Request) -> bool:
    """The browser says the change comes from the console's own pages (or, like a test client, says nothing)."""
    if request.headers.get("sec-fetch-site") in ("cross-site", "same-site", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return origin != "null" and urlsplit(origin).netloc == request.headers.get("host")


async def refuse_change(request: Request, token: str) -> Response | None:
    """None when a change may go ahead; else the 403 (or the 400 for an unreadable form) that refuses it."""
    if not _same_origin(request):
        return PlainTextResponse(CROSS_SITE, status_code=403)
    sent = request.headers.get(TOKEN_HEADER)
    if sent is None and request.headers.get("content-type", "").split(";")[0].strip() == _FORM:
        try:
            sent = read_form(await request.body()).get(TOKEN_FIELD)
        except BadForm as exc:
            return PlainTextResponse(str(exc), status_code=400)
    if sent is None or not hmac.compare_digest(sent, token):
        return PlainTextResponse(CSRF_REFUSAL, status_code=403)
    return None


def shown_notice(request: Request, secret: bytes, browser: str) -> str | None:
    """The `?notice=` text when this browser carries the console's signature of it, else None."""
    notice = request.query_params.get("notice")
    signature = request.cookies.get(NOTICE_COOKIE, "")
    if not notice or not hmac.compare_digest(signature, sign(secret, "notice", browser, notice)):
        return None
    return notice


def set_notice(response: Response, secret: bytes, browser: str, notice: str, path: str) -> None:
    """Let the page a redirect leads to show `notice` (this browser only, for a few minutes)."""
    response.set_cookie(
        NOTICE_COOKIE, sign(secret, "notice", browser, notice), max_age=300, path=path, httponly=True, samesite="strict"
    )


def set_browser(response: Response, browser: str, path: str) -> None:
    """Give the browser its id (the CSRF token is derived from it)."""
    response.set_cookie(BROWSER_COOKIE, browser, path=path, httponly=True, samesite="lax")


ServedAt = Callable[[], str | None]
