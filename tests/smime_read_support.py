"""Shared by the read-side tests: a throwaway PKI, tool runners, MIME wrapping.

The PKI is built once per process with `cryptography` (until the project's
own test PKI under vectors/pki/ is in place): a root, an intermediate with a
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
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from conformance.smime.options import ReceiveOptions
from conformance.smime.receive import read_message
from conformance.status import Status
from conformance.token.software import SoftwareKey

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
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


def _name(cn: str, email: str | None = None, idnat: str | None = None) -> x509.Name:
    attrs = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "OSM read test"),
        x509.NameAttribute(NameOID.COMMON_NAME, cn),
    ]
    if idnat:
        attrs.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, idnat))
    if email:
        attrs.append(x509.NameAttribute(NameOID.EMAIL_ADDRESS, email))
    return x509.Name(attrs)


def _crl_point(name: str) -> x509.CRLDistributionPoints:
    uri = x509.UniformResourceIdentifier(f"http://crl.osm.test/{name}.crl")
    return x509.CRLDistributionPoints([x509.DistributionPoint([uri], None, None, None)])


def _ca(
    cn: str,
    key: rsa.RSAPrivateKey,
    issuer: tuple[x509.Certificate, rsa.RSAPrivateKey] | None,
) -> x509.Certificate:
    subject = _name(cn)
    issuer_name, issuer_key = (issuer[0].subject, issuer[1]) if issuer else (subject, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(days=30))
        .not_valid_after(NOW + dt.timedelta(days=3650))
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
        ).add_extension(_crl_point("root"), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _leaf(
    cn: str,
    email: str,
    key: rsa.RSAPrivateKey,
    issuer: tuple[x509.Certificate, rsa.RSAPrivateKey],
    *,
    sign: bool = True,
    encrypt: bool = False,
    non_repudiation: bool = True,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    serial: int | None = None,
    crl_point: bool = True,
) -> x509.Certificate:
    usage = x509.KeyUsage(
        digital_signature=sign,
        content_commitment=sign and non_repudiation,
        key_encipherment=encrypt,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    ca, ca_key = issuer
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn, email, "899700" + str(sum(cn.encode())).zfill(6)))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(serial or x509.random_serial_number())
        .not_valid_before(start or NOW - dt.timedelta(days=10))
        .not_valid_after(end or NOW + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
        )
        .add_extension(x509.SubjectAlternativeName([x509.RFC822Name(email)]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    if crl_point:
        builder = builder.add_extension(_crl_point("intermediate"), critical=False)
    return builder.sign(ca_key, hashes.SHA256())


def _crl(
    ca: x509.Certificate, key: rsa.RSAPrivateKey, revoked: list[int]
) -> x509.CertificateRevocationList:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.subject)
        .last_update(NOW - dt.timedelta(days=1))
        .next_update(NOW + dt.timedelta(days=30))
    )
    for serial in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(serial)
            .revocation_date(NOW - dt.timedelta(days=2))
            .build()
        )
    return builder.sign(key, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def build_pki(directory: Path) -> ReadPKI:
    root_key, inter_key, other_key, alice_key, bob_key, carol_key, defect_key = _keys()
    root = _ca("Read Test Root", root_key, None)
    inter = _ca("Read Test Intermediate", inter_key, (root, root_key))
    other = _ca("Unknown Root", other_key, None)
    issuer = (inter, inter_key)
    people: dict[str, tuple[x509.Certificate, rsa.RSAPrivateKey]] = {
        "alice": (_leaf("Alice Martin", "alice@osm.test", alice_key, issuer), alice_key),
        "bob": (
            _leaf("Bob Durand", "bob@osm.test", bob_key, issuer, sign=False, encrypt=True),
            bob_key,
        ),
        "carol": (
            _leaf("Carol NoNR", "carol@osm.test", carol_key, issuer, non_repudiation=False),
            carol_key,
        ),
        "expired": (
            _leaf(
                "Ex Pired",
                "expired@osm.test",
                defect_key,
                issuer,
                start=NOW - dt.timedelta(days=400),
                end=NOW - dt.timedelta(days=2),
            ),
            defect_key,
        ),
        "notyet": (
            _leaf(
                "Not Yet",
                "notyet@osm.test",
                defect_key,
                issuer,
                start=NOW + dt.timedelta(days=2),
                end=NOW + dt.timedelta(days=400),
            ),
            defect_key,
        ),
        "revoked": (_leaf("Re Voked", "revoked@osm.test", defect_key, issuer), defect_key),
        "revoked-nocdp": (
            _leaf("Re Voked Two", "revoked2@osm.test", defect_key, issuer, crl_point=False),
            defect_key,
        ),
        "weak": (_leaf("Weak Key", "weak@osm.test", _weak_key(), issuer), _weak_key()),
        "unknown": (
            _leaf("Un Known", "unknown@osm.test", defect_key, (other, other_key)),
            defect_key,
        ),
    }
    crls = [
        _crl(root, root_key, []),
        _crl(
            inter,
            inter_key,
            [people["revoked"][0].serial_number, people["revoked-nocdp"][0].serial_number],
        ),
    ]
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "root.pem").write_bytes(_pem(root))
    (directory / "chain.pem").write_bytes(_pem(inter) + _pem(root))
    pki = ReadPKI(directory, root, inter, other, crls)
    for name, (cert, key) in people.items():
        cert_path = directory / f"{name}.pem"
        key_path = directory / f"{name}.key.pem"
        cert_path.write_bytes(_pem(cert))
        key_path.write_bytes(_key_pem(key))
        email = cert.subject.get_attributes_for_oid(NameOID.EMAIL_ADDRESS)[0].value
        pki.people[name] = Person(str(email), cert, key, cert_path, key_path)
    return pki


def legacy_p12(person: Person, chain: list[x509.Certificate], password: bytes) -> bytes:
    """A PKCS#12 with legacy PBE (3DES, SHA-1 MAC): what gpgsm and NSS import."""
    legacy = (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(2048)
        .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
        .hmac_hash(hashes.SHA1())
        .build(password)
    )
    return pkcs12.serialize_key_and_certificates(
        person.email.encode(), person.key, person.cert, chain, legacy
    )


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
