"""A throwaway PKI for the send-side tests, and helpers to run the real engines.

Root -> intermediate -> leaf certificates for three people, each with a
signature certificate (digitalSignature, nonRepudiation) and an encryption
certificate (keyEncipherment), written as PEM under a temporary directory
so that openssl, cmsutil and gpgsm can read them.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from conformance.token.software import SoftwareKey

NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    sign_key: SoftwareKey
    encrypt_key: SoftwareKey
    sign_pem: Path
    sign_key_pem: Path
    encrypt_pem: Path
    encrypt_key_pem: Path


@dataclass(frozen=True)
class BuildPKI:
    directory: Path
    root: x509.Certificate
    intermediate: x509.Certificate
    root_pem: Path
    intermediate_pem: Path
    people: dict[str, Person]


def _name(common_name: str, email: str | None = None) -> x509.Name:
    attrs = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "OSM conformance test"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ]
    if email:
        attrs.append(x509.NameAttribute(NameOID.EMAIL_ADDRESS, email))
    return x509.Name(attrs)


def _certificate(
    subject: x509.Name,
    key: rsa.RSAPrivateKey,
    issuer: x509.Name,
    issuer_key: rsa.RSAPrivateKey,
    serial: int,
    *,
    ca: bool,
    usage: str = "sign",
    email: str | None = None,
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(NOW - timedelta(days=365))
        .not_valid_after(NOW + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    flags = dict.fromkeys(
        (
            "digital_signature",
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "key_cert_sign",
            "crl_sign",
            "encipher_only",
            "decipher_only",
        ),
        False,
    )
    if ca:
        flags.update(key_cert_sign=True, crl_sign=True)
    elif usage == "sign":
        flags.update(digital_signature=True, content_commitment=True)
    else:
        flags.update(key_encipherment=True)
    builder = builder.add_extension(x509.KeyUsage(**flags), critical=True)
    if email:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.RFC822Name(email)]), critical=False
        ).add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def make_pki(directory: Path) -> BuildPKI:
    keys = iter([rsa.generate_private_key(65537, 2048) for _ in range(8)])
    root_key = next(keys)
    root_name = _name("Test Root CA")
    root = _certificate(root_name, root_key, root_name, root_key, 1, ca=True)
    inter_key = next(keys)
    inter_name = _name("Test Intermediate CA")
    intermediate = _certificate(inter_name, inter_key, root_name, root_key, 2, ca=True)
    people: dict[str, Person] = {}
    serial = 100
    for short, full in (("alice", "Alice Émile"), ("bob", "Bob Durand"), ("carol", "Carol Petit")):
        email = f"{short}@sante.example"
        certs = {}
        for usage in ("sign", "encrypt"):
            key = next(keys)
            serial += 1
            cert = _certificate(
                _name(f"{full} ({usage})", email), key, inter_name, inter_key, serial,
                ca=False, usage=usage, email=email,
            )  # fmt: skip
            certs[usage] = (key, cert)
        base = directory / short
        base.mkdir()
        people[short] = Person(
            name=full,
            email=email,
            sign_key=SoftwareKey(certs["sign"][0], certs["sign"][1], f"{short}-sign"),
            encrypt_key=SoftwareKey(certs["encrypt"][0], certs["encrypt"][1], f"{short}-encrypt"),
            sign_pem=_write(base / "sign.pem", _pem(certs["sign"][1])),
            sign_key_pem=_write(base / "sign.key.pem", _key_pem(certs["sign"][0])),
            encrypt_pem=_write(base / "encrypt.pem", _pem(certs["encrypt"][1])),
            encrypt_key_pem=_write(base / "encrypt.key.pem", _key_pem(certs["encrypt"][0])),
        )
    return BuildPKI(
        directory=directory,
        root=root,
        intermediate=intermediate,
        root_pem=_write(directory / "root.pem", _pem(root)),
        intermediate_pem=_write(directory / "intermediate.pem", _pem(intermediate)),
        people=people,
    )


def run(command: list[str], stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(command, input=stdin, capture_output=True, timeout=60, check=False)
