"""Throwaway PKIs for the tests that cannot use the committed one (load_pki()).

Some tests need what vectors/pki/ lacks: certificates valid around "now", the
names the external tools are asked for, a revoked certificate with and without
a CRL distribution point, a 1024-bit key, an identity per test run. They are
built here with the same certificate functions as the test PKI
(conformance.pki.certs), so that only names, dates and keys differ.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from conformance.core.vocabulary import Role
from conformance.pki import certs
from conformance.pki.build import Authority
from conformance.pki.export import pkcs12_bytes

cert_pem = certs.cert_pem
key_pem = certs.key_pem
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def rsa_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def name(
    cn: str,
    email: str | None = None,
    idnat: str | None = None,
    organization: str = "OSM conformance test",
) -> x509.Name:
    """C, O, CN, then the optional serialNumber (IDNat) and emailAddress."""
    attrs = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
        x509.NameAttribute(NameOID.COMMON_NAME, cn),
    ]
    if idnat:
        attrs.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, idnat))
    if email:
        attrs.append(x509.NameAttribute(NameOID.EMAIL_ADDRESS, email))
    return x509.Name(attrs)


def authority(
    subject: x509.Name,
    key: rsa.RSAPrivateKey,
    issuer: Authority | None,
    not_before: dt.datetime,
    not_after: dt.datetime,
    serial: int | None = None,
) -> Authority:
    """A self-signed root (no `issuer`) or an intermediate under `issuer`."""
    serial = serial or x509.random_serial_number()
    if issuer is None:
        cert = certs.root_certificate(subject, key, serial, not_before, not_after)
    else:
        cert = certs.intermediate_certificate(
            subject, key.public_key(), issuer.certificate, issuer.key, serial,
            not_before, not_after,
        )  # fmt: skip
    return Authority(cert, key)


def leaf(
    issuer: Authority,
    subject: x509.Name,
    email: str,
    role: Role,
    key: rsa.RSAPrivateKey,
    not_before: dt.datetime,
    not_after: dt.datetime,
    *,
    serial: int | None = None,
    nonrepudiation: bool = True,
    extensions: Sequence[x509.ExtensionType] = (),
) -> x509.Certificate:
    return certs.end_entity_certificate(
        subject, role, email, key.public_key(), issuer.certificate, issuer.key,
        serial or x509.random_serial_number(), not_before, not_after,
        nonrepudiation=nonrepudiation, extensions=extensions,
    )  # fmt: skip


def crl(
    issuer: Authority,
    this_update: dt.datetime,
    next_update: dt.datetime,
    revoked: Sequence[tuple[int, dt.datetime]] = (),
) -> x509.CertificateRevocationList:
    return certs.crl(issuer.certificate, issuer.key, 1, this_update, next_update, revoked)


def crl_pem(revocations: x509.CertificateRevocationList) -> bytes:
    return revocations.public_bytes(serialization.Encoding.PEM)


def export_layout_pki(directory: Path) -> Path:
    """What `pki export DIR` writes, for alice and bob under the root and mallory under another.

    ca/{root,intermediate}.pem and .crl.pem; identities/<id>/{sign,encrypt}.pem
    (+.key.pem), identity.p12 (password "test", legacy PBE), identity.json.
    """
    start, end = NOW - dt.timedelta(days=1), NOW + dt.timedelta(days=365)
    ca_dir = directory / "ca"
    ca_dir.mkdir(parents=True)
    root = authority(name("OSM Test Root"), rsa_key(), None, start, end)
    inter = authority(name("OSM Test Intermediate"), rsa_key(), root, start, end)
    other = authority(name("Unknown Root"), rsa_key(), None, start, end)
    for label, ca in (("root", root), ("intermediate", inter)):
        (ca_dir / f"{label}.pem").write_bytes(cert_pem(ca.certificate))
        (ca_dir / f"{label}.crl.pem").write_bytes(crl_pem(crl(ca, start, end)))
    people = (
        ("alice", "Alice Martin", inter, [inter.certificate, root.certificate]),
        ("bob", "Bob Durand", inter, [inter.certificate, root.certificate]),
        ("mallory", "Mallory Unknown", other, [other.certificate]),
    )
    for ident, cn, issuer, chain in people:
        email = f"{ident}@osm.test"
        out = directory / "identities" / ident
        out.mkdir(parents=True)
        made: dict[str, tuple[rsa.RSAPrivateKey, x509.Certificate]] = {}
        for role in ("sign", "encrypt"):
            key = rsa_key()
            made[role] = key, leaf(issuer, name(cn, email), email, role, key, start, end)
            (out / f"{role}.pem").write_bytes(cert_pem(made[role][1]))
            (out / f"{role}.key.pem").write_bytes(key_pem(key))
        (out / "identity.p12").write_bytes(pkcs12_bytes(cn, *made["sign"], chain))
        (out / "identity.json").write_text(
            json.dumps({"id": ident, "name": cn, "email": email, "idnat": "899700000000"})
        )
    return directory
