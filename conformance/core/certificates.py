"""Certificates as DER, with one cached parse: what every reader asks of a certificate.

A certificate travels as its DER; `load_certificate` gives the one shared
asn1crypto parse of an encoding (asn1crypto reads keys cryptography refuses,
such as DSA keys inheriting parameters), `crypto_certificate` cryptography's,
and the questions the readers ask (identifiers, signer matching, key, emails,
the signer shown in a status) are answered from it.

Answers are cached only where the benchmark's read or validator path shows
it pays (measured per call, December 2026): the identifiers used to match a
signer or recipient (5 us a read, 32 us a check), the key information
(4 us a read), the signer shown in a status (43 us a read), the readable
issuer names (0.3 ms a check). Loading a public key, the email addresses
and a cryptography certificate cost a microsecond or two on an already
parsed certificate, or are off those paths, and are not cached.

The same few certificates and CRLs (trust anchors, intermediates, the
receiver's own certificates) come with every message. Re-encoding a
`cryptography` object costs tens of microseconds (`public_bytes` serialises
again) and so does hashing it, so the DER is remembered per object identity:
the cache holds a strong reference to each object it has seen, so an id
cannot be reused for another object while its entry lives. Everything
derived from the DER (the parsed asn1crypto certificate, the SHA-256
fingerprint) is cached on the bytes themselves, so two equal objects share it.
Only parsing is cached, never a verdict: signatures and chains are checked
for every message (chain results have their own cache in `validate`).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import threading
from collections import OrderedDict
from typing import NamedTuple

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ObjectIdentifier

from conformance.core import oids
from conformance.core.cms import PARSE_ERRORS, Identifier, encoded_oid_problem, large_arc_text

__all__ = [
    "KeyInfo",
    "SignerView",
    "asn1_certificate",
    "certificate_der",
    "certificate_emails",
    "crl_der",
    "crypto_certificate",
    "crypto_name",
    "describe_identifier",
    "describe_name",
    "fingerprint",
    "identifiers",
    "key_info",
    "load_certificate",
    "loaded_der",
    "matches",
    "name_problem",
    "parse_problem",
    "public_key",
    "readable_name",
    "same_name",
    "signer_view",
]


_MAX_OBJECTS = 1024
_lock = threading.Lock()
# id(object) -> (object, DER); the object is kept so that its id stays its own.
_ders: OrderedDict[int, tuple[object, bytes]] = OrderedDict()


def _der(value: x509.Certificate | x509.CertificateRevocationList) -> bytes:
    # Looked up without the lock: one dict read is atomic, and an entry is
    # only trusted when it holds this very object.
    entry = _ders.get(id(value))
    if entry is not None and entry[0] is value:
        return entry[1]
    key = id(value)
    der = value.public_bytes(Encoding.DER)
    with _lock:
        _ders[key] = (value, der)
        while len(_ders) > _MAX_OBJECTS:
            _ders.popitem(last=False)
    return der


def certificate_der(certificate: x509.Certificate) -> bytes:
    """The certificate's DER, remembered per object."""
    return _der(certificate)


def crl_der(crl: x509.CertificateRevocationList) -> bytes:
    """The CRL's DER, remembered per object (cryptography's CRLs are not hashable)."""
    return _der(crl)


_certificates: OrderedDict[bytes, asn1_x509.Certificate] = OrderedDict()
# id(parsed certificate) -> (certificate, DER): the bytes it was loaded from.
_loaded: dict[int, tuple[asn1_x509.Certificate, bytes]] = {}


def load_certificate(der: bytes) -> asn1_x509.Certificate:
    """The asn1crypto certificate of these bytes, one shared object per encoding.

    Callers only read it; asn1crypto parses fields lazily and keeps them, so
    a shared object is parsed once for all the messages that carry it.
    """
    with _lock:
        cert = _certificates.get(der)
        if cert is not None:
            _certificates.move_to_end(der)
            return cert
    cert = asn1_x509.Certificate.load(der)
    with _lock:
        if der in _certificates:
            return _certificates[der]
        _certificates[der] = cert
        _loaded[id(cert)] = (cert, der)
        while len(_certificates) > _MAX_OBJECTS:
            _, old = _certificates.popitem(last=False)
            del _loaded[id(old)]
    return cert


def loaded_der(cert: asn1_x509.Certificate) -> bytes:
    """The bytes a certificate was parsed from.

    Known without work for those of `load_certificate`; otherwise `dump()`,
    which walks every parsed field to see whether it changed.
    """
    entry = _loaded.get(id(cert))
    if entry is not None and entry[0] is cert:
        return entry[1]
    return bytes(cert.dump())


@functools.lru_cache(maxsize=1024)
def parse_problem(der: bytes) -> str | None:
    """Why a certificate's encoding does not parse in full; None when every field does.

    asn1crypto parses lazily and keeps what it parsed, even half: a field whose
    parse failed once on the shared object of `load_certificate` can read as
    empty (or fail elsewhere) the next time. So the whole certificate is parsed
    here on an object of its own, and the answer, cached on the bytes, is the
    same for every message that carries them.
    """
    shown = encoded_oid_problem(der)
    if shown is not None:  # before asn1crypto, which would write it out (quadratic time)
        return large_arc_text(shown)
    try:
        cert = asn1_x509.Certificate.load(der, strict=True)
        for field in ("issuer", "subject"):
            size = len(cert["tbs_certificate"][field].dump())
            if size > NAME_OCTETS:  # compared later, in the chain: bounded as `same_name`
                return f"{field} {_large_name(size)}"
        # dump(): a BER (indefinite-length) certificate is re-encoded as DER when its
        # bytes are asked for, and that can fail on a field that parsed.
        _ = (cert.native, cert.subject.human_friendly, cert.issuer.human_friendly, cert.dump())
    except PARSE_ERRORS as exc:  # AttributeError: asn1crypto on some damaged extensions
        if isinstance(exc, AttributeError) and "asn1crypto" not in _origin(exc):
            raise
        text = str(exc).strip()
        return text.splitlines()[0] if text else type(exc).__name__
    return None


def _origin(exc: BaseException) -> str:
    """The file the exception was raised in (a bug of ours is not a damaged input)."""
    frame = exc.__traceback__
    while frame is not None and frame.tb_next is not None:
        frame = frame.tb_next
    return frame.tb_frame.f_code.co_filename if frame is not None else ""


def asn1_certificate(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return load_certificate(certificate_der(certificate))


@functools.lru_cache(maxsize=4096)
def fingerprint(der: bytes) -> bytes:
    """SHA-256 of an encoding (the chain cache's key material)."""
    return hashlib.sha256(der).digest()


def certificate_emails(certificate: asn1_x509.Certificate) -> frozenset[str]:
    """rfc822Name entries of the SAN, else the subject's emailAddress (RFC 8550 3), lowercased."""
    return _emails(loaded_der(certificate))


@functools.lru_cache(maxsize=_MAX_OBJECTS)
def _emails(der: bytes) -> frozenset[str]:
    # Cached on the DER: every message from a signer asks it again (about 10 µs a call).
    certificate = load_certificate(der)
    found: set[str] = set()
    san = certificate.subject_alt_name_value
    if san is not None:
        found = {str(g.native).lower() for g in san if g.name == "rfc822_name"}
    if not found:
        value = certificate.subject.native.get("email_address")
        values = value if isinstance(value, list) else [value] if value else []
        found = {str(v).lower() for v in values}
    return frozenset(found)


# --- what the readers ask of a certificate, each answer cached on its DER ----------------


def identifiers(der: bytes) -> tuple[bytes, int, bytes | None]:
    """(issuer Name DER, serial number, subject key identifier) of a certificate's encoding."""
    return _identifiers(der)


@functools.lru_cache(maxsize=1024)
def _identifiers(der: bytes) -> tuple[bytes, int, bytes | None]:
    cert = load_certificate(der)
    ski = cert.key_identifier_value
    return (
        bytes(cert.issuer.dump()),
        int(cert.serial_number),
        bytes(ski.native) if ski is not None else None,
    )


def matches(sid: Identifier, cert: asn1_x509.Certificate) -> bool:
    """Does `cert` answer a SignerIdentifier / RecipientIdentifier (RFC 5652 5.3, 6.2.1)?

    The one matching rule of the project: the subject key identifier compared
    in constant time, or the serial number and the issuer, same bytes first
    (asn1crypto's RFC 5280 7.1 name comparison is right but slow).
    """
    issuer_der, serial, ski = identifiers(loaded_der(cert))
    if sid.ski is not None:
        return ski is not None and hmac.compare_digest(ski, sid.ski)
    if serial != sid.serial:
        return False
    return issuer_der == sid.issuer or same_name(issuer_der, sid.issuer)


# The largest Name read. RFC 5280 Appendix A bounds each attribute of a certificate's name
# at 2 to 255 characters (ub-name's 32768, for the X.520 name attributes, is never met in a
# certificate): one with every attribute at its bound is under 2 KiB. A larger one is
# malformed for any PKI, and comparing it costs RFC 4518 string preparation, ~4 us a
# character in asn1crypto (a 1 MB value took 4 s a comparison): 16 KiB costs 65 ms.
NAME_OCTETS = 16 * 1024


def _large_name(size: int) -> str:
    return f"Name of {size} octets: over {NAME_OCTETS}, larger than any directory name"


@functools.lru_cache(maxsize=512)
def name_problem(der: bytes) -> str | None:
    """Why a Name's DER is not read (over `NAME_OCTETS`, an OID arc over 128 bits); None
    when it may be: asked before asn1crypto reads it."""
    if len(der) > NAME_OCTETS:
        return _large_name(len(der))
    shown = encoded_oid_problem(der)
    return None if shown is None else large_arc_text(shown)


def same_name(a: bytes, b: bytes) -> bool:
    """Two Names' DER equal under RFC 5280 7.1 (asn1crypto's comparison); False if
    unreadable or not read (`name_problem`)."""
    if a == b:
        return True
    if name_problem(a) is not None or name_problem(b) is not None:
        return False
    try:
        return bool(asn1_x509.Name.load(a) == asn1_x509.Name.load(b))
    except PARSE_ERRORS:
        return False


@functools.lru_cache(maxsize=512)
def readable_name(der: bytes) -> str | None:
    """A Name as people read it, None when it does not parse or is not read
    (`name_problem`) (slow in asn1crypto, and the same issuers recur)."""
    if name_problem(der) is not None:
        return None
    try:
        return str(asn1_x509.Name.load(der).human_friendly)
    except PARSE_ERRORS:
        return None


def describe_name(der: bytes) -> str:
    """A Name as people read it, in English when it does not parse."""
    name = readable_name(der)
    return f"an unreadable name ({len(der)} bytes)" if name is None else name


def describe_identifier(sid: Identifier) -> str:
    if sid.ski is not None:
        return f"subject key identifier {sid.ski.hex()}"
    return f"issuer {describe_name(sid.issuer)}, serial {sid.serial:#x}"


def crypto_certificate(der: bytes) -> x509.Certificate:
    """cryptography's view of a certificate; ValueError for what it cannot load."""
    return x509.load_der_x509_certificate(der)


def crypto_name(name: asn1_x509.Name) -> x509.Name | None:
    """A Name as cryptography's Name (for directory look-ups, RFC 4514 text); None if not."""
    try:
        rdns = []
        for rdn in name.chosen:
            attributes = []
            for atv in rdn:
                value = atv["value"].native
                if not isinstance(value, str):
                    return None
                attributes.append(x509.NameAttribute(ObjectIdentifier(atv["type"].dotted), value))
            rdns.append(x509.RelativeDistinguishedName(attributes))
        return x509.Name(rdns)
    except (ValueError, TypeError):
        return None


class KeyInfo(NamedTuple):
    oid: str  # the SubjectPublicKeyInfo's algorithm
    inherits_parameters: bool  # a DSA key without parameters (RFC 3279 2.3.2)
    spki: bytes  # SubjectPublicKeyInfo DER


@functools.lru_cache(maxsize=512)
def key_info(der: bytes) -> KeyInfo:
    spki = load_certificate(der)["tbs_certificate"]["subject_public_key_info"]
    key_oid = spki["algorithm"]["algorithm"].dotted
    params = spki["algorithm"]["parameters"]
    inherits = key_oid == oids.DSA and (params is None or params.native is None)
    return KeyInfo(key_oid, inherits, bytes(spki.dump()))


@functools.lru_cache(maxsize=512)
def public_key(spki: bytes) -> PublicKeyTypes:
    """cryptography's key of a SubjectPublicKeyInfo, cached: the same signers recur, and a
    key object loaded afresh costs ~10 µs plus a slower first verification (measured)."""
    return serialization.load_der_public_key(spki)


class SignerView(NamedTuple):
    """What a status says of a signer certificate."""

    subject: str  # RFC 4514 text (asn1crypto's reading when cryptography cannot write it)
    email: str | None
    idnat: str | None  # the national health identifier
    non_repudiation: bool


def signer_view(cert: asn1_x509.Certificate) -> SignerView:
    """The one rule for the signer shown in every status (engine and tool agents).

    Email: the first of the certificate's addresses (`certificate_emails`,
    sorted). idNat: the subject's serialNumber, else its UID (profiles put
    it in either). Non-repudiation: keyUsage has contentCommitment.
    """
    return _signer_view(loaded_der(cert))


@functools.lru_cache(maxsize=512)
def _signer_view(der: bytes) -> SignerView:
    cert = load_certificate(der)
    emails = sorted(certificate_emails(cert))
    idnat: str | None = None
    for oid in (oids.SERIAL_NUMBER, oids.USER_ID):
        idnat = _first_attribute(cert.subject, oid)
        if idnat is not None:
            break
    name = crypto_name(cert.subject)
    usage = cert.key_usage_value
    return SignerView(
        name.rfc4514_string() if name is not None else str(cert.subject.human_friendly),
        emails[0] if emails else None,
        idnat,
        usage is not None and "non_repudiation" in usage.native,
    )


def _first_attribute(name: asn1_x509.Name, oid: str) -> str | None:
    for rdn in name.chosen:
        for atv in rdn:
            if atv["type"].dotted == oid:
                value = atv["value"].native
                return str(value) if value else None
    return None
