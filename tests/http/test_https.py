"""https, as on AWS: the connection goes to the checked address while TLS verifies the URL's host name.

A receiver on loopback serves a certificate made here, trusted through SSL_CERT_FILE (what OpenSSL reads for
the default trust store); the host name resolves to 127.0.0.1 through the replaced resolver.
"""

from __future__ import annotations

import datetime as dt
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from callback_app.handler import TaskInvocationFailed
from tests.callback.helpers import delivery, ledger_partition
from tests.http.conftest import HttpAction, resolving
from tests.http.receiver import Receiver, receiver_on_loopback


def certificate(tmp_path: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for `name` and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.fixture
def tls_receiver(tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    """An https receiver on 127.0.0.1 whose certificate names `request.param`, trusted by this process."""
    cert, key = certificate(tmp_path, request.param)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(cert, key)
    with receiver_on_loopback(tls=server_side) as receiver:
        yield receiver


@pytest.mark.parametrize("tls_receiver", ["api.test"], indirect=True)
def test_https_to_a_listed_name_verifies_its_certificate_and_calls_the_checked_address(
    callback: Any, http_action: HttpAction, tls_receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    HttpAction.configure(monkeypatch, allowed_hosts="api.test,127.0.0.1", allow_http_loopback="false")
    resolving(monkeypatch, "127.0.0.1")
    port = tls_receiver.url.rsplit(":", 1)[1]

    response = callback(delivery("tls-1", action="http_request", data={"url": f"https://api.test:{port}/hook"}))

    assert response["statusCode"] == 200, response["body"]
    (request,) = tls_receiver.received
    assert request.headers["Host"] == f"api.test:{port}"


@pytest.mark.parametrize("tls_receiver", ["other.test"], indirect=True)
def test_a_certificate_for_another_name_is_no_connection_and_the_invocation_fails(
    callback: Any, http_action: HttpAction, tls_receiver: Receiver, monkeypatch: pytest.MonkeyPatch, aws: Any
) -> None:
    HttpAction.configure(monkeypatch, allowed_hosts="api.test,127.0.0.1", allow_http_loopback="false")
    resolving(monkeypatch, "127.0.0.1")
    port = tls_receiver.url.rsplit(":", 1)[1]

    with pytest.raises(TaskInvocationFailed, match="ReceiverUnavailable"):
        callback(delivery("tls-2", action="http_request", data={"url": f"https://api.test:{port}/hook"}))

    assert tls_receiver.received == []
    _, [run] = ledger_partition(aws.names["TaskLedgerTable"], "tls-2")
    assert "no connection to api.test (SSLCertVerificationError)" in run["error_message"]
