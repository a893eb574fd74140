"""Shared by the read-side tests: a throwaway PKI, tool runners, MIME wrapping.

The PKI is built once per process with tests/pki_support.py (dates around
now, defects the committed test PKI lacks): a root, an intermediate with a
CRL, signers with nonRepudiation + emailProtection + SAN, an encryption
recipient, and defective signers (expired, not yet valid, revoked, under an
unknown root, without nonRepudiation, signature-only for NSS).
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from pki_support import authority, cert_pem, crl, key_pem, leaf, name

from conformance.core.vocabulary import Role
from conformance.pki.build import Authority
from conformance.pki.export import P12_PASSWORD, pkcs12_bytes
from conformance.pki.model import Identity
from conformance.smime.options import ReceiveOptions
from conformance.smime.receive import read_message
from conformance.status import Status
from conformance.token.software import SoftwareKey

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
ORG = "OSM read test"
CONTENT = (
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: 7bit\r\n"
    b"\r\n"
    b"Compte rendu: resultat normal.\r\n"
    b"Line with trailing blanks   \r\n"
)


@functools.cache
def _keys() -> tuple[rsa.RSAPrivateKey, ...]:
    return tuple(rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(7))


@functools.cache
def _weak_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=1024)


@dataclass
class Person:
    email: str
    cert: x509.Certificate
    key: rsa.RSAPrivateKey
    cert_path: Path
    key_path: Path

    def handle(self) -> SoftwareKey:
        return SoftwareKey(self.key, self.cert, self.email)


@dataclass
class ReadPKI:
    directory: Path
    root: x509.Certificate
    intermediate: x509.Certificate
    other_root: x509.Certificate
    crls: list[x509.CertificateRevocationList]
    people: dict[str, Person] = field(default_factory=dict)

    @property
    def chain_path(self) -> Path:
        return self.directory / "chain.pem"

    @property
    def root_path(self) -> Path:
        return self.directory / "root.pem"

    def read(
        self,
        message: bytes,
        *,
        keys: list[str] | None = None,
        options: ReceiveOptions | None = None,
        directory: Any = None,
        crls: list[x509.CertificateRevocationList] | None = None,
        trust: list[x509.Certificate] | None = None,
        **kwargs: Any,
    ) -> tuple[bytes | None, Status]:
        return read_message(
            message,
            keys=[self.people[k].handle() for k in (keys or ["bob"])],
            trust=[self.root] if trust is None else trust,
            crls=self.crls if crls is None else crls,
            directory=directory,
            options=options or ReceiveOptions(),
            validation_time=NOW,
            intermediates=[self.intermediate],
            **kwargs,
        )


def _crl_point(name: str) -> x509.CRLDistributionPoints:
    uri = x509.UniformResourceIdentifier(f"http://crl.osm.test/{name}.crl")
    return x509.CRLDistributionPoints([x509.DistributionPoint([uri], None, None, None)])


def _signer(
    cn: str,
    email: str,
    key: rsa.RSAPrivateKey,
    issuer: Authority,
    *,
    role: Role = "sign",
    nonrepudiation: bool = True,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    crl_point: bool = True,
) -> x509.Certificate:
    """A leaf with an IDNat derived from its name and, unless told, a CRL distribution point."""
    return leaf(
        issuer,
        name(cn, email, "899700" + str(sum(cn.encode())).zfill(6), ORG),
        email,
        role,
        key,
        start or NOW - dt.timedelta(days=10),
        end or NOW + dt.timedelta(days=365),
        nonrepudiation=nonrepudiation,
        extensions=[_crl_point("intermediate")] if crl_point else [],
    )


def build_pki(directory: Path) -> ReadPKI:
    root_key, inter_key, other_key, alice_key, bob_key, carol_key, defect_key = _keys()
    start, end = NOW - dt.timedelta(days=30), NOW + dt.timedelta(days=3650)
    root = authority(name("Read Test Root", organization=ORG), root_key, None, start, end)
    inter = authority(name("Read Test Intermediate", organization=ORG), inter_key, root, start, end)
    other = authority(name("Unknown Root", organization=ORG), other_key, None, start, end)
    people: dict[str, tuple[x509.Certificate, rsa.RSAPrivateKey]] = {
        "alice": (_signer("Alice Martin", "alice@osm.test", alice_key, inter), alice_key),
        "bob": (_signer("Bob Durand", "bob@osm.test", bob_key, inter, role="encrypt"), bob_key),
        "carol": (
            _signer("Carol NoNR", "carol@osm.test", carol_key, inter, nonrepudiation=False),
            carol_key,
        ),
        "expired": (
            _signer(
                "Ex Pired",
                "expired@osm.test",
                defect_key,
                inter,
                start=NOW - dt.timedelta(days=400),
                end=NOW - dt.timedelta(days=2),
            ),
            defect_key,
        ),
        "notyet": (
            _signer(
                "Not Yet",
                "notyet@osm.test",
                defect_key,
                inter,
                start=NOW + dt.timedelta(days=2),
                end=NOW + dt.timedelta(days=400),
            ),
            defect_key,
        ),
        "revoked": (_signer("Re Voked", "revoked@osm.test", defect_key, inter), defect_key),
        "revoked-nocdp": (
            _signer("Re Voked Two", "revoked2@osm.test", defect_key, inter, crl_point=False),
            defect_key,
        ),
        "weak": (_signer("Weak Key", "weak@osm.test", _weak_key(), inter), _weak_key()),
        "unknown": (_signer("Un Known", "unknown@osm.test", defect_key, other), defect_key),
    }
    revoked = [people[who][0].serial_number for who in ("revoked", "revoked-nocdp")]
    crls = [
        crl(root, NOW - dt.timedelta(days=1), NOW + dt.timedelta(days=30)),
        crl(
            inter,
            NOW - dt.timedelta(days=1),
            NOW + dt.timedelta(days=30),
            [(serial, NOW - dt.timedelta(days=2)) for serial in revoked],
        ),
    ]
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "root.pem").write_bytes(cert_pem(root.certificate))
    (directory / "chain.pem").write_bytes(cert_pem(inter.certificate) + cert_pem(root.certificate))
    pki = ReadPKI(directory, root.certificate, inter.certificate, other.certificate, crls)
    for who, (cert, key) in people.items():
        cert_path = directory / f"{who}.pem"
        key_path = directory / f"{who}.key.pem"
        cert_path.write_bytes(cert_pem(cert))
        key_path.write_bytes(key_pem(key))
        email = cert.subject.get_attributes_for_oid(NameOID.EMAIL_ADDRESS)[0].value
        pki.people[who] = Person(str(email), cert, key, cert_path, key_path)
    return pki


def legacy_p12(person: Person, chain: list[x509.Certificate], password: bytes) -> bytes:
    """A PKCS#12 with legacy PBE (3DES, SHA-1 MAC): what gpgsm and NSS import."""
    assert password == P12_PASSWORD, "the export's legacy PBE has the password 'test'"
    return pkcs12_bytes(person.email, person.key, person.cert, chain)


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> ReadPKI:
    return build_pki(tmp_path_factory.mktemp("read-pki"))


class Directory:
    """A certificate directory over a list of certificates (the lookups the reader uses)."""

    def __init__(self, certificates: list[x509.Certificate]) -> None:
        self._certificates = certificates

    def find_certificate(self, issuer: x509.Name, serial: int) -> x509.Certificate | None:
        for cert in self._certificates:
            if cert.issuer == issuer and cert.serial_number == serial:
                return cert
        return None

    def find_by_ski(self, ski: bytes) -> x509.Certificate | None:
        for cert in self._certificates:
            try:
                ext = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
            except x509.ExtensionNotFound:
                continue
            if ext.value.digest == ski:
                return cert
        return None


# --- tools ----------------------------------------------------------------------------


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed (Debian package needed for this engine test)")
    return path


def run(args: list[str], data: bytes = b"", env: dict[str, str] | None = None) -> bytes:
    need(args[0])
    done = subprocess.run(
        args, input=data, capture_output=True, env={**os.environ, **(env or {})}, timeout=60
    )
    if done.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} failed ({done.returncode}): {done.stderr.decode(errors='replace')}"
        )
    return done.stdout


def openssl(*args: str, data: bytes = CONTENT) -> bytes:
    return run(["openssl", *args], data)


def openssl_sign(person: Person, *args: str, tool: str = "cms", data: bytes = CONTENT) -> bytes:
    """`openssl cms|smime -sign` as `person`: the signer options every signing test passes."""
    signer = ["-signer", str(person.cert_path), "-inkey", str(person.key_path)]
    return openssl(tool, "-sign", *signer, *args, data=data)


def openssl_signed_by(who: Identity, recipient: str, data: bytes) -> bytes:
    """`openssl cms -sign` by a test-PKI identity to `recipient`, carrying its issuing CA
    (`chain.pem`) as users' clients do: a message from a foreign producer."""
    return openssl(
        "cms",
        "-sign",
        "-crlfeol",
        *("-signer", str(who.certificate_path("sign")), "-inkey", str(who.key_path("sign"))),
        *("-certfile", str(who.directory / "chain.pem")),
        *("-from", who.email, "-to", recipient, "-subject", "Compte rendu"),
        data=data,
    )


def nested_multipart(depth: int) -> bytes:
    """A body of `depth` multipart/mixed entities nested one in the other (a nesting bomb)."""
    body = b"leaf\r\n"
    for level in range(depth):
        b = f"b{level}".encode()
        head = b"Content-Type: multipart/mixed; boundary=" + b + b"\r\n\r\n"
        body = head + b"--" + b + b"\r\n" + body + b"\r\n--" + b + b"--\r\n"
    return body


def headers(sender: str = "alice@osm.test", recipient: str = "bob@osm.test") -> bytes:
    return (f"From: {sender}\r\nTo: {recipient}\r\nSubject: test\r\nMIME-Version: 1.0\r\n").encode()


def wrap_cms(
    der: bytes,
    smime_type: str | None,
    *,
    media: str = "application/pkcs7-mime",
    sender: str = "alice@osm.test",
) -> bytes:
    """An RFC 5322 message carrying a raw CMS object as application/pkcs7-mime."""
    params = f"; smime-type={smime_type}" if smime_type else ""
    return (
        headers(sender)
        + f'Content-Type: {media}{params}; name="smime.p7m"\r\n'.encode()
        + b"Content-Transfer-Encoding: base64\r\n"
        + b'Content-Disposition: attachment; filename="smime.p7m"\r\n\r\n'
        + base64.encodebytes(der).replace(b"\n", b"\r\n")
    )


def body_of(entity: bytes) -> bytes:
    """The body of a MIME entity (after the first empty line)."""
    for sep in (b"\r\n\r\n", b"\n\n"):
        if sep in entity:
            return entity.split(sep, 1)[1]
    return entity


def multipart_signed(
    content: bytes, signature_der: bytes, micalg: str = "sha-256", sender: str = "alice@osm.test"
) -> bytes:
    """An RFC 1847 multipart/signed message around a detached CMS signature."""
    boundary = "=-=read-test-boundary=-="
    return (
        headers(sender)
        + (
            f'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; '
            f'micalg={micalg}; boundary="{boundary}"\r\n\r\n'
            f"This is an S/MIME signed message\r\n\r\n--{boundary}\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}\r\n".encode()
        + b'Content-Type: application/pkcs7-signature; name="smime.p7s"\r\n'
        + b"Content-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(signature_der).replace(b"\n", b"\r\n")
        + f"\r\n--{boundary}--\r\n".encode()
    )


def opaque_signed_der(pki: ReadPKI) -> bytes:
    """An attached SignedData by alice, DER, made by openssl cms."""
    return openssl_sign(pki.people["alice"], "-nodetach", "-outform", "DER")
