"""A throwaway PKI in the export layout, for the real-engine tests.

Used only until the project's own test PKI (conformance.pki, `pki export`)
is present; then the tests use that instead (see `export_pki`). It writes
what `osm-conformance pki export DIR` writes: ca/{root,intermediate}.pem,
ca/{root,intermediate}.crl.pem, identities/<id>/{sign,encrypt}.pem(+.key.pem),
identity.p12 (password "test", legacy PBE) and identity.json.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
START = NOW - dt.timedelta(days=1)
END = NOW + dt.timedelta(days=365)


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(cn: str, email: str | None = None) -> x509.Name:
    attrs = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "OSM conformance test"),
        x509.NameAttribute(NameOID.COMMON_NAME, cn),
    ]
    if email:
        attrs.append(x509.NameAttribute(NameOID.EMAIL_ADDRESS, email))
    return x509.Name(attrs)


def _ca(
    name: str, key: rsa.RSAPrivateKey, issuer: tuple[x509.Certificate, rsa.RSAPrivateKey] | None
) -> x509.Certificate:
    subject = _name(name)
    issuer_name, issuer_key = (issuer[0].subject, issuer[1]) if issuer else (subject, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(START)
        .not_valid_after(END)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _leaf(
    cn: str,
    email: str,
    role: str,
    key: rsa.RSAPrivateKey,
    ca: x509.Certificate,
    ca_key: rsa.RSAPrivateKey,
) -> x509.Certificate:
    sign = role == "sign"
    usage = x509.KeyUsage(
        digital_signature=sign,
        content_commitment=sign,
        key_encipherment=not sign,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    return (
        x509.CertificateBuilder()
        .subject_name(_name(cn, email))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(START)
        .not_valid_after(END)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
        )
        .add_extension(x509.SubjectAlternativeName([x509.RFC822Name(email)]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )


def _crl(ca: x509.Certificate, key: rsa.RSAPrivateKey) -> x509.CertificateRevocationList:
    return (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.subject)
        .last_update(START)
        .next_update(END)
        .sign(key, hashes.SHA256())
    )


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _write_identity(
    directory: Path,
    ident: str,
    cn: str,
    email: str,
    ca: x509.Certificate,
    ca_key: rsa.RSAPrivateKey,
    chain: list[x509.Certificate],
) -> None:
    d = directory / "identities" / ident
    d.mkdir(parents=True)
    certs: dict[str, tuple[x509.Certificate, rsa.RSAPrivateKey]] = {}
    for role in ("sign", "encrypt"):
        key = _key()
        cert = _leaf(cn, email, role, key, ca, ca_key)
        certs[role] = (cert, key)
        (d / f"{role}.pem").write_bytes(_pem(cert))
        (d / f"{role}.key.pem").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    legacy = (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(2048)
        .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
        .hmac_hash(hashes.SHA1())
        .build(b"test")
    )
    cert, key = certs["sign"]
    (d / "identity.p12").write_bytes(
        pkcs12.serialize_key_and_certificates(cn.encode(), key, cert, chain, legacy)
    )
    (d / "identity.json").write_text(
        json.dumps({"id": ident, "name": cn, "email": email, "idnat": "899700000000"})
    )


def make_pki(directory: Path) -> Path:
    """Write a root, an intermediate, alice and bob under it, and mallory under another root."""
    ca_dir = directory / "ca"
    ca_dir.mkdir(parents=True)
    root_key, inter_key, other_key = _key(), _key(), _key()
    root = _ca("OSM Test Root", root_key, None)
    inter = _ca("OSM Test Intermediate", inter_key, (root, root_key))
    other = _ca("Unknown Root", other_key, None)
    (ca_dir / "root.pem").write_bytes(_pem(root))
    (ca_dir / "intermediate.pem").write_bytes(_pem(inter))
    for name, ca, key in (("root", root, root_key), ("intermediate", inter, inter_key)):
        (ca_dir / f"{name}.crl.pem").write_bytes(
            _crl(ca, key).public_bytes(serialization.Encoding.PEM)
        )
    for ident, cn in (("alice", "Alice Martin"), ("bob", "Bob Durand")):
        _write_identity(directory, ident, cn, f"{ident}@osm.test", inter, inter_key, [inter, root])
    _write_identity(
        directory, "mallory", "Mallory Unknown", "mallory@osm.test", other, other_key, [other]
    )
    return directory
