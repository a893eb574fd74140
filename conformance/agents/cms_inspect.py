"""What a CMS object declares: its algorithms and its signer's certificate.

The real tools say whether a message verified or decrypted, but not in one
common form which algorithms it used; reading them from the CMS parts (the
project's one reader, `core.cms`, which also reads the BER that NSS writes)
gives the same `Algorithms` for every engine, named as the strict receiver
names them (conformance.smime.options; an algorithm without a name is shown
as its OID). The signer shown in the status follows the receiver's one rule
(`core.certificates.signer_view`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from asn1crypto import algos
from cryptography import x509

from conformance.core import certificates, oids
from conformance.core.cms import PARSE_ERRORS, EnvelopedParts, SignedParts, parse
from conformance.smime import algorithms as alg
from conformance.smime import cms_read
from conformance.status import Algorithms, Signer

# asn1crypto's names of the content types, as the facts have always given them.
_TYPE_NAMES = {
    oids.SIGNED_DATA: "signed_data",
    oids.ENVELOPED_DATA: "enveloped_data",
    oids.AUTH_ENVELOPED_DATA: "authenticated_enveloped_data",
}


@dataclass
class CmsFacts:
    content_type: str
    algorithms: Algorithms = field(default_factory=Algorithms)
    signer_certificate: x509.Certificate | None = None


def _add(values: list[str], value: str) -> None:
    if value not in values:
        values.append(value)


def _cipher_name(algorithm_der: bytes, oid: str) -> str:
    try:
        return alg.content_cipher_from_algorithm(algos.EncryptionAlgorithm.load(algorithm_der))
    except alg.UnsupportedAlgorithm as exc:
        return exc.oid
    except PARSE_ERRORS:
        return oid


def _key_transport_name(algorithm_der: bytes) -> str:
    try:
        return cms_read.key_transport_of(algorithm_der)
    except alg.UnsupportedAlgorithm as exc:
        return exc.oid


def _signature_name(algorithm_der: bytes, oid: str) -> str:
    if oid == oids.RSASSA_PSS:
        return "rsa-pss"  # named even when its parameters are not ones the engine takes
    try:
        return cms_read.signature_info(algorithm_der).algorithm
    except alg.UnsupportedAlgorithm as exc:
        return exc.oid
    except PARSE_ERRORS:
        return oid


def _signer_certificate(parts: SignedParts) -> x509.Certificate | None:
    for der in parts.certificates:
        try:
            cert = certificates.load_certificate(der)
            for signer in parts.signers:
                if certificates.matches(signer.sid, cert):
                    return certificates.crypto_certificate(der)
        except PARSE_ERRORS:
            continue
    return None


# The parts of the last few structures: an agent asks of the same CMS its algorithms, its
# signer, the certificates it carries (a BER one from NSS takes asn1crypto's slower path).
# The parts are immutable; the facts built from them are each caller's own.
parsed = functools.lru_cache(maxsize=8)(parse)


def inspect(data: bytes) -> CmsFacts:
    """Facts about a CMS ContentInfo; raises ValueError when it is not one.

    Each call returns its own facts (callers may change them).
    """
    info = parsed(data)
    name = _TYPE_NAMES.get(info.content_type)
    content = info.content
    facts = CmsFacts(name or info.content_type)
    algs = facts.algorithms
    if isinstance(content, EnvelopedParts):
        for recipient in content.recipients:
            if recipient.rid is not None:
                _add(algs.key_transport, _key_transport_name(recipient.key_algorithm))
            else:
                _add(algs.key_transport, recipient.name)
        _add(algs.content_encryption, _cipher_name(content.cipher_algorithm, content.cipher_oid))
    elif isinstance(content, SignedParts):
        for signer in content.signers:
            _add(algs.digest, alg.digest_name_from_oid(signer.digest_oid) or signer.digest_oid)
            _add(algs.signature, _signature_name(signer.signature_algorithm, signer.signature_oid))
        facts.signer_certificate = _signer_certificate(content)
    else:
        raise ValueError(f"CMS content type {info.content_type} is not signed or enveloped data")
    return facts


def signer_of(cert: x509.Certificate) -> Signer:
    """The status's view of a signer certificate: the receiver's rule, one for all agents."""
    view = certificates.signer_view(certificates.asn1_certificate(cert))
    return Signer(view.subject, view.email, view.idnat, view.non_repudiation)
