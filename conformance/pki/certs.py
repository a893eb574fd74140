"""Certificates and CRLs of the test PKI, modelled on the health CA (IGC-Santé).

cryptography's x509 builders make everything they can; what they refuse
(SHA-1 signatures, a non-standard public key algorithm OID) is rewritten
afterwards with asn1crypto and signed again here, see `rewrite_and_sign`.
Every input (dates, serials, keys) is given, so the output is deterministic:
RSA PKCS#1 v1.5 signatures involve no randomness.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Literal

from asn1crypto import algos as asn1_algos
from asn1crypto import core as asn1_core
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from conformance.core import oids
from conformance.core.vocabulary import Role

# Invented, test-only branch under the health CA's arc 1.2.250.1.71: no real
# policy has these numbers, and nothing outside this project knows them.
TEST_POLICY_ARC = oids.TEST_POLICY_ARC
POLICY_OIDS: dict[Role, x509.ObjectIdentifier] = {
    "auth": x509.ObjectIdentifier(TEST_POLICY_ARC + ".1"),
    "sign": x509.ObjectIdentifier(TEST_POLICY_ARC + ".2"),
    "encrypt": x509.ObjectIdentifier(TEST_POLICY_ARC + ".3"),
}
POLICY_NOTICE = "TEST ONLY: politique de certification de test fictive (osm-conformance)"
PROFESSIONALS_ORG = "TEST Professionnels de santé"


@dataclass(frozen=True)
class Subject:
    """The subject fields of a professional's certificates."""

    given_name: str
    surname: str
    profession: str
    idnat: str

    def name(self) -> x509.Name:
        return x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, PROFESSIONALS_ORG),
                x509.NameAttribute(NameOID.TITLE, self.profession),
                x509.NameAttribute(NameOID.SERIAL_NUMBER, self.idnat),
                x509.NameAttribute(NameOID.GIVEN_NAME, self.given_name),
                x509.NameAttribute(NameOID.SURNAME, self.surname.upper()),
                x509.NameAttribute(
                    NameOID.COMMON_NAME, f"{self.given_name} {self.surname.upper()}"
                ),
            ]
        )


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key: rsa.RSAPrivateKey) -> bytes:
    """Unencrypted PKCS#8: the test keys are public anyway."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def ca_name(common_name: str, organization: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "TEST ONLY - osm-conformance"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _policies(oids: Iterable[x509.ObjectIdentifier]) -> x509.CertificatePolicies:
    notice = x509.UserNotice(notice_reference=None, explicit_text=POLICY_NOTICE)
    return x509.CertificatePolicies([x509.PolicyInformation(oid, [notice]) for oid in oids])


def _base(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: rsa.RSAPublicKey,
    serial: int,
    not_before: datetime,
    not_after: datetime,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def _aki(issuer_cert: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    ski = issuer_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


# The nine bits of x509.KeyUsage, all named at every construction.
_USAGE_BITS = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
    "encipher_only",
    "decipher_only",
)


def usage(*bits: str) -> x509.KeyUsage:
    """A key usage with `bits` set (cryptography's names: content_commitment is
    nonRepudiation) and every other bit clear."""
    unknown = set(bits) - set(_USAGE_BITS)
    if unknown:
        raise ValueError(f"unknown key usage bit(s): {', '.join(sorted(unknown))}")
    return x509.KeyUsage(**{bit: bit in bits for bit in _USAGE_BITS})


_CA_USAGE = usage("key_cert_sign", "crl_sign")


def root_certificate(
    name: x509.Name, key: rsa.RSAPrivateKey, serial: int, not_before: datetime, not_after: datetime
) -> x509.Certificate:
    builder = (
        _base(name, name, key.public_key(), serial, not_before, not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_CA_USAGE, critical=True)
    )
    return builder.sign(key, hashes.SHA256())


def intermediate_certificate(
    name: x509.Name,
    public_key: rsa.RSAPublicKey,
    issuer_cert: x509.Certificate,
    issuer_key: rsa.RSAPrivateKey,
    serial: int,
    not_before: datetime,
    not_after: datetime,
    *,
    path_length: int | None = 0,
    ca_usage: x509.KeyUsage | None = None,
) -> x509.Certificate:
    """A CA under the root: pathLenConstraint 0 and keyCertSign with cRLSign, unless a
    hostile case asks for another `path_length` or `ca_usage`."""
    builder = (
        _base(name, issuer_cert.subject, public_key, serial, not_before, not_after)
        .add_extension(_aki(issuer_cert), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(ca_usage or _CA_USAGE, critical=True)
        .add_extension(_policies(POLICY_OIDS.values()), critical=False)
    )
    return builder.sign(issuer_key, hashes.SHA256())


def key_usage(role: Role, nonrepudiation: bool = True) -> x509.KeyUsage:
    """auth: digitalSignature; sign: nonRepudiation + digitalSignature; encrypt: keyEncipherment."""
    sign = ("digital_signature", "content_commitment")
    bits = {
        "auth": ("digital_signature",),
        "sign": sign if nonrepudiation else sign[:1],
        "encrypt": ("key_encipherment",),
    }
    return usage(*bits[role])


EXTENDED_KEY_USAGE: dict[Role, x509.ObjectIdentifier] = {
    "auth": ExtendedKeyUsageOID.CLIENT_AUTH,
    "sign": ExtendedKeyUsageOID.EMAIL_PROTECTION,
    "encrypt": ExtendedKeyUsageOID.EMAIL_PROTECTION,
}


def end_entity_certificate(
    subject: Subject | x509.Name,
    role: Role,
    email: str,
    public_key: rsa.RSAPublicKey,
    issuer_cert: x509.Certificate,
    issuer_key: rsa.RSAPrivateKey,
    serial: int,
    not_before: datetime,
    not_after: datetime,
    nonrepudiation: bool = True,
    extensions: Sequence[x509.ExtensionType] = (),
) -> x509.Certificate:
    """`subject` is a professional (the test PKI) or a ready name (tests' throwaway PKIs);
    `extensions` are added, non-critical, after the profile's own."""
    name = subject.name() if isinstance(subject, Subject) else subject
    builder = (
        _base(name, issuer_cert.subject, public_key, serial, not_before, not_after)
        .add_extension(_aki(issuer_cert), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(key_usage(role, nonrepudiation), critical=True)
        .add_extension(x509.ExtendedKeyUsage([EXTENDED_KEY_USAGE[role]]), critical=False)
        .add_extension(x509.SubjectAlternativeName([x509.RFC822Name(email)]), critical=False)
        .add_extension(_policies([POLICY_OIDS[role]]), critical=False)
    )
    for extension in extensions:
        builder = builder.add_extension(extension, critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


SERVER_ORG = "TEST Serveurs de messagerie de la suite (fictifs)"


def server_certificate(
    host: str,
    addresses: Sequence[str],
    public_key: rsa.RSAPublicKey,
    issuer_cert: x509.Certificate,
    issuer_key: rsa.RSAPrivateKey,
    serial: int,
    not_before: datetime,
    not_after: datetime,
) -> x509.Certificate:
    """A TLS server certificate (serverAuth; SAN dNSName `host` and iPAddress each of
    `addresses`): what the suite's own mail servers present on loopback (STARTTLS)."""
    name = ca_name(host, SERVER_ORG)  # the same TEST ONLY shape as the CAs' names
    server_usage = usage("digital_signature", "key_encipherment")
    alt_names: list[x509.GeneralName] = [x509.DNSName(host)]
    alt_names += [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
    builder = (
        _base(name, issuer_cert.subject, public_key, serial, not_before, not_after)
        .add_extension(_aki(issuer_cert), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(server_usage, critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
    )
    return builder.sign(issuer_key, hashes.SHA256())


class _GenericAlgorithm(asn1_core.Sequence):  # type: ignore[misc]
    _fields: ClassVar[list[tuple[Any, ...]]] = [
        ("algorithm", asn1_core.ObjectIdentifier),
        ("parameters", asn1_core.Any, {"optional": True}),
    ]


class _GenericPublicKeyInfo(asn1_core.Sequence):  # type: ignore[misc]
    _fields: ClassVar[list[tuple[Any, ...]]] = [
        ("algorithm", _GenericAlgorithm),
        ("public_key", asn1_core.OctetBitString),
    ]


_HASHES: dict[str, hashes.HashAlgorithm] = {"sha256": hashes.SHA256(), "sha1": hashes.SHA1()}


def rewrite_and_sign(
    cert: x509.Certificate,
    issuer_key: rsa.RSAPrivateKey,
    signature_hash: Literal["sha256", "sha1"] = "sha256",
    spki_algorithm: str | None = None,
) -> x509.Certificate:
    """Re-sign `cert` with `signature_hash`, optionally relabelling its key's algorithm OID.

    Hand-written because cryptography's builder refuses SHA-1 signatures and
    can only emit public keys it knows; the TBSCertificate is edited with
    asn1crypto and signed with the issuer key, nothing else changes.
    """
    parsed = asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    tbs = parsed["tbs_certificate"].copy()
    algorithm = asn1_algos.SignedDigestAlgorithm(
        {"algorithm": f"{signature_hash}_rsa", "parameters": asn1_core.Null()}
    )
    tbs["signature"] = algorithm
    if spki_algorithm is not None:
        # asn1crypto's PublicKeyInfo refuses an algorithm it does not know, so the
        # new SubjectPublicKeyInfo is encoded with a generic structure and the
        # TBSCertificate keeps it as opaque bytes.
        raw = _GenericPublicKeyInfo(
            {
                "algorithm": _GenericAlgorithm(
                    {"algorithm": spki_algorithm, "parameters": asn1_core.Null()}
                ),
                "public_key": cert.public_key().public_bytes(
                    serialization.Encoding.DER, serialization.PublicFormat.PKCS1
                ),
            }
        )
        tbs["subject_public_key_info"] = asn1_keys.PublicKeyInfo.load(raw.dump())
    tbs_der = tbs.dump()
    signature = issuer_key.sign(tbs_der, padding.PKCS1v15(), _HASHES[signature_hash])
    rebuilt = asn1_x509.Certificate(
        {
            "tbs_certificate": asn1_x509.TbsCertificate.load(tbs_der),
            "signature_algorithm": algorithm,
            "signature_value": signature,
        }
    )
    return x509.load_der_x509_certificate(rebuilt.dump())


def crl(
    issuer_cert: x509.Certificate,
    issuer_key: rsa.RSAPrivateKey,
    number: int,
    this_update: datetime,
    next_update: datetime,
    revoked: Sequence[tuple[int, datetime]] = (),
) -> x509.CertificateRevocationList:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer_cert.subject)
        .last_update(this_update)
        .next_update(next_update)
        .add_extension(_aki(issuer_cert), critical=False)
        .add_extension(x509.CRLNumber(number), critical=False)
    )
    for serial, when in sorted(revoked):
        entry = (
            x509.RevokedCertificateBuilder()
            .serial_number(serial)
            .revocation_date(when)
            .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), critical=False)
            .build()
        )
        builder = builder.add_revoked_certificate(entry)
    return builder.sign(issuer_key, hashes.SHA256())
