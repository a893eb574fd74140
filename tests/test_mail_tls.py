"""The mail servers' TLS: the server certificate verifies against the test root alone."""

from __future__ import annotations

import socket
import ssl
import threading

import pytest

from conformance.mail.tls import client_context, server_context


def _handshake(server_hostname: str, client: ssl.SSLContext) -> str:
    """One TLS handshake over a loopback socket pair; returns the negotiated version."""
    server = server_context()
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    errors: list[BaseException] = []

    def serve() -> None:
        conn, _ = listener.accept()
        try:
            with server.wrap_socket(conn, server_side=True) as tls:
                tls.recv(1)
        except (ssl.SSLError, OSError) as exc:
            errors.append(exc)

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        with (
            socket.create_connection(("127.0.0.1", port)) as raw,
            client.wrap_socket(raw, server_hostname=server_hostname) as tls,
        ):
            version = tls.version() or ""
            tls.sendall(b"x")
    finally:
        thread.join(5)
        listener.close()
    return version


@pytest.mark.parametrize("name", ["localhost", "127.0.0.1"])
def test_client_accepts_the_server_under_its_names(name: str) -> None:
    assert _handshake(name, client_context()).startswith("TLS")


def test_client_refuses_another_name() -> None:
    with pytest.raises(ssl.SSLCertVerificationError, match=r"mismatch|doesn't match"):
        _handshake("mail.example", client_context())


def test_default_trust_does_not_know_the_test_root() -> None:
    context = ssl.create_default_context(cafile=None, capath="/nonexistent")
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake("localhost", context)
