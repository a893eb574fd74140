"""CMS structures the send side writes (RFC 5652, 5083/5084), as DER.

asn1crypto builds the structures; the private-key operations go through a
`PrivateKeyHandle` (the key never leaves its token); the content-key
wrapping uses `rsa_padding` so that an injected generator gives
byte-identical output. Every choice comes from the options: nothing here
knows which product it plays.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from datetime import datetime

from asn1crypto import cms, core, keys, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey, RSAPublicNumbers
from cryptography.hazmat.primitives.serialization import Encoding

from conformance.smime.algorithms import (
    capability_identifier,
    digest_algorithm,
    is_aead,
    key_transport_algorithm,
    signature_algorithm,
)
from conformance.smime.ciphers import Rng, encrypt_content, generate_key
from conformance.smime.options import (
    ContentCipher,
    Digest,
    EncryptOptions,
    KeyTransport,
    RecipientIdentifier,
    SignOptions,
)
from conformance.smime.rsa_padding import encrypt_key
from conformance.token.base import PrivateKeyHandle, subject_key_identifier

__all__ = [
    "RecipientError",
    "build_auth_enveloped_data",
    "build_enveloped_data",
    "build_signed_data",
    "signed_attributes",
    "to_asn1_certificate",
]

ID_DATA = "1.2.840.113549.1.7.1"


class RecipientError(ValueError):
    """A recipient certificate cannot be encrypted to (not RSA, unreadable key)."""


def to_asn1_certificate(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(Encoding.DER))


def _hash(data: bytes, digest: Digest) -> bytes:
    return hashlib.new(digest, data).digest()


def _signer_identifier(
    certificate: x509.Certificate, kind: RecipientIdentifier
) -> tuple[int, dict[str, object]]:
    """(SignerInfo/KTRI version offset, identifier choice): issuer-serial or SKI."""
    if kind == "ski":
        return 2, {"subject_key_identifier": subject_key_identifier(certificate)}
    cert = to_asn1_certificate(certificate)
    return 0, {
        "issuer_and_serial_number": cms.IssuerAndSerialNumber(
            {"issuer": cert.issuer, "serial_number": cert.serial_number}
        )
    }


def _signing_certificate_v2(
    certificate: x509.Certificate, digest: Digest
) -> tsp.SigningCertificateV2:
    """ESS signing-certificate-v2 (RFC 5035): the signer certificate hash and issuer-serial.

    The hash is the signature's digest; SHA-256 is the DEFAULT and so is omitted in DER.
    """
    der = certificate.public_bytes(Encoding.DER)
    cert = asn1_x509.Certificate.load(der)
    return tsp.SigningCertificateV2(
        {
            "certs": [
                {
                    "hash_algorithm": digest_algorithm(digest),
                    "cert_hash": _hash(der, digest),
                    "issuer_serial": {
                        "issuer": [asn1_x509.GeneralName({"directory_name": cert.issuer})],
                        "serial_number": cert.serial_number,
                    },
                }
            ]
        }
    )


def signed_attributes(
    content: bytes,
    options: SignOptions,
    certificate: x509.Certificate,
    signing_time: datetime,
    capabilities: Sequence[ContentCipher],
    content_type: str = ID_DATA,
) -> cms.CMSAttributes | None:
    """The signed attributes the options ask for, or None when the set is empty."""
    wanted = options.signed_attributes
    attributes: list[cms.CMSAttribute] = []
    if "content-type" in wanted:
        attributes.append(cms.CMSAttribute({"type": "content_type", "values": [content_type]}))
    if "signing-time" in wanted:
        time = cms.Time({"utc_time": signing_time})
        if not 1950 <= signing_time.year < 2050:
            time = cms.Time({"generalized_time": signing_time})
        attributes.append(cms.CMSAttribute({"type": "signing_time", "values": [time]}))
    if "message-digest" in wanted:
        value = _hash(content, options.digest)
        attributes.append(cms.CMSAttribute({"type": "message_digest", "values": [value]}))
    if "smime-capabilities" in wanted:
        caps = cms.SMIMECapabilites([capability_identifier(c) for c in capabilities])
        attributes.append(cms.CMSAttribute({"type": "smime_capabilities", "values": [caps]}))
    if "signing-certificate-v2" in wanted:
        ess = _signing_certificate_v2(certificate, options.digest)
        attributes.append(cms.CMSAttribute({"type": "signing_certificate_v2", "values": [ess]}))
    return cms.CMSAttributes(attributes) if attributes else None


def _content_info(content_type: str, content: core.Asn1Value) -> bytes:
    return bytes(cms.ContentInfo({"content_type": content_type, "content": content}).dump())


def build_signed_data(
    content: bytes,
    signer: PrivateKeyHandle,
    options: SignOptions,
    *,
    detached: bool,
    chain: Sequence[x509.Certificate] = (),
    signing_time: datetime,
    capabilities: Sequence[ContentCipher] = (),
    content_type: str = ID_DATA,
) -> bytes:
    """ContentInfo(SignedData) with one signer, as DER.

    `content` is signed exactly as given (the caller canonicalises). Without
    signed attributes the signature is over the content itself (RFC 5652 5.4).
    """
    certificate = signer.certificate
    attrs = signed_attributes(
        content, options, certificate, signing_time, capabilities, content_type
    )
    to_sign = content if attrs is None else bytes(attrs.dump())
    signature = signer.sign(to_sign, options.digest, options.algorithm)
    offset, sid = _signer_identifier(certificate, options.signer_identifier)
    signer_info: dict[str, object] = {
        "version": 1 + offset,
        "sid": cms.SignerIdentifier(sid),
        "digest_algorithm": digest_algorithm(options.digest),
        "signature_algorithm": signature_algorithm(options.algorithm, options.digest),
        "signature": signature,
    }
    if attrs is not None:
        signer_info["signed_attrs"] = attrs
    certificates: list[x509.Certificate] = []
    if options.certificates in ("signer", "chain"):
        certificates.append(certificate)
    if options.certificates == "chain":
        certificates.extend(c for c in chain if c != certificate)
    encap: dict[str, object] = {"content_type": content_type}
    if not detached:
        encap["content"] = content  # asn1crypto wraps it in the spec'd OCTET STRING type
    signed: dict[str, object] = {
        # RFC 5652 5.1: version 3 with an SKI signer or non-data content, else 1.
        "version": 3 if offset or content_type != ID_DATA else 1,
        "digest_algorithms": [digest_algorithm(options.digest)],
        "encap_content_info": encap,
        "signer_infos": [signer_info],
    }
    if certificates:
        signed["certificates"] = [to_asn1_certificate(c) for c in certificates]
    return _content_info("signed_data", cms.SignedData(signed))


def _rsa_public_key(certificate: x509.Certificate) -> RSAPublicKey:
    """The recipient's RSA key; also read by hand when cryptography refuses the SPKI
    (old CPS certificates name RSA with the private OID 1.2.250.1.71.2.6.1)."""
    try:
        key = certificate.public_key()
    except (ValueError, TypeError):
        key = None
    if isinstance(key, RSAPublicKey):
        return key
    subject = certificate.subject.rfc4514_string()
    try:
        spki = asn1_x509.Certificate.load(certificate.public_bytes(Encoding.DER))[
            "tbs_certificate"
        ]["subject_public_key_info"]
        rsa = keys.RSAPublicKey.load(spki["public_key"].contents[1:])
        numbers = RSAPublicNumbers(int(rsa["public_exponent"].native), int(rsa["modulus"].native))
        return numbers.public_key()
    except (ValueError, TypeError, KeyError) as exc:
        raise RecipientError(f"recipient {subject}: not an RSA public key ({exc})") from None


def _recipient_infos(
    key: bytes,
    recipients: Sequence[x509.Certificate],
    key_transport: KeyTransport,
    identifier: RecipientIdentifier,
    rng: Rng,
) -> tuple[list[cms.RecipientInfo], bool]:
    """KeyTransRecipientInfo for each recipient; also whether any has version 2 (SKI)."""
    if not recipients:
        raise RecipientError("no recipient to encrypt to")
    infos = []
    any_ski = False
    for certificate in recipients:
        offset, rid = _signer_identifier(certificate, identifier)
        any_ski = any_ski or bool(offset)
        wrapped = encrypt_key(_rsa_public_key(certificate), key, key_transport, rng)
        ktri = cms.KeyTransRecipientInfo(
            {
                "version": offset,
                "rid": cms.RecipientIdentifier(rid),
                "key_encryption_algorithm": key_transport_algorithm(key_transport),
                "encrypted_key": wrapped,
            }
        )
        infos.append(cms.RecipientInfo({"ktri": ktri}))
    return infos, any_ski


def _unique(recipients: Sequence[x509.Certificate]) -> list[x509.Certificate]:
    seen: list[x509.Certificate] = []
    for cert in recipients:
        if cert not in seen:
            seen.append(cert)
    return seen


def build_enveloped_data(
    content: bytes,
    recipients: Sequence[x509.Certificate],
    options: EncryptOptions,
    rng: Rng = os.urandom,
    *,
    content_type: str = ID_DATA,
) -> bytes:
    """ContentInfo(EnvelopedData), or AuthEnvelopedData for an AEAD cipher, as DER.

    A certificate listed twice (encrypt to self when writing to oneself) gets one
    RecipientInfo.
    """
    if is_aead(options.content):
        return build_auth_enveloped_data(
            content, recipients, options, rng, content_type=content_type
        )
    cek = generate_key(options.content, rng)
    infos, any_ski = _recipient_infos(
        cek, _unique(recipients), options.key_transport, options.recipient_identifier, rng
    )
    encrypted = encrypt_content(options.content, cek, content, rng)
    enveloped = cms.EnvelopedData(
        {
            # RFC 5652 6.1: version 2 when a RecipientInfo has version 2, else 0.
            "version": 2 if any_ski else 0,
            "recipient_infos": infos,
            "encrypted_content_info": {
                "content_type": content_type,
                "content_encryption_algorithm": encrypted.algorithm,
                "encrypted_content": encrypted.ciphertext,
            },
        }
    )
    return _content_info("enveloped_data", enveloped)


def build_auth_enveloped_data(
    content: bytes,
    recipients: Sequence[x509.Certificate],
    options: EncryptOptions,
    rng: Rng = os.urandom,
    *,
    content_type: str = ID_DATA,
    auth_attributes: cms.CMSAttributes | None = None,
    tag_length: int = 16,
) -> bytes:
    """ContentInfo(AuthEnvelopedData) with AES-GCM (RFC 5083/5084), as DER.

    The GCM tag goes in `mac`; authAttrs, when given, are authenticated as
    their DER SET OF encoding (RFC 5083 2.2).
    """
    if not is_aead(options.content):
        raise ValueError(f"{options.content} is not an AEAD cipher for AuthEnvelopedData")
    cek = generate_key(options.content, rng)
    infos, _ = _recipient_infos(
        cek, _unique(recipients), options.key_transport, options.recipient_identifier, rng
    )
    aad = bytes(auth_attributes.dump()) if auth_attributes is not None else b""
    encrypted = encrypt_content(options.content, cek, content, rng, tag_length=tag_length, aad=aad)
    value: dict[str, object] = {
        "version": 0,
        "recipient_infos": infos,
        "auth_encrypted_content_info": {
            "content_type": content_type,
            "content_encryption_algorithm": encrypted.algorithm,
            "encrypted_content": encrypted.ciphertext,
        },
        "mac": encrypted.tag,
    }
    if auth_attributes is not None:
        value["auth_attrs"] = auth_attributes
    return _content_info("authenticated_enveloped_data", cms.AuthEnvelopedData(value))
