"""Test support for the mail servers: their TLS server certificate, and a port probe.

The test PKI's `server-localhost` certificate (servers/localhost.pem, with its issuer,
trusted through the test root) where the PKI has it; otherwise a throwaway self-signed one
for localhost and 127.0.0.1, trusted as itself.
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
from pathlib import Path
from typing import NamedTuple

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conformance.paths import PKI_DIR
from conformance.pki.model import SERVER_CERT_FILE, SERVER_KEY_FILE


def listening(port: int) -> bool:
    """Whether something accepts connections on that loopback port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class ServerTLS(NamedTuple):
    cert: Path
    key: Path
    trust: Path  # what a client verifies the server certificate against


def server_tls(directory: Path) -> ServerTLS:
    """The PKI's server certificate when it has one, else a self-signed one in `directory`."""
    cert, key = PKI_DIR / SERVER_CERT_FILE, PKI_DIR / SERVER_KEY_FILE
    if cert.exists() and key.exists():
        return ServerTLS(cert, key, PKI_DIR / "ca" / "root.pem")
    cert, key = self_signed(directory)
    return ServerTLS(cert, key, cert)


def self_signed(directory: Path, name: str = "localhost") -> tuple[Path, Path]:
    """A throwaway server certificate for localhost / 127.0.0.1 (stand-in for the PKI's)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{name}-cert.pem", directory / f"{name}-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path
