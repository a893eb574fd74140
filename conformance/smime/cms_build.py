"""CMS structures the send side writes (RFC 5652, 5083/5084), as DER.

The private-key operations go through a `PrivateKeyHandle` (the key never
leaves its token); the content-key wrapping uses `rsa_padding` so that an
injected generator gives byte-identical output. Every choice comes from the
options: nothing here knows which product it plays.

Speed: asn1crypto encodes the parts that never change per certificate or per
option (issuer-and-serial, ESS signing-certificate-v2, algorithm identifiers,
SMIMECapabilities), once, cached; the per-message structures around them are
concatenated DER (`der`), because building them as asn1crypto trees cost
more than the RSA work of a whole exchange.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache

from asn1crypto import cms, core, keys, parser, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm as CryptographyUnsupported
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey, RSAPublicNumbers
from cryptography.hazmat.primitives.serialization import Encoding

from conformance.core import oids
from conformance.core.certificates import certificate_der
from conformance.core.vocabulary import ContentCipher, Digest, KeyTransport
from conformance.smime import der
from conformance.smime.algorithms import (
    digest_algorithm,
    digest_algorithm_der,
    is_aead,
    key_transport_algorithm_der,
    signature_algorithm_der,
    smime_capabilities_der,
)
from conformance.smime.ciphers import Rng, encrypt_content, generate_key
from conformance.smime.options import EncryptOptions, RecipientIdentifier, SignOptions
from conformance.smime.rsa_padding import RecipientKey, encrypt_key
from conformance.token.base import PrivateKeyHandle, subject_key_identifier

__all__ = [
    "RecipientError",
    "build_auth_enveloped_data",
    "build_enveloped_data",
    "build_signed_data",
    "content_key",
    "encrypted_content_info",
    "signed_attributes",
    "to_asn1_certificate",
]


class RecipientError(ValueError):
    """A recipient certificate cannot be encrypted to (not RSA, unreadable key)."""


def to_asn1_certificate(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(Encoding.DER))


def _hash(data: bytes, digest: Digest) -> bytes:
    return hashlib.new(digest, data).digest()


# --- parts cached per certificate ------------------------------------------------------
# Keyed on the DER, remembered per object by `core.certificates`: hashing or comparing a
# cryptography Certificate serialises it again (several microseconds a time).


def _certificate_der(certificate: x509.Certificate) -> bytes:
    return certificate_der(certificate)


def _issuer_and_serial(certificate: x509.Certificate) -> bytes:
    """IssuerAndSerialNumber DER, the issuer Name exactly as encoded in the certificate."""
    return _issuer_and_serial_of(_certificate_der(certificate))


@lru_cache(maxsize=512)
def _issuer_and_serial_of(certificate_der: bytes) -> bytes:
    cert = asn1_x509.Certificate.load(certificate_der)
    value = cms.IssuerAndSerialNumber({"issuer": cert.issuer, "serial_number": cert.serial_number})
    return bytes(value.dump())


@lru_cache(maxsize=512)
def _ski(certificate: x509.Certificate) -> bytes:
    return subject_key_identifier(certificate)


def _identifier(certificate: x509.Certificate, kind: RecipientIdentifier) -> tuple[int, bytes]:
    """(SignerInfo/KTRI version offset, SignerIdentifier/RecipientIdentifier DER).

    issuerAndSerialNumber, or subjectKeyIdentifier as [0] IMPLICIT OCTET STRING.
    """
    if kind == "ski":
        return 2, der.tlv(0x80, _ski(certificate))
    return 0, _issuer_and_serial(certificate)


def _signing_certificate_v2(certificate: x509.Certificate, digest: Digest) -> bytes:
    """ESS signing-certificate-v2 (RFC 5035): the signer certificate hash and issuer-serial.

    The hash is the signature's digest; SHA-256 is the DEFAULT and so is omitted in DER.
    """
    return _signing_certificate_v2_of(_certificate_der(certificate), digest)


@lru_cache(maxsize=512)
def _signing_certificate_v2_of(certificate_der: bytes, digest: Digest) -> bytes:
    cert = asn1_x509.Certificate.load(certificate_der)
    value = tsp.SigningCertificateV2(
        {
            "certs": [
                {
                    "hash_algorithm": digest_algorithm(digest),
                    "cert_hash": _hash(certificate_der, digest),
                    "issuer_serial": {
                        "issuer": [asn1_x509.GeneralName({"directory_name": cert.issuer})],
                        "serial_number": cert.serial_number,
                    },
                }
            ]
        }
    )
    return bytes(value.dump())


@lru_cache(maxsize=64)
def _content_type(value: str) -> bytes:
    """ContentType OID DER; `value` is a dotted OID or an asn1crypto name ("data")."""
    return bytes(cms.ContentType(value).dump())


def _attribute(oid: str, value: bytes) -> bytes:
    """Attribute ::= SEQUENCE { attrType, attrValues SET OF } with one value."""
    return der.sequence(der.oid(oid), der.set_of(value))


# The attributes whose value repeats from message to message (content type, capabilities,
# the signer's ESS certificate hash), written once.
_repeated_attribute = lru_cache(maxsize=512)(_attribute)


def _time(moment: datetime) -> bytes:
    """RFC 5652 11.3: UTCTime for 1950-2049, GeneralizedTime otherwise."""
    if moment.tzinfo is not None and 1950 <= moment.year < 2050:
        # asn1crypto's UTCTime, written directly (it costs more than the rest of
        # the attributes): the instant in UTC as YYMMDDHHMMSSZ, fractions dropped.
        t = moment.astimezone(UTC)  # (strftime costs more than the rest of this function)
        text = b"%02d%02d%02d%02d%02d%02dZ" % (
            t.year % 100,
            t.month,
            t.day,
            t.hour,
            t.minute,
            t.second,
        )
        return der.tlv(0x17, text)
    kind = "utc_time" if 1950 <= moment.year < 2050 else "generalized_time"
    return bytes(cms.Time({kind: moment}).dump())


def signed_attributes(
    content: bytes,
    options: SignOptions,
    certificate: x509.Certificate,
    signing_time: datetime,
    capabilities: Sequence[ContentCipher],
    content_type: str = oids.DATA,
    content_digest: bytes | None = None,
) -> bytes | None:
    """DER of the SET OF signed attributes the options ask for, or None when it is empty.

    This is what the signature covers (RFC 5652 5.4: the SET OF tag, not [0]).
    `content_digest`: the content's digest when it was streamed (a large content).
    """
    wanted = options.signed_attributes
    attributes: list[bytes] = []
    if "content-type" in wanted:
        attributes.append(_repeated_attribute(oids.CONTENT_TYPE, _content_type(content_type)))
    if "signing-time" in wanted:
        attributes.append(_attribute(oids.SIGNING_TIME, _time(signing_time)))
    if "message-digest" in wanted:
        digest = content_digest if content_digest is not None else _hash(content, options.digest)
        value = der.octet_string(digest)
        attributes.append(_attribute(oids.MESSAGE_DIGEST, value))
    if "smime-capabilities" in wanted:
        caps = smime_capabilities_der(tuple(capabilities))
        attributes.append(_repeated_attribute(oids.SMIME_CAPABILITIES, caps))
    if "signing-certificate-v2" in wanted:
        ess = _signing_certificate_v2(certificate, options.digest)
        attributes.append(_repeated_attribute(oids.SIGNING_CERTIFICATE_V2, ess))
    return der.set_of(*attributes) if attributes else None


def _content_info(content_type: str, content: bytes) -> bytes:
    """ContentInfo ::= SEQUENCE { contentType, [0] EXPLICIT content }."""
    return der.sequence(der.oid(content_type), der.context_explicit(0, content))


def build_signed_data(
    content: bytes,
    signer: PrivateKeyHandle,
    options: SignOptions,
    *,
    detached: bool,
    chain: Sequence[x509.Certificate] = (),
    signing_time: datetime,
    capabilities: Sequence[ContentCipher] = (),
    content_type: str = oids.DATA,
    content_digest: bytes | None = None,
) -> bytes:
    """ContentInfo(SignedData) with one signer, as DER.

    `content` is signed exactly as given (the caller canonicalises). Without
    signed attributes the signature is over the content itself (RFC 5652 5.4).
    `content_digest`: the digest of a large content streamed apart (`content` is then
    empty, spliced in as the eContent by `compose_spooled`; signed attributes needed).
    """
    certificate = signer.certificate
    attrs = signed_attributes(
        content, options, certificate, signing_time, capabilities, content_type, content_digest
    )
    if content_digest is not None and attrs is None:
        raise ValueError("a content signed by its digest needs signed attributes")
    to_sign = content if attrs is None else attrs
    signature = signer.sign(to_sign, options.digest, options.algorithm)
    offset, sid = _identifier(certificate, options.signer_identifier)
    digest_algorithm_id = digest_algorithm_der(options.digest)
    signer_info = der.sequence(
        der.integer(1 + offset),
        sid,
        digest_algorithm_id,
        der.context_implicit(0, attrs) if attrs is not None else b"",
        signature_algorithm_der(options.algorithm, options.digest),
        der.octet_string(signature),
    )
    certificates: list[x509.Certificate] = []
    if options.certificates in ("signer", "chain"):
        certificates.append(certificate)
    if options.certificates == "chain":
        own = _certificate_der(certificate)
        certificates.extend(c for c in chain if _certificate_der(c) != own)
    content_type_id = _content_type(content_type)
    encap = der.sequence(
        content_type_id,
        b"" if detached else der.context_explicit(0, der.octet_string(content)),
    )
    # RFC 5652 5.1: version 3 with an SKI signer or non-data content, else 1.
    version = 3 if offset or content_type_id != _content_type(oids.DATA) else 1
    certificate_set = (
        der.context_implicit(0, der.set_of(*(_certificate_der(c) for c in certificates)))
        if certificates
        else b""
    )
    signed = der.sequence(
        der.integer(version),
        der.set_of(digest_algorithm_id),
        encap,
        certificate_set,
        der.set_of(signer_info),
    )
    return _content_info(oids.SIGNED_DATA, signed)


def _spki_rsa_key(certificate: x509.Certificate) -> RSAPublicKey:
    """The RSA key read from the SubjectPublicKeyInfo bit string, whatever its algorithm OID."""
    tbs = to_asn1_certificate(certificate)["tbs_certificate"]
    spki = parser.parse(tbs["subject_public_key_info"].dump())[4]
    algorithm_length = parser.peek(spki)
    bit_string = parser.parse(spki[algorithm_length:])
    if bit_string[2] != 3 or not bit_string[4] or bit_string[4][0] != 0:
        raise ValueError("subjectPublicKey is not a whole-octet BIT STRING")
    rsa = keys.RSAPublicKey.load(bit_string[4][1:])
    return RSAPublicNumbers(
        int(rsa["public_exponent"].native), int(rsa["modulus"].native)
    ).public_key()


def _rsa_public_key(certificate: x509.Certificate) -> RecipientKey:
    """The recipient's RSA key; also read by hand when cryptography refuses the SPKI
    (old CPS certificates name RSA with the private OID 1.2.250.1.71.2.6.1)."""
    encoded = _certificate_der(certificate)
    key = _rsa_keys.get(encoded)
    if key is None:
        key = RecipientKey(_read_rsa_public_key(certificate))
        if len(_rsa_keys) >= 512:
            _rsa_keys.clear()
        _rsa_keys[encoded] = key
    return key


# Certificate DER -> its RSA key (a dict, not lru_cache: that would hash the Certificate).
_rsa_keys: dict[bytes, RecipientKey] = {}


def _read_rsa_public_key(certificate: x509.Certificate) -> RSAPublicKey:
    try:
        key = certificate.public_key()
    except (ValueError, TypeError, CryptographyUnsupported):
        key = None
    if isinstance(key, RSAPublicKey):
        return key
    subject = certificate.subject.rfc4514_string()
    try:
        return _spki_rsa_key(certificate)
    except (ValueError, TypeError, KeyError) as exc:
        raise RecipientError(f"recipient {subject}: not an RSA public key ({exc})") from None


def _recipient_infos(
    key: bytes,
    recipients: Sequence[x509.Certificate],
    key_transport: KeyTransport,
    identifier: RecipientIdentifier,
    rng: Rng,
) -> tuple[bytes, bool]:
    """RecipientInfos (SET OF KeyTransRecipientInfo) DER; also whether any has version 2 (SKI)."""
    if not recipients:
        raise RecipientError("no recipient to encrypt to")
    infos = []
    any_ski = False
    algorithm = key_transport_algorithm_der(key_transport)
    for certificate in recipients:
        offset, rid = _identifier(certificate, identifier)
        any_ski = any_ski or bool(offset)
        wrapped = encrypt_key(_rsa_public_key(certificate), key, key_transport, rng)
        infos.append(der.sequence(der.integer(offset), rid, algorithm, der.octet_string(wrapped)))
    return der.set_of(*infos), any_ski


def _unique(recipients: Sequence[x509.Certificate]) -> list[x509.Certificate]:
    seen: dict[bytes, x509.Certificate] = {}
    for cert in recipients:
        seen.setdefault(_certificate_der(cert), cert)
    return list(seen.values())


def content_key(
    recipients: Sequence[x509.Certificate], options: EncryptOptions, rng: Rng
) -> tuple[bytes, bytes, bool]:
    """A fresh content-encryption key, its RecipientInfos (one per distinct
    certificate) and whether any has version 2."""
    cek = generate_key(options.content, rng)
    infos, any_ski = _recipient_infos(
        cek, _unique(recipients), options.key_transport, options.recipient_identifier, rng
    )
    return cek, infos, any_ski


def encrypted_content_info(content_type: str, algorithm: core.Asn1Value, data: bytes) -> bytes:
    """EncryptedContentInfo, the ciphertext as [0] IMPLICIT OCTET STRING."""
    return der.sequence(_content_type(content_type), bytes(algorithm.dump()), der.tlv(0x80, data))


def build_enveloped_data(
    content: bytes,
    recipients: Sequence[x509.Certificate],
    options: EncryptOptions,
    rng: Rng = os.urandom,
    *,
    content_type: str = oids.DATA,
) -> bytes:
    """ContentInfo(EnvelopedData), or AuthEnvelopedData for an AEAD cipher, as DER.

    A certificate listed twice (encrypt to self when writing to oneself) gets one
    RecipientInfo.
    """
    if is_aead(options.content):
        return build_auth_enveloped_data(
            content, recipients, options, rng, content_type=content_type
        )
    cek, infos, any_ski = content_key(recipients, options, rng)
    encrypted = encrypt_content(options.content, cek, content, rng)
    enveloped = der.sequence(
        # RFC 5652 6.1: version 2 when a RecipientInfo has version 2, else 0.
        der.integer(2 if any_ski else 0),
        infos,
        encrypted_content_info(content_type, encrypted.algorithm, encrypted.ciphertext),
    )
    return _content_info(oids.ENVELOPED_DATA, enveloped)


def build_auth_enveloped_data(
    content: bytes,
    recipients: Sequence[x509.Certificate],
    options: EncryptOptions,
    rng: Rng = os.urandom,
    *,
    content_type: str = oids.DATA,
    auth_attributes: cms.CMSAttributes | None = None,
    tag_length: int = 16,
) -> bytes:
    """ContentInfo(AuthEnvelopedData) with AES-GCM (RFC 5083/5084), as DER.

    The GCM tag goes in `mac`; authAttrs, when given, are authenticated as
    their DER SET OF encoding (RFC 5083 2.2).
    """
    if not is_aead(options.content):
        raise ValueError(f"{options.content} is not an AEAD cipher for AuthEnvelopedData")
    cek, infos, _ = content_key(recipients, options, rng)
    aad = bytes(auth_attributes.dump()) if auth_attributes is not None else b""
    encrypted = encrypt_content(options.content, cek, content, rng, tag_length=tag_length, aad=aad)
    assert encrypted.tag is not None  # AEAD ciphers always give a tag
    value = der.sequence(
        der.integer(0),
        infos,
        encrypted_content_info(content_type, encrypted.algorithm, encrypted.ciphertext),
        der.context_implicit(1, aad) if aad else b"",
        der.octet_string(encrypted.tag),
    )
    return _content_info(oids.AUTH_ENVELOPED_DATA, value)
