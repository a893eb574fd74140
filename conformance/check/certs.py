"""Certificate facts read with asn1crypto, robust to keys no library parses.

Some early GIP-CPS certificates tag their RSA key with the non-standard OID
1.2.250.1.71.2.6.1; asn1crypto and cryptography both refuse to parse such a
SubjectPublicKeyInfo. The validator must report that, not crash, so the
key is read here through a generic structure (algorithm OID + BIT STRING),
and an RSA key under that OID is still usable to verify signatures.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from asn1crypto import core, keys
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from conformance.core import oids
from conformance.core.bilingual import Bilingual
from conformance.core.certificates import certificate_emails
from conformance.core.cms import PARSE_ERRORS

RSA_ENCRYPTION = oids.RSA_ENCRYPTION
GIP_CPS_RSA_OID = oids.GIP_CPS_RSA
EMAIL_PROTECTION = oids.EMAIL_PROTECTION
ANY_EKU = oids.ANY_EXTENDED_KEY_USAGE
IDNAT = re.compile(r"^\d{12}$")
TEST_IDNAT_PREFIX = "8997"
_PARSE_ERRORS: tuple[type[BaseException], ...] = (*PARSE_ERRORS, UnboundLocalError)


class _AlgorithmIdentifier(core.Sequence):  # type: ignore[misc]
    _fields: ClassVar[list[tuple[str, type, dict[str, bool]] | tuple[str, type]]] = [
        ("algorithm", core.ObjectIdentifier),
        ("parameters", core.Any, {"optional": True}),
    ]


class _GenericSpki(core.Sequence):  # type: ignore[misc]
    _fields: ClassVar[list[tuple[str, type, dict[str, bool]] | tuple[str, type]]] = [
        ("algorithm", _AlgorithmIdentifier),
        ("public_key", core.OctetBitString),
    ]


@dataclass(frozen=True)
class KeyFacts:
    algorithm_oid: str
    rsa_bits: int | None  # None: not an RSA key (or not readable as one)
    public_key: PublicKeyTypes | None
    error: Bilingual | None  # why the key is not usable; the library's own words quoted


def unparsed(what_fr: str, what_en: str, detail: object) -> Bilingual:
    """A structure that does not parse, with the parsing library's own words (quoted in
    French: they are English)."""
    return Bilingual(
        f"{what_fr} ne s'analyse pas : « {detail} »", f"{what_en} does not parse: {detail}"
    )


def key_facts(cert: asn1_x509.Certificate) -> KeyFacts:
    """The public key's algorithm OID, its RSA size, and a usable key object when possible."""
    try:
        der = cert["tbs_certificate"]["subject_public_key_info"].dump()
    except _PARSE_ERRORS as exc:
        return KeyFacts(
            "?", None, None, unparsed("la SubjectPublicKeyInfo", "SubjectPublicKeyInfo", exc)
        )
    return _key_facts(der)


@functools.lru_cache(maxsize=1024)
def _key_facts(der: bytes) -> KeyFacts:
    try:
        spki = _GenericSpki.load(der)
        oid = spki["algorithm"]["algorithm"].dotted
        raw = bytes(spki["public_key"])
    except _PARSE_ERRORS as exc:
        return KeyFacts(
            "?", None, None, unparsed("la SubjectPublicKeyInfo", "SubjectPublicKeyInfo", exc)
        )
    if oid in (RSA_ENCRYPTION, GIP_CPS_RSA_OID):
        try:
            numbers = keys.RSAPublicKey.load(raw)
            n = int(numbers["modulus"].native)
            e = int(numbers["public_exponent"].native)
            key = rsa.RSAPublicNumbers(e, n).public_key()
        except _PARSE_ERRORS as exc:
            error = unparsed("la clé publique RSA", "RSA public key", exc)
            return KeyFacts(oid, None, None, error)
        return KeyFacts(oid, n.bit_length(), key, None)
    try:
        other = serialization.load_der_public_key(spki.dump())
    except Exception as exc:  # cryptography refuses what it does not know
        error = Bilingual(
            f"l'algorithme de clé publique {oid} n'est pas lisible : « {exc} »",
            f"public key algorithm {oid} is not readable: {exc}",
        )
        return KeyFacts(oid, None, None, error)
    return KeyFacts(oid, None, other, None)


def dsa_bits(cert: asn1_x509.Certificate) -> int | None:
    """The size of a DSA key (its prime p), None for another key or for parameters inherited
    from the issuer (RFC 3279 2.3.2: the size is then the issuer's)."""
    try:
        key = cert.public_key
        return int(key.bit_size) if key.algorithm == "dsa" else None
    except _PARSE_ERRORS:
        return None


def subject_text(cert: asn1_x509.Certificate) -> str:
    try:
        return str(cert.subject.human_friendly)
    except _PARSE_ERRORS:
        return "(unreadable subject)"


def key_usage(cert: asn1_x509.Certificate) -> set[str] | None:
    """Key usage names (asn1crypto's), or None when the extension is absent."""
    value = cert.key_usage_value
    return None if value is None else set(value.native)


def extended_key_usage(cert: asn1_x509.Certificate) -> set[str] | None:
    value = cert.extended_key_usage_value
    return None if value is None else {p.dotted for p in value}


def emails(cert: asn1_x509.Certificate) -> set[str]:
    """rfc822Name entries of the SAN, else the subject's emailAddress (RFC 8550 3), lowercased."""
    return set(certificate_emails(cert))


def serial_numbers(cert: asn1_x509.Certificate) -> list[str]:
    """The subject's serialNumber attributes (where the CPS puts the idNat)."""
    value = cert.subject.native.get("serial_number")
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def validity(cert: asn1_x509.Certificate) -> tuple[datetime, datetime]:
    v = cert["tbs_certificate"]["validity"]
    return v["not_before"].native, v["not_after"].native


def signature_hash(cert: asn1_x509.Certificate) -> str:
    """The hash of the certificate's own signature (sha1, sha256, ...), or its OID."""
    algorithm = cert["signature_algorithm"]
    try:
        return str(algorithm.hash_algo)
    except _PARSE_ERRORS:
        return str(algorithm["algorithm"].dotted)


def is_ca(cert: asn1_x509.Certificate) -> bool:
    value = cert.basic_constraints_value
    return bool(value is not None and value["ca"].native)
