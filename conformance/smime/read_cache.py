"""Per-process caches for the read side: pure functions of DER bytes, looked up cheaply.

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
import threading
from collections import OrderedDict

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

__all__ = [
    "asn1_certificate",
    "certificate_der",
    "crl_der",
    "fingerprint",
    "load_certificate",
    "loaded_der",
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


def asn1_certificate(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return load_certificate(certificate_der(certificate))


@functools.lru_cache(maxsize=4096)
def fingerprint(der: bytes) -> bytes:
    """SHA-256 of an encoding (the chain cache's key material)."""
    return hashlib.sha256(der).digest()


def certificate_emails(certificate: asn1_x509.Certificate) -> frozenset[str]:
    """rfc822Name entries of the SAN, else the subject's emailAddress (RFC 8550 3), lowercased."""
    return _certificate_emails(loaded_der(certificate))


@functools.lru_cache(maxsize=512)
def _certificate_emails(der: bytes) -> frozenset[str]:
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
