"""CMS judging: SignedData verification and (Auth)EnvelopedData decryption, over parts.

`read_content_info` reads a CMS object once through the project's one
reader (`core.cms`: the fast DER walk, asn1crypto for the BER it leaves);
the functions here judge the immutable parts it returns, whichever reading
made them. cryptography does the primitives. Everything that can go wrong is
raised as a `ReadError` with its status code: MALFORMED for what does not
parse, UNSUPPORTED_ALGORITHM for what the engine or the receiver's options
do not take, BAD_SIGNATURE and CANNOT_DECRYPT for the verdicts.

`verify_signature` (RSA PKCS#1 v1.5 and PSS) and `core.certificates.matches`
are the one verification and the one signer matching, also used by the
validator (`check.layers`).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from asn1crypto import algos
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.exceptions import UnsupportedAlgorithm as CryptoUnsupported
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from conformance.core import certificates, cms_spool, oids
from conformance.core.cms import (
    PARSE_ERRORS,
    CmsError,
    ContentInfo,
    DataParts,
    DigestedParts,
    EncryptedParts,
    EnvelopedParts,
    Identifier,
    Parts,
    SignedParts,
    SignerParts,
    layer_name,
    parse,
)
from conformance.core.spool import Region
from conformance.core.vocabulary import Digest, KeyTransport
from conformance.smime import algorithms as alg
from conformance.smime import der
from conformance.smime.ciphers import (
    ContentDecryption,
    DecryptionError,
    decrypt_content,
    prepare_decryption,
)
from conformance.smime.options import ReceiveOptions
from conformance.smime.read_errors import Budget, ReadError, asn1_guard, malformed
from conformance.status import Algorithms, ErrorCode
from conformance.token.base import PrivateKeyHandle, TokenError, UnsupportedMechanism

__all__ = [
    "UNDECRYPTABLE",
    "CertificateDirectory",
    "CertificatePool",
    "Decrypted",
    "SignedResult",
    "SignerOutcome",
    "StreamedContent",
    "check_accepted",
    "decrypt_enveloped",
    "der_set",
    "layer_name",
    "read_content_info",
    "read_content_info_spooled",
    "read_digested_data",
    "read_encrypted_data",
    "read_signed_data",
    "signature_info",
    "verify_signature",
]

# DSA (RFC 3370 3.1, RFC 5754 3.1): read for the RFC 4134 corpus; it has no option name.
DSA_SIGNATURES: dict[str, str | None] = {
    oids.DSA: None,  # id-dsa: the SignerInfo digest decides
    oids.DSA_WITH_SHA1: "sha1",
    oids.DSA_WITH_SHA256: "sha256",
}
_V = TypeVar("_V")
_DIGEST_LABEL = "digest"
_SIGNATURE_LABEL = "signature algorithm"
_CIPHER_LABEL = "content encryption"
_KEY_TRANSPORT_LABEL = "key transport"
# The one answer to every failure after the private key was used (RFC 3218 2.3).
UNDECRYPTABLE = (
    "cannot decrypt with my key: the content key does not unwrap or the content does not "
    "decrypt (RSA padding, key length, content padding or authentication tag: one answer)"
)


class CertificateDirectory(Protocol):
    """What the reader needs of `pki.directory.Directory`: certificate look-ups."""

    def find_certificate(self, issuer: x509.Name, serial: int) -> x509.Certificate | None: ...

    def find_by_ski(self, ski: bytes) -> x509.Certificate | None: ...


def check_accepted(label: str, name: str, accepted: Iterable[str] | None) -> None:
    """UNSUPPORTED_ALGORITHM when the receiver's options exclude what was found."""
    if accepted is not None and name not in accepted:
        raise ReadError(ErrorCode.UNSUPPORTED_ALGORITHM, f"receiver does not accept {label} {name}")


def _note(values: list[str], name: str) -> None:
    if name not in values:
        values.append(name)


def _unsupported(exc: alg.UnsupportedAlgorithm, label: str) -> ReadError:
    detail = f" ({exc.detail})" if exc.detail else ""
    return ReadError(
        ErrorCode.UNSUPPORTED_ALGORITHM,
        f"engine does not support {label} {exc.oid}{detail}",
    )


def der_set(contents: bytes) -> bytes:
    """The SET OF tag and length around signed attributes as received: what the signature
    covers (RFC 5652 5.4). Not `der.set_of`, which would re-sort them."""
    return der.tlv(0x31, contents)


# --- loading --------------------------------------------------------------------------


def read_content_info(data: bytes, where: str, budget: Budget) -> ContentInfo:
    """The parts of a ContentInfo (`core.cms.parse`); MALFORMED if it does not parse."""
    budget.check_cms_size(len(data), where)
    try:
        return parse(data)
    except CmsError as exc:
        raise malformed(f"{where}: {exc.where}" if exc.where else where, exc.detail) from exc


def read_content_info_spooled(
    data: Region, where: str, budget: Budget, part_bytes: int
) -> tuple[ContentInfo, Region | None]:
    """`read_content_info` of a large CMS object in a spool: its parts read from its
    skeleton (`core.cms_spool`), and its large string (eContent, encryptedContent), whose
    part is left empty, as a region."""
    budget.check_cms_size(len(data), where)
    try:
        skeleton, large, trailing = cms_spool.skeleton(data, part_bytes)
        info = parse(skeleton)._replace(trailing=trailing)
        if large is not None and not _content_left_out(info.content):
            # What was left out is no content (a detached signature's large string):
            # such an object holds no content and is read as it is.
            large = None
            info = parse(data.read())
        return info, large
    except CmsError as exc:
        raise malformed(f"{where}: {exc.where}" if exc.where else where, exc.detail) from exc


def _content_left_out(parts: Parts) -> bool:
    """Is the content of a skeleton's parts the empty string left for the large one?"""
    if isinstance(parts, SignedParts | DataParts):
        return parts.content == b""
    if isinstance(parts, EnvelopedParts):
        return parts.ciphertext == b""
    return False


class StreamedContent(Protocol):
    """Signed content too large to hold: digested as a stream, once per digest."""

    def digest(self, algorithm: hashes.HashAlgorithm) -> bytes: ...


Content = bytes | StreamedContent


# --- certificates ---------------------------------------------------------------------


@dataclass
class CertificatePool:
    """Certificates the reader may use: those in the message, then the directory."""

    message: list[asn1_x509.Certificate]
    directory: CertificateDirectory | None = None
    extra: list[asn1_x509.Certificate] = field(default_factory=list)  # anchors, intermediates

    def find_signer(self, sid: Identifier) -> asn1_x509.Certificate | None:
        for cert in self.message:
            if certificates.matches(sid, cert):
                return cert
        return self._from_directory(sid)

    def _from_directory(self, sid: Identifier) -> asn1_x509.Certificate | None:
        if self.directory is None:
            return None
        found: x509.Certificate | None = None
        if sid.ski is not None:
            found = self.directory.find_by_ski(sid.ski)
        else:
            name = certificates.crypto_name(asn1_x509.Name.load(sid.issuer))
            if name is not None:
                found = self.directory.find_certificate(name, sid.serial)
        if found is None:
            return None
        cert = certificates.asn1_certificate(found)
        return cert if certificates.matches(sid, cert) else None

    def issuer_of(self, cert: asn1_x509.Certificate) -> asn1_x509.Certificate | None:
        for candidate in [*self.message, *self.extra]:
            if candidate.subject == cert.issuer:
                return candidate
        return None


# --- SignedData -----------------------------------------------------------------------


@dataclass
class SignerOutcome:
    """One SignerInfo: what was found, and `error` None when the signature verified."""

    index: int
    certificate: asn1_x509.Certificate | None = None
    digest: str | None = None
    signature: str | None = None
    error: ReadError | None = None


@dataclass
class SignedResult:
    content: bytes | None  # the encapsulated content, None when detached (empty: spooled)
    content_type: str  # eContentType, dotted
    certificates: list[asn1_x509.Certificate]  # X.509 certificates carried by the message
    signers: list[SignerOutcome]
    spooled: Region | None = None  # a large eContent, in its spool


def read_signed_data(
    signed_data: Parts,
    where: str,
    *,
    detached: Content | None,
    pool: CertificatePool,
    options: ReceiveOptions,
    found: Algorithms,
    large: Region | None = None,
    stream: Callable[[Region], StreamedContent] | None = None,
) -> SignedResult:
    """Verify every SignerInfo over the encapsulated or the detached content.

    Per-signer failures (bad signature, unknown certificate, refused
    algorithm) are kept in the outcomes; only a structure that does not parse
    raises. `large`: the eContent left out of a spooled SignedData's parts
    (`read_content_info_spooled`), digested through `stream`.
    """
    if not isinstance(signed_data, SignedParts):
        raise malformed(where, "content is not a SignedData")
    embedded: bytes | Region | None = signed_data.content
    if large is not None:
        assert stream is not None and embedded == b""
        embedded = large
    if detached is not None and embedded is not None:
        raise malformed(where, "detached signature whose SignedData also carries content")
    content: Content | None = detached
    if isinstance(embedded, Region):
        assert stream is not None
        content = stream(embedded)
    elif embedded is not None:
        content = embedded
    for index, encoding in enumerate(signed_data.certificates, start=1):
        # Each carried certificate parses in full, or the message is MALFORMED: the
        # chain builder and the status read any of their fields.
        problem = certificates.parse_problem(encoding)
        if problem is not None:
            raise malformed(f"{where}: certificate {index}", f"invalid CMS/ASN.1: {problem[:200]}")
    with asn1_guard(f"{where}: certificates"):
        # One shared parse per encoding: the same certificates come with every message.
        pool.message = [certificates.load_certificate(d) for d in signed_data.certificates]
    outcomes = []
    for index, signer_info in enumerate(signed_data.signers, start=1):
        outcome = SignerOutcome(index)
        try:
            _verify_signer(
                signer_info,
                f"{where}: signer {index}",
                content,
                signed_data.content_type,
                pool,
                options,
                found,
                outcome,
            )
        except ReadError as exc:
            outcome.error = exc
        outcomes.append(outcome)
    if isinstance(embedded, Region):
        return SignedResult(b"", signed_data.content_type, pool.message, outcomes, embedded)
    return SignedResult(embedded, signed_data.content_type, pool.message, outcomes)


def _verify_signer(
    signer: SignerParts,
    where: str,
    content: Content | None,
    content_type: str,
    pool: CertificatePool,
    options: ReceiveOptions,
    found: Algorithms,
    outcome: SignerOutcome,
) -> None:
    with asn1_guard(where):
        signer_cert = pool.find_signer(signer.sid)
    if signer_cert is not None:
        with asn1_guard(f"{where}: signer certificate"):
            # Parse now what is read later (extensions, subject), so that a
            # corrupt certificate is MALFORMED here rather than a crash there.
            _ = (signer_cert.key_usage_value, signer_cert.subject.native)

    # Algorithms first, so that the status names them even when refused.
    digest_name = alg.digest_name_from_oid(signer.digest_oid)
    outcome.digest = digest_name or oids.shown(signer.digest_oid)
    _note(found.digest, outcome.digest)
    dsa_digest: str | None = None
    sig_info: alg.SignatureInfo | None = None
    if signer.signature_oid in DSA_SIGNATURES:
        outcome.signature = signer.signature_oid
        dsa_digest = DSA_SIGNATURES[signer.signature_oid] or digest_name
    else:
        try:
            sig_info = signature_info(signer.signature_algorithm)
            outcome.signature = sig_info.algorithm
        except alg.UnsupportedAlgorithm as exc:
            outcome.signature = exc.oid
            _note(found.signature, outcome.signature)
            raise _unsupported(exc, _SIGNATURE_LABEL) from None
        except PARSE_ERRORS as exc:
            raise malformed(where, f"signature algorithm does not parse: {exc}") from exc
    _note(found.signature, outcome.signature)
    if digest_name is None:
        raise ReadError(
            ErrorCode.UNSUPPORTED_ALGORITHM,
            f"engine does not support {_DIGEST_LABEL} {outcome.digest}",
        )
    check_accepted(_DIGEST_LABEL, digest_name, options.digests)
    check_accepted(_SIGNATURE_LABEL, outcome.signature, options.signature_algorithms)

    if signer_cert is None:
        raise ReadError(
            ErrorCode.UNTRUSTED_SIGNER,
            f"{where}: signer certificate ({certificates.describe_identifier(signer.sid)}) "
            "is neither in the message nor in the directory",
        )
    outcome.certificate = signer_cert
    if content is None:
        raise malformed(where, "no content to verify: detached signature without its content")

    hash_name = alg.hash_algorithm(digest_name)
    prehashed: hashes.HashAlgorithm | None = None
    if signer.signed_attrs is not None:
        _check_signed_attributes(signer, where, content, content_type, hash_name)
        signed_bytes = der_set(signer.signed_attrs)
    elif isinstance(content, bytes):
        signed_bytes = content
    else:  # the signature is over the large content itself: its digest, streamed
        named = sig_info.digest if sig_info is not None and sig_info.digest else None
        prehashed = alg.hash_algorithm(named or dsa_digest or digest_name)  # type: ignore[arg-type]
        signed_bytes = content.digest(prehashed)

    public_key = signer_public_key(signer_cert, pool, where)
    try:
        if sig_info is not None:
            if not isinstance(public_key, rsa.RSAPublicKey):
                raise ReadError(
                    ErrorCode.BAD_SIGNATURE, f"{where}: RSA signature but the key is not RSA"
                )
            verify_signature(
                public_key, sig_info, digest_name, signer.signature, signed_bytes, prehashed
            )
        else:
            if not isinstance(public_key, dsa.DSAPublicKey):
                raise ReadError(
                    ErrorCode.BAD_SIGNATURE, f"{where}: DSA signature but the key is not DSA"
                )
            if dsa_digest not in ("sha1", "sha256", "sha384", "sha512"):
                raise ReadError(
                    ErrorCode.UNSUPPORTED_ALGORITHM,
                    f"engine does not support DSA with {dsa_digest}",
                )
            dsa_hash = alg.hash_algorithm(dsa_digest)  # type: ignore[arg-type]
            public_key.verify(
                signer.signature,
                signed_bytes,
                Prehashed(dsa_hash) if prehashed is not None else dsa_hash,
            )
    except InvalidSignature:
        raise ReadError(
            ErrorCode.BAD_SIGNATURE,
            f"{where}: the signature does not verify with the key of "
            f"{signer_cert.subject.human_friendly}{_length_said(public_key, signer.signature)}",
        ) from None
    except CryptoUnsupported as exc:
        raise ReadError(ErrorCode.UNSUPPORTED_ALGORITHM, f"{where}: {exc}") from None


@dataclass(frozen=True)
class WrongLength:
    """An RSA signature value that is not as long as the key's modulus, which RFC 8017
    8.2.2 step 1 refuses before any arithmetic. A writer that takes the value for a signed
    integer makes it one octet longer, a leading zero, about one time in two."""

    octets: int
    modulus_octets: int
    leading_zero: bool  # one octet more, and that octet zero


def wrong_length(public_key: object, signature: bytes) -> WrongLength | None:
    """The signature's length, when it is not the RSA modulus's (None: it is, or not RSA)."""
    if not isinstance(public_key, rsa.RSAPublicKey):
        return None
    size = (public_key.key_size + 7) // 8
    if len(signature) == size:
        return None
    zero = len(signature) == size + 1 and signature[0] == 0
    return WrongLength(len(signature), size, zero)


def _length_said(public_key: object, signature: bytes) -> str:
    wrong = wrong_length(public_key, signature)
    if wrong is None:
        return ""
    zero = " with a leading zero octet" if wrong.leading_zero else ""
    return (
        f": the signature value is {wrong.octets} octets{zero}, not the "
        f"{wrong.modulus_octets} of the key's modulus (RFC 8017 8.2.2 step 1)"
    )


def signature_info(algorithm_der: bytes) -> alg.SignatureInfo:
    """`alg.signature_from_algorithm` of a signatureAlgorithm's DER (results cached).

    Only results are cached; an UnsupportedAlgorithm is raised afresh each time.
    """
    return _signature_info_of_der(algorithm_der)


@functools.lru_cache(maxsize=256)
def _signature_info_of_der(algorithm_der: bytes) -> alg.SignatureInfo:
    return alg.signature_from_algorithm(algos.SignedDigestAlgorithm.load(algorithm_der))


def _single_value(values: tuple[tuple[_V, ...], ...], label: str, where: str) -> _V:
    if len(values) != 1 or len(values[0]) != 1:
        raise ReadError(
            ErrorCode.BAD_SIGNATURE,
            f"{where}: signed attributes must hold one {label} attribute with one value "
            "(RFC 5652 5.3)",
        )
    return values[0][0]


def _check_signed_attributes(
    signer: SignerParts,
    where: str,
    content: Content,
    content_type: str,
    hash_algorithm: hashes.HashAlgorithm,
) -> None:
    """RFC 5652 5.4/11.1/11.2: content-type equals eContentType, message-digest matches."""
    declared = _single_value(signer.content_types, "content-type", where)
    if declared != content_type:
        raise ReadError(
            ErrorCode.BAD_SIGNATURE,
            f"{where}: content-type attribute {layer_name(declared)} differs from "
            f"eContentType {layer_name(content_type)}",
        )
    expected = _single_value(signer.message_digests, "message-digest", where)
    if isinstance(content, bytes):
        digest = hashes.Hash(hash_algorithm)
        digest.update(content)
        actual = digest.finalize()
    else:
        actual = content.digest(hash_algorithm)
    if not hmac.compare_digest(actual, expected):
        raise ReadError(
            ErrorCode.BAD_SIGNATURE,
            f"{where}: message-digest attribute does not match the content (content altered)",
        )


def verify_signature(
    key: rsa.RSAPublicKey,
    info: alg.SignatureInfo,
    digest: Digest,
    signature: bytes,
    data: bytes,
    prehashed: hashes.HashAlgorithm | None = None,
) -> None:
    """Verify an RSA signature (PKCS#1 v1.5 or PSS with its parameters); InvalidSignature.

    The hash is the one the signature algorithm names, else the SignerInfo's
    digest (plain rsaEncryption, RFC 3370 3.2); PSS takes its MGF1 hash and
    salt length from RSASSA-PSS-params (RFC 4056). With `prehashed`, `data` is
    already the digest (of a content streamed from a spool).
    """
    hash_name = info.digest or digest
    hash_algorithm = alg.hash_algorithm(hash_name)
    if info.algorithm == "rsa-pss":
        mgf_hash = alg.hash_algorithm(info.mgf_digest or hash_name)
        salt_length = info.salt_length or 0
        if (key.key_size + 6) // 8 < hash_algorithm.digest_size + salt_length + 2:
            # RFC 8017 9.1.2 step 3: emLen < hLen + sLen + 2 is "inconsistent", a signature
            # that cannot verify (cryptography raises ValueError before looking at it).
            raise InvalidSignature
        pad: padding.AsymmetricPadding = padding.PSS(
            mgf=padding.MGF1(mgf_hash), salt_length=salt_length
        )
    else:
        pad = padding.PKCS1v15()
    if prehashed is not None:
        key.verify(signature, data, pad, Prehashed(prehashed))
        return
    key.verify(signature, data, pad, hash_algorithm)


def signer_public_key(
    cert: asn1_x509.Certificate, pool: CertificatePool, where: str
) -> PublicKeyTypes:
    """The signer's public key; a DSA key without parameters inherits its issuer's.

    RFC 3279 2.3.2 allows it; cryptography cannot load such a key, so the
    public numbers are put together here from the two certificates.
    """
    with asn1_guard(f"{where}: signer public key"):
        info = certificates.key_info(certificates.loaded_der(cert))
        if info.inherits_parameters:
            spki = cert["tbs_certificate"]["subject_public_key_info"]
            issuer = pool.issuer_of(cert)
            issuer_params = (
                issuer["tbs_certificate"]["subject_public_key_info"]["algorithm"]["parameters"]
                if issuer is not None
                else None
            )
            if issuer_params is None or issuer_params.native is None:
                raise ReadError(
                    ErrorCode.UNSUPPORTED_ALGORITHM,
                    f"{where}: DSA key without parameters and no issuer certificate "
                    "to inherit them from",
                )
            p, q, g = (int(issuer_params[n].native) for n in ("p", "q", "g"))
            y = int(spki["public_key"].parsed.native)
            return dsa.DSAPublicNumbers(y, dsa.DSAParameterNumbers(p, q, g)).public_key()
    try:
        return certificates.public_key(info.spki)
    except (ValueError, CryptoUnsupported) as exc:
        raise ReadError(
            ErrorCode.UNSUPPORTED_ALGORITHM,
            f"{where}: signer public key algorithm {oids.shown(info.oid)} is not readable: {exc}",
        ) from None


# --- EnvelopedData / AuthEnvelopedData ------------------------------------------------


@dataclass
class Decrypted:
    content: bytes  # empty when `spooled`
    content_type: str  # dotted
    cipher: str
    key_transport: str
    aead: bool  # the GCM tag was checked
    spooled: Region | None = None  # a large content, decrypted into a spool


def decrypt_enveloped(
    envelope: Parts,
    where: str,
    *,
    keys: Sequence[PrivateKeyHandle],
    options: ReceiveOptions,
    found: Algorithms,
    large: Region | None = None,
) -> Decrypted:
    """Find our KeyTransRecipientInfo, unwrap the key with the token, decrypt the content.

    `large`: the encryptedContent left out of a spooled envelope's parts
    (`read_content_info_spooled`), decrypted chunk by chunk into a spool."""
    if not isinstance(envelope, EnvelopedParts):
        raise malformed(where, "content is not an EnvelopedData")
    label = "AuthEnvelopedData" if envelope.aead else "EnvelopedData"
    with asn1_guard(f"{where}: {label}"):
        # Loaded from the same bytes with the same spec as asn1crypto's field.
        cipher_algorithm = algos.EncryptionAlgorithm.load(envelope.cipher_algorithm)
        aad = der_set(envelope.auth_attrs) if envelope.auth_attrs is not None else b""
        key_certs = [certificates.asn1_certificate(key.certificate) for key in keys]
    try:
        cipher = alg.content_cipher_from_algorithm(cipher_algorithm)
    except alg.UnsupportedAlgorithm as exc:
        _note(found.content_encryption, exc.oid)
        raise _unsupported(exc, _CIPHER_LABEL) from None
    except PARSE_ERRORS as exc:
        raise malformed(
            where,
            f"bad content encryption parameters for {oids.shown(envelope.cipher_oid)}: {exc}",
        ) from exc
    _note(found.content_encryption, cipher)

    chosen: tuple[bytes, bytes, PrivateKeyHandle] | None = None
    with asn1_guard(f"{where}: recipientInfos"):
        for recipient in envelope.recipients:
            if recipient.rid is None:
                continue
            for key, cert in zip(keys, key_certs, strict=True):
                if chosen is None and certificates.matches(recipient.rid, cert):
                    chosen = (recipient.key_algorithm, recipient.encrypted_key, key)
    if chosen is None:
        # Described only on failure: reading the issuers' names is slow.
        listing = "; ".join(
            f"{r.name} (not key transport)"
            if r.rid is None
            else certificates.describe_identifier(r.rid)
            for r in envelope.recipients
        )
        listing = listing or "none"
        raise ReadError(
            ErrorCode.CANNOT_DECRYPT,
            f"{where}: not for me: no recipient matches my keys (recipients: {listing})",
        )
    key_algorithm, wrapped, key = chosen
    try:
        key_transport = key_transport_of(key_algorithm)
    except alg.UnsupportedAlgorithm as exc:
        _note(found.key_transport, exc.oid)
        raise _unsupported(exc, _KEY_TRANSPORT_LABEL) from None
    except PARSE_ERRORS as exc:
        raise malformed(where, f"key transport algorithm does not parse: {exc}") from exc
    _note(found.key_transport, key_transport)
    check_accepted(_CIPHER_LABEL, cipher, options.ciphers)
    check_accepted(_KEY_TRANSPORT_LABEL, key_transport, options.key_transports)
    ciphertext: bytes | Region | None = envelope.ciphertext
    if large is not None:
        assert ciphertext == b""
        ciphertext = large
    if ciphertext is None:
        raise malformed(where, f"{label} without encrypted content (detached content is not read)")

    # What can be judged without the private key is judged first, with its own reason.
    try:
        decryption = prepare_decryption(
            cipher_algorithm, ciphertext, envelope.mac, aad=aad, cipher=cipher
        )
    except alg.UnsupportedAlgorithm as exc:
        raise _unsupported(exc, _CIPHER_LABEL) from None
    except DecryptionError as exc:
        raise ReadError(ErrorCode.CANNOT_DECRYPT, f"{where}: {cipher}: {exc}") from None
    except PARSE_ERRORS as exc:
        raise malformed(where, f"{cipher} parameters: {exc}") from exc

    try:
        content_key: bytes | None = key.decrypt(wrapped, key_transport)
    except UnsupportedMechanism as exc:
        # Refused before any decryption (SoftHSM: OAEP-SHA256 at C_DecryptInit): no oracle.
        raise ReadError(ErrorCode.UNSUPPORTED_ALGORITHM, f"{where}: {exc}") from None
    except TokenError:
        content_key = None
    plaintext = _decrypt_after_unwrap(decryption, content_key)
    if plaintext is None:
        raise ReadError(ErrorCode.CANNOT_DECRYPT, f"{where}: {UNDECRYPTABLE}")
    if isinstance(plaintext, Region):
        return Decrypted(
            b"", envelope.content_type, cipher, key_transport, envelope.aead, plaintext
        )
    return Decrypted(plaintext, envelope.content_type, cipher, key_transport, envelope.aead)


def _decrypt_after_unwrap(
    decryption: ContentDecryption, content_key: bytes | None
) -> bytes | Region | None:
    """The plaintext, or None for any failure once the private key was used.

    RFC 3218 2.3: a bad PKCS#1 v1.5 padding, a content key of the wrong length
    and a content that does not decrypt must look the same to the sender, in
    the status text as in the time taken, or the answers are a padding oracle
    (Bleichenbacher). So a key the token did not give, or gave at the wrong
    length, is replaced by a random one of the right length and the content is
    decrypted all the same (implicit rejection), and every failure is one answer.
    """
    rejected = content_key is None or not decryption.key_fits(content_key)
    if content_key is None or rejected:
        content_key = os.urandom(decryption.key_length)
    try:
        plaintext: bytes | Region
        if isinstance(decryption.ciphertext, Region):
            plaintext = decryption.run_spooled(content_key)
        else:
            plaintext = decryption.run(content_key)
    except DecryptionError:
        return None
    # A random key passes CBC padding about once in 256: its plaintext is noise.
    if rejected:
        if isinstance(plaintext, Region):
            plaintext.spool.close()
        return None
    return plaintext


def key_transport_of(algorithm_der: bytes) -> KeyTransport:
    """The option name of a KeyEncryptionAlgorithm's DER (`alg.key_transport_from_der`)."""
    return alg.key_transport_from_der(algorithm_der)


# --- the other RFC 5652 types (RFC 4134 sections 6 and 7) -----------------------------


def read_digested_data(content: Parts, where: str) -> bytes:
    """The content of a DigestedData whose digest matches; BAD_SIGNATURE otherwise."""
    if not isinstance(content, DigestedParts):
        raise malformed(where, "content is not a DigestedData")
    if content.content is None:
        raise malformed(where, "DigestedData without content")
    name = alg.digest_name_from_oid(content.digest_oid)
    if name is None:
        raise ReadError(
            ErrorCode.UNSUPPORTED_ALGORITHM,
            f"engine does not support digest {oids.shown(content.digest_oid)}",
        )
    if not hmac.compare_digest(hashlib.new(name, content.content).digest(), content.digest):
        raise ReadError(ErrorCode.BAD_SIGNATURE, f"{where}: digest does not match the content")
    return content.content


def read_encrypted_data(content: Parts, where: str, key: bytes) -> bytes:
    """The content of an EncryptedData under a symmetric key known out of band."""
    if not isinstance(content, EncryptedParts):
        raise malformed(where, "content is not an EncryptedData")
    if content.ciphertext is None:
        raise malformed(where, "EncryptedData without encrypted content")
    with asn1_guard(f"{where}: EncryptedData"):
        algorithm = algos.EncryptionAlgorithm.load(content.cipher_algorithm)
    try:
        return decrypt_content(algorithm, key, content.ciphertext)
    except alg.UnsupportedAlgorithm as exc:
        raise _unsupported(exc, _CIPHER_LABEL) from None
    except DecryptionError as exc:
        raise ReadError(ErrorCode.CANNOT_DECRYPT, f"{where}: {exc}") from None
