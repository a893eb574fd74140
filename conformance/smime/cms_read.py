"""CMS reading: SignedData verification and (Auth)EnvelopedData decryption.

asn1crypto parses DER and BER (indefinite lengths, constructed OCTET STRINGs,
which NSS writes); cryptography does the primitives. For speed, the engine
reads plain DER through `cms_fast` (`read_content_info`), which extracts the
same values without asn1crypto's object model and leaves everything else to
asn1crypto; the readers below take either form. Everything that can go
wrong is raised as a `ReadError` with its status code: MALFORMED for what
does not parse, UNSUPPORTED_ALGORITHM for what the engine or the receiver's
options do not take, BAD_SIGNATURE and CANNOT_DECRYPT for the verdicts.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeAlias, cast

from asn1crypto import algos, cms, core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.exceptions import UnsupportedAlgorithm as CryptoUnsupported
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.x509.oid import ObjectIdentifier

from conformance.core.vocabulary import Digest, KeyTransport
from conformance.smime import algorithms as alg
from conformance.smime import der, read_cache
from conformance.smime.ciphers import DecryptionError, decrypt_content
from conformance.smime.cms_fast import (
    EnvelopedParts,
    Identifier,
    RecipientParts,
    SignedParts,
    SignerParts,
    walk_content_info,
)
from conformance.smime.options import ReceiveOptions
from conformance.smime.read_errors import PARSE_ERRORS, Budget, ReadError, asn1_guard, malformed
from conformance.status import Algorithms, ErrorCode
from conformance.token.base import PrivateKeyHandle, TokenError, UnsupportedMechanism

_CONTENT_TYPE_ATTR = "1.2.840.113549.1.9.3"
_MESSAGE_DIGEST_ATTR = "1.2.840.113549.1.9.4"
_SignerId: TypeAlias = "cms.SignerIdentifier | cms.RecipientIdentifier | Identifier"
_ID_DATA = "1.2.840.113549.1.7.1"
# DSA (RFC 3370 3.1, RFC 5754 3.1): read for the RFC 4134 corpus; it has no option name.
_DSA_SIGNATURES: dict[str, str | None] = {
    "1.2.840.10040.4.1": None,  # id-dsa: the SignerInfo digest decides
    "1.2.840.10040.4.3": "sha1",
    "2.16.840.1.101.3.4.3.2": "sha256",
}
_DIGEST_LABEL = "digest"
_SIGNATURE_LABEL = "signature algorithm"
_CIPHER_LABEL = "content encryption"
_KEY_TRANSPORT_LABEL = "key transport"

# CMS content types as S/MIME names them (smime-type values, RFC 8551 3.2.2).
LAYER_NAMES: dict[str, str] = {
    "1.2.840.113549.1.7.2": "signed-data",
    "1.2.840.113549.1.7.3": "enveloped-data",
    "1.2.840.113549.1.9.16.1.23": "authEnveloped-data",
    "1.2.840.113549.1.7.1": "data",
    "1.2.840.113549.1.7.5": "digested-data",
    "1.2.840.113549.1.7.6": "encrypted-data",
    "1.2.840.113549.1.9.16.1.9": "compressed-data",
}


class CertificateDirectory(Protocol):
    """What the reader needs of `pki.directory.Directory`: certificate look-ups."""

    def find_certificate(self, issuer: x509.Name, serial: int) -> x509.Certificate | None: ...

    def find_by_ski(self, ski: bytes) -> x509.Certificate | None: ...


def layer_name(content_type_oid: str) -> str:
    return LAYER_NAMES.get(content_type_oid, content_type_oid)


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
        ErrorCode.UNSUPPORTED_ALGORITHM, f"engine does not support {label} {exc.oid}{detail}"
    )


def der_set(contents: bytes) -> bytes:
    """The SET OF tag and length around signed attributes as received: what the signature
    covers (RFC 5652 5.4). Not `der.set_of`, which would re-sort them."""
    return der.tlv(0x31, contents)


def octets(value: core.Asn1Value) -> bytes:
    """The bytes of an OCTET STRING, chunks of a constructed (BER) one joined."""
    if isinstance(value, core.OctetString | core.ParsableOctetString):
        return bytes(value)
    raise TypeError(f"expected an OCTET STRING, found {type(value).__name__}")


# --- loading --------------------------------------------------------------------------


def read_content_info(
    der: bytes, where: str, budget: Budget
) -> tuple[str, core.Asn1Value | SignedParts | EnvelopedParts]:
    """`load_content_info`, except that signed, enveloped and authEnveloped data in
    plain DER come back as the parts `cms_fast` extracted (which the readers here take)."""
    budget.check_cms_size(len(der), where)
    fast = walk_content_info(der) if der else None
    if fast is not None:
        return fast
    return load_content_info(der, where, budget)


def load_content_info(der: bytes, where: str, budget: Budget) -> tuple[str, core.Asn1Value]:
    """(content type OID, parsed content) of a ContentInfo; MALFORMED if it does not parse."""
    budget.check_cms_size(len(der), where)
    if not der:
        raise malformed(where, "empty CMS object")
    with asn1_guard(where):
        info = cms.ContentInfo.load(der, strict=False)
        content_type = info["content_type"].dotted
        content = info["content"]
        if content is None or isinstance(content, core.Void):
            raise malformed(where, f"ContentInfo of type {layer_name(content_type)} has no content")
        # Force the top-level parse now so that truncation is reported here.
        _ = content.native if content_type == _ID_DATA else len(content)
    return content_type, content


# --- certificates ---------------------------------------------------------------------


@dataclass
class CertificatePool:
    """Certificates the reader may use: those in the message, then the directory."""

    message: list[asn1_x509.Certificate]
    directory: CertificateDirectory | None = None
    extra: list[asn1_x509.Certificate] = field(default_factory=list)  # anchors, intermediates

    def find_signer(self, sid: _SignerId) -> asn1_x509.Certificate | None:
        for cert in self.message:
            if _matches(sid, cert):
                return cert
        return self._from_directory(sid)

    def _from_directory(self, sid: _SignerId) -> asn1_x509.Certificate | None:
        if self.directory is None:
            return None
        found: x509.Certificate | None = None
        if isinstance(sid, Identifier):
            if sid.ski is not None:
                found = self.directory.find_by_ski(sid.ski)
            else:
                name = crypto_name(_load_name(sid.issuer))
                if name is not None:
                    found = self.directory.find_certificate(name, sid.serial)
        elif sid.name == "subject_key_identifier":
            found = self.directory.find_by_ski(bytes(sid.chosen.native))
        else:
            name = crypto_name(sid.chosen["issuer"])
            if name is not None:
                found = self.directory.find_certificate(
                    name, int(sid.chosen["serial_number"].native)
                )
        if found is None:
            return None
        cert = to_asn1(found)
        return cert if _matches(sid, cert) else None

    def issuer_of(self, cert: asn1_x509.Certificate) -> asn1_x509.Certificate | None:
        for candidate in [*self.message, *self.extra]:
            if candidate.subject == cert.issuer:
                return candidate
        return None


def to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    """The asn1crypto view of a certificate (cached: the same few are used for every message)."""
    return read_cache.asn1_certificate(cert)


def to_crypto(cert: asn1_x509.Certificate) -> x509.Certificate:
    return x509.load_der_x509_certificate(cert.dump())


def crypto_name(name: asn1_x509.Name) -> x509.Name | None:
    """The issuer as a cryptography Name for the directory, None if it cannot be converted."""
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


def subject_key_identifier(cert: asn1_x509.Certificate) -> bytes | None:
    value = cert.key_identifier_value
    return bytes(value.native) if value is not None else None


def _matches(sid: _SignerId, cert: asn1_x509.Certificate) -> bool:
    issuer_der, serial, ski = _identifiers(read_cache.loaded_der(cert))
    if isinstance(sid, Identifier):
        if sid.ski is not None:
            return ski is not None and hmac.compare_digest(ski, sid.ski)
        if serial != sid.serial:
            return False
        return bool(issuer_der == sid.issuer or cert.issuer == _load_name(sid.issuer))
    if sid.name == "subject_key_identifier":
        return ski is not None and hmac.compare_digest(ski, bytes(sid.chosen.native))
    ias = sid.chosen
    if serial != ias["serial_number"].native:
        return False
    # Same bytes first: asn1crypto's RFC 5280 name comparison is right but slow.
    issuer = ias["issuer"]
    return bool(issuer_der == issuer.dump() or cert.issuer == issuer)


def _load_name(der: bytes) -> asn1_x509.Name:
    """An issuer Name from its DER, as asn1crypto would have parsed it in place."""
    return asn1_x509.Name.load(der)


@functools.lru_cache(maxsize=1024)
def _identifiers(der: bytes) -> tuple[bytes, int, bytes | None]:
    """(issuer DER, serial number, subject key identifier) of a certificate's encoding."""
    cert = read_cache.load_certificate(der)
    return bytes(cert.issuer.dump()), int(cert.serial_number), subject_key_identifier(cert)


def message_certificates(signed_data: cms.SignedData, where: str) -> list[asn1_x509.Certificate]:
    """The X.509 certificates of a SignedData (other certificate formats are skipped)."""
    found: list[asn1_x509.Certificate] = []
    with asn1_guard(f"{where}: certificates"):
        for choice in signed_data["certificates"] or []:
            if choice.name == "certificate":
                # One shared parse per encoding: the same certificates come with
                # every message, and their fields are then read only once.
                found.append(read_cache.load_certificate(bytes(choice.chosen.dump())))
    return found


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
    content: bytes | None  # the encapsulated content, None when detached
    content_type: str  # eContentType, dotted
    certificates: list[asn1_x509.Certificate]  # X.509 certificates carried by the message
    signers: list[SignerOutcome]


def read_signed_data(
    signed_data: core.Asn1Value | SignedParts,
    where: str,
    *,
    detached: bytes | None,
    pool: CertificatePool,
    options: ReceiveOptions,
    found: Algorithms,
) -> SignedResult:
    """Verify every SignerInfo over the encapsulated or the detached content.

    Per-signer failures (bad signature, unknown certificate, refused
    algorithm) are kept in the outcomes; only a structure that does not parse
    raises. `signed_data` is asn1crypto's SignedData or what `cms_fast` took
    out of one.
    """
    signer_infos: Sequence[cms.SignerInfo | SignerParts]
    if isinstance(signed_data, SignedParts):
        content_type = signed_data.content_type
        embedded = signed_data.content
        signer_infos = signed_data.signers
    elif isinstance(signed_data, cms.SignedData):
        with asn1_guard(f"{where}: SignedData"):
            encap = signed_data["encap_content_info"]
            content_type = encap["content_type"].dotted
            econtent = encap["content"]
            embedded = (
                None if econtent is None or isinstance(econtent, core.Void) else octets(econtent)
            )
            signer_infos = list(signed_data["signer_infos"])
    else:
        raise malformed(where, "content is not a SignedData")
    if detached is not None and embedded is not None:
        raise malformed(where, "detached signature whose SignedData also carries content")
    content = detached if detached is not None else embedded
    if isinstance(signed_data, SignedParts):
        with asn1_guard(f"{where}: certificates"):
            pool.message = [read_cache.load_certificate(d) for d in signed_data.certificates]
    else:
        pool.message = message_certificates(signed_data, where)
    outcomes = []
    for index, signer_info in enumerate(signer_infos, start=1):
        outcome = SignerOutcome(index)
        try:
            _verify_signer(
                signer_info,
                f"{where}: signer {index}",
                content,
                content_type,
                pool,
                options,
                found,
                outcome,
            )
        except ReadError as exc:
            outcome.error = exc
        outcomes.append(outcome)
    return SignedResult(embedded, content_type, pool.message, outcomes)


def _verify_signer(
    signer_info: cms.SignerInfo | SignerParts,
    where: str,
    content: bytes | None,
    content_type: str,
    pool: CertificatePool,
    options: ReceiveOptions,
    found: Algorithms,
    outcome: SignerOutcome,
) -> None:
    sid: _SignerId
    signature_algorithm: algos.SignedDigestAlgorithm | bytes
    attrs: Sequence[cms.CMSAttribute] | SignerParts
    with asn1_guard(where):
        if isinstance(signer_info, SignerParts):
            sid = signer_info.sid
            digest_oid = signer_info.digest_oid
            signature_algorithm = signer_info.signature_algorithm
            signature_oid = signer_info.signature_oid
            signature = signer_info.signature
            has_attrs = signer_info.signed_attrs is not None
            attrs = signer_info
            attrs_der = der_set(signer_info.signed_attrs or b"") if has_attrs else b""
        else:
            sid = signer_info["sid"]
            digest_oid = signer_info["digest_algorithm"]["algorithm"].dotted
            signature_algorithm = signer_info["signature_algorithm"]
            signature_oid = signature_algorithm["algorithm"].dotted
            signature = bytes(signer_info["signature"].native)
            signed_attrs = signer_info["signed_attrs"]
            has_attrs = signed_attrs is not None and not isinstance(signed_attrs, core.Void)
            attrs = list(signed_attrs) if has_attrs else []
            attrs_der = der_set(signed_attrs.contents) if has_attrs else b""
        signer_cert = pool.find_signer(sid)
    if signer_cert is not None:
        with asn1_guard(f"{where}: signer certificate"):
            # Parse now what is read later (extensions, subject), so that a
            # corrupt certificate is MALFORMED here rather than a crash there.
            _ = (signer_cert.key_usage_value, signer_cert.subject.native)

    # Algorithms first, so that the status names them even when refused.
    digest_name = alg.digest_name_from_oid(digest_oid)
    outcome.digest = digest_name or digest_oid
    _note(found.digest, outcome.digest)
    dsa_digest: str | None = None
    sig_info: alg.SignatureInfo | None = None
    if signature_oid in _DSA_SIGNATURES:
        outcome.signature = signature_oid
        dsa_digest = _DSA_SIGNATURES[signature_oid] or digest_name
    else:
        try:
            sig_info = _signature_info(signature_algorithm)
            outcome.signature = sig_info.algorithm
        except alg.UnsupportedAlgorithm as exc:
            outcome.signature = exc.oid
            _note(found.signature, exc.oid)
            raise _unsupported(exc, _SIGNATURE_LABEL) from None
    _note(found.signature, outcome.signature)
    if digest_name is None:
        raise ReadError(
            ErrorCode.UNSUPPORTED_ALGORITHM, f"engine does not support {_DIGEST_LABEL} {digest_oid}"
        )
    check_accepted(_DIGEST_LABEL, digest_name, options.digests)
    check_accepted(_SIGNATURE_LABEL, outcome.signature, options.signature_algorithms)

    if signer_cert is None:
        raise ReadError(
            ErrorCode.UNTRUSTED_SIGNER,
            f"{where}: signer certificate ({_describe_sid(sid)}) is neither in the message "
            "nor in the directory",
        )
    outcome.certificate = signer_cert
    if content is None:
        raise malformed(where, "no content to verify: detached signature without its content")

    hash_name = alg.hash_algorithm(digest_name)
    if has_attrs:
        with asn1_guard(f"{where}: signed attributes"):
            _check_signed_attributes(attrs, where, content, content_type, hash_name)
        signed_bytes = attrs_der
    else:
        signed_bytes = content

    public_key = _public_key(signer_cert, pool, where)
    try:
        if sig_info is not None:
            if not isinstance(public_key, rsa.RSAPublicKey):
                raise ReadError(
                    ErrorCode.BAD_SIGNATURE, f"{where}: RSA signature but the key is not RSA"
                )
            _verify_rsa(public_key, sig_info, digest_name, signature, signed_bytes)
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
            public_key.verify(signature, signed_bytes, alg.hash_algorithm(dsa_digest))  # type: ignore[arg-type]
    except InvalidSignature:
        raise ReadError(
            ErrorCode.BAD_SIGNATURE,
            f"{where}: the signature does not verify with the key of "
            f"{signer_cert.subject.human_friendly}",
        ) from None
    except CryptoUnsupported as exc:
        raise ReadError(ErrorCode.UNSUPPORTED_ALGORITHM, f"{where}: {exc}") from None


def _signature_info(value: algos.SignedDigestAlgorithm | bytes) -> alg.SignatureInfo:
    """`alg.signature_from_algorithm`, on the parsed value or on its DER (then cached)."""
    if isinstance(value, bytes):
        return _signature_info_of_der(value)
    return alg.signature_from_algorithm(value)


@functools.lru_cache(maxsize=256)
def _signature_info_of_der(der: bytes) -> alg.SignatureInfo:
    # Only results are cached; an UnsupportedAlgorithm is raised afresh each time.
    return alg.signature_from_algorithm(algos.SignedDigestAlgorithm.load(der))


def _describe_sid(sid: _SignerId) -> str:
    if isinstance(sid, Identifier):
        if sid.ski is not None:
            return f"subject key identifier {sid.ski.hex()}"
        return f"issuer {_describe_name(sid.issuer)}, serial {sid.serial:#x}"
    if sid.name == "subject_key_identifier":
        return f"subject key identifier {bytes(sid.chosen.native).hex()}"
    ias = sid.chosen
    issuer = _describe_name(bytes(ias["issuer"].dump()))
    return f"issuer {issuer}, serial {ias['serial_number'].native:#x}"


@functools.lru_cache(maxsize=512)
def _describe_name(der: bytes) -> str:
    """A Name as people read it (slow in asn1crypto, and the same issuers recur)."""
    return str(asn1_x509.Name.load(der).human_friendly)


def _single_value(found: dict[str, list[Any]], oid: str, label: str, where: str) -> Any:
    values = found[oid]
    if len(values) != 1 or len(values[0]) != 1:
        raise ReadError(
            ErrorCode.BAD_SIGNATURE,
            f"{where}: signed attributes must hold one {label} attribute with one value "
            "(RFC 5652 5.3)",
        )
    return values[0][0]


def _check_signed_attributes(
    attrs: Sequence[cms.CMSAttribute] | SignerParts,
    where: str,
    content: bytes,
    content_type: str,
    hash_algorithm: hashes.HashAlgorithm,
) -> None:
    """RFC 5652 5.4/11.1/11.2: content-type equals eContentType, message-digest matches."""
    found: dict[str, list[Any]]
    if isinstance(attrs, SignerParts):  # already decoded by cms_fast
        found = {
            _CONTENT_TYPE_ATTR: list(attrs.content_types),
            _MESSAGE_DIGEST_ATTR: list(attrs.message_digests),
        }
    else:
        found = {_CONTENT_TYPE_ATTR: [], _MESSAGE_DIGEST_ATTR: []}
        # (a cast: SignerParts is itself a sequence, a named tuple, so isinstance cannot narrow)
        for attr in cast(Sequence[cms.CMSAttribute], attrs):  # one pass: reading a type parses it
            values = found.get(attr["type"].dotted)
            if values is not None:
                values.append(attr["values"])
    declared_value = _single_value(found, _CONTENT_TYPE_ATTR, "content-type", where)
    declared = declared_value if isinstance(declared_value, str) else declared_value.dotted
    if declared != content_type:
        raise ReadError(
            ErrorCode.BAD_SIGNATURE,
            f"{where}: content-type attribute {layer_name(declared)} differs from "
            f"eContentType {layer_name(content_type)}",
        )
    digest_value = _single_value(found, _MESSAGE_DIGEST_ATTR, "message-digest", where)
    expected = digest_value if isinstance(digest_value, bytes) else bytes(digest_value.native)
    digest = hashes.Hash(hash_algorithm)
    digest.update(content)
    if not hmac.compare_digest(digest.finalize(), expected):
        raise ReadError(
            ErrorCode.BAD_SIGNATURE,
            f"{where}: message-digest attribute does not match the content (content altered)",
        )


def _verify_rsa(
    key: rsa.RSAPublicKey,
    info: alg.SignatureInfo,
    digest: Digest,
    signature: bytes,
    data: bytes,
) -> None:
    hash_name = info.digest or digest
    hash_algorithm = alg.hash_algorithm(hash_name)
    if info.algorithm == "rsa-pss":
        mgf_hash = alg.hash_algorithm(info.mgf_digest or hash_name)
        pad: padding.AsymmetricPadding = padding.PSS(
            mgf=padding.MGF1(mgf_hash), salt_length=info.salt_length or 0
        )
    else:
        pad = padding.PKCS1v15()
    key.verify(signature, data, pad, hash_algorithm)


def _public_key(cert: asn1_x509.Certificate, pool: CertificatePool, where: str) -> PublicKeyTypes:
    """The signer's public key; a DSA key without parameters inherits its issuer's.

    RFC 3279 2.3.2 allows it; cryptography cannot load such a key, so the
    public numbers are put together here from the two certificates.
    """
    with asn1_guard(f"{where}: signer public key"):
        key_oid, inherits, spki_der = _key_info(read_cache.loaded_der(cert))
        if inherits:
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
        return _load_public_key(spki_der)
    except (ValueError, CryptoUnsupported) as exc:
        raise ReadError(
            ErrorCode.UNSUPPORTED_ALGORITHM,
            f"{where}: signer public key algorithm {key_oid} is not readable: {exc}",
        ) from None


@functools.lru_cache(maxsize=512)
def _key_info(der: bytes) -> tuple[str, bool, bytes]:
    """(key algorithm OID, DSA key inheriting its issuer's parameters, SPKI DER)."""
    spki = read_cache.load_certificate(der)["tbs_certificate"]["subject_public_key_info"]
    key_oid = spki["algorithm"]["algorithm"].dotted
    params = spki["algorithm"]["parameters"]
    inherits = key_oid == "1.2.840.10040.4.1" and (params is None or params.native is None)
    return key_oid, inherits, bytes(spki.dump())


@functools.lru_cache(maxsize=512)
def _load_public_key(der: bytes) -> PublicKeyTypes:
    """cryptography's key of a SubjectPublicKeyInfo (cached: the same signers recur)."""
    return serialization.load_der_public_key(der)


# --- EnvelopedData / AuthEnvelopedData ------------------------------------------------


@dataclass
class Decrypted:
    content: bytes
    content_type: str  # dotted
    cipher: str
    key_transport: str
    aead: bool  # the GCM tag was checked


def _key_certificates(keys: Sequence[PrivateKeyHandle]) -> list[asn1_x509.Certificate]:
    return [to_asn1(key.certificate) for key in keys]


def decrypt_enveloped(
    envelope: core.Asn1Value | EnvelopedParts,
    where: str,
    *,
    keys: Sequence[PrivateKeyHandle],
    options: ReceiveOptions,
    found: Algorithms,
) -> Decrypted:
    """Find our KeyTransRecipientInfo, unwrap the key with the token, decrypt the content.

    `envelope` is asn1crypto's (Auth)EnvelopedData or what `cms_fast` took out of one.
    """
    if isinstance(envelope, EnvelopedParts):
        return _decrypt_parts(envelope, where, keys=keys, options=options, found=found)
    aead = isinstance(envelope, cms.AuthEnvelopedData)
    if not aead and not isinstance(envelope, cms.EnvelopedData):
        raise malformed(where, "content is not an EnvelopedData")
    label = "AuthEnvelopedData" if aead else "EnvelopedData"
    with asn1_guard(f"{where}: {label}"):
        info = envelope["auth_encrypted_content_info" if aead else "encrypted_content_info"]
        content_type = info["content_type"].dotted
        cipher_algorithm = info["content_encryption_algorithm"]
        cipher_oid = cipher_algorithm["algorithm"].dotted
        encrypted = info["encrypted_content"]
        ciphertext = (
            None if encrypted is None or isinstance(encrypted, core.Void) else octets(encrypted)
        )
        recipients = list(envelope["recipient_infos"])
        tag = bytes(envelope["mac"].native) if aead else None
        aad = b""
        if (
            aead
            and envelope["auth_attrs"] is not None
            and not isinstance(envelope["auth_attrs"], core.Void)
        ):
            aad = der_set(envelope["auth_attrs"].contents)
        key_certs = _key_certificates(keys)
    return _decrypt(
        where,
        label,
        content_type=content_type,
        cipher_algorithm=cipher_algorithm,
        cipher_oid=cipher_oid,
        ciphertext=ciphertext,
        recipients=recipients,
        aead=aead,
        tag=tag,
        aad=aad,
        keys=keys,
        key_certs=key_certs,
        options=options,
        found=found,
    )


def _decrypt_parts(
    envelope: EnvelopedParts,
    where: str,
    *,
    keys: Sequence[PrivateKeyHandle],
    options: ReceiveOptions,
    found: Algorithms,
) -> Decrypted:
    label = "AuthEnvelopedData" if envelope.aead else "EnvelopedData"
    with asn1_guard(f"{where}: {label}"):
        # Loaded from the same bytes with the same spec as asn1crypto's field.
        cipher_algorithm = algos.EncryptionAlgorithm.load(envelope.cipher_algorithm)
        aad = der_set(envelope.auth_attrs) if envelope.auth_attrs is not None else b""
        key_certs = _key_certificates(keys)
    return _decrypt(
        where,
        label,
        content_type=envelope.content_type,
        cipher_algorithm=cipher_algorithm,
        cipher_oid=envelope.cipher_oid,
        ciphertext=envelope.ciphertext,
        recipients=envelope.recipients,
        aead=envelope.aead,
        tag=envelope.mac,
        aad=aad,
        keys=keys,
        key_certs=key_certs,
        options=options,
        found=found,
    )


def _decrypt(
    where: str,
    label: str,
    *,
    content_type: str,
    cipher_algorithm: algos.EncryptionAlgorithm,
    cipher_oid: str,
    ciphertext: bytes | None,
    recipients: Sequence[cms.RecipientInfo | RecipientParts],
    aead: bool,
    tag: bytes | None,
    aad: bytes,
    keys: Sequence[PrivateKeyHandle],
    key_certs: list[asn1_x509.Certificate],
    options: ReceiveOptions,
    found: Algorithms,
) -> Decrypted:
    """The part shared by both readings: choose the recipient, unwrap, decrypt."""
    try:
        cipher = alg.content_cipher_from_algorithm(cipher_algorithm)
    except alg.UnsupportedAlgorithm as exc:
        _note(found.content_encryption, exc.oid)
        raise _unsupported(exc, _CIPHER_LABEL) from None
    except PARSE_ERRORS as exc:
        raise malformed(
            where, f"bad content encryption parameters for {cipher_oid}: {exc}"
        ) from exc
    _note(found.content_encryption, cipher)

    chosen: tuple[cms.KeyTransRecipientInfo | RecipientParts, PrivateKeyHandle] | None = None
    seen: list[str] = []
    with asn1_guard(f"{where}: recipientInfos"):
        for recipient in recipients:
            if recipient.name != "ktri":
                seen.append(f"{recipient.name} (not key transport)")
                continue
            if isinstance(recipient, RecipientParts):
                assert recipient.rid is not None
                rid: _SignerId = recipient.rid
                info: cms.KeyTransRecipientInfo | RecipientParts = recipient
            else:
                rid = recipient.chosen["rid"]
                info = recipient.chosen
            seen.append(_describe_sid(rid))
            for key, cert in zip(keys, key_certs, strict=True):
                if chosen is None and _matches(rid, cert):
                    chosen = (info, key)
    if chosen is None:
        listing = "; ".join(seen) or "none"
        raise ReadError(
            ErrorCode.CANNOT_DECRYPT,
            f"{where}: not for me: no recipient matches my keys (recipients: {listing})",
        )
    recipient_info, key = chosen
    try:
        if isinstance(recipient_info, RecipientParts):
            key_transport = _key_transport_of_der(recipient_info.key_algorithm)
        else:
            key_transport = alg.key_transport_from_algorithm(
                recipient_info["key_encryption_algorithm"]
            )
    except alg.UnsupportedAlgorithm as exc:
        _note(found.key_transport, exc.oid)
        raise _unsupported(exc, _KEY_TRANSPORT_LABEL) from None
    _note(found.key_transport, key_transport)
    check_accepted(_CIPHER_LABEL, cipher, options.ciphers)
    check_accepted(_KEY_TRANSPORT_LABEL, key_transport, options.key_transports)
    if ciphertext is None:
        raise malformed(where, f"{label} without encrypted content (detached content is not read)")

    with asn1_guard(f"{where}: encrypted key"):
        if isinstance(recipient_info, RecipientParts):
            wrapped = recipient_info.encrypted_key
        else:
            wrapped = bytes(recipient_info["encrypted_key"].native)
    try:
        content_key = key.decrypt(wrapped, key_transport)
    except UnsupportedMechanism as exc:
        raise ReadError(ErrorCode.UNSUPPORTED_ALGORITHM, f"{where}: {exc}") from None
    except TokenError as exc:
        raise ReadError(ErrorCode.CANNOT_DECRYPT, f"{where}: key unwrap failed: {exc}") from None
    try:
        plaintext = decrypt_content(
            cipher_algorithm, content_key, ciphertext, tag, aad=aad, cipher=cipher
        )
    except alg.UnsupportedAlgorithm as exc:
        raise _unsupported(exc, _CIPHER_LABEL) from None
    except DecryptionError as exc:
        raise ReadError(ErrorCode.CANNOT_DECRYPT, f"{where}: {cipher}: {exc}") from None
    except PARSE_ERRORS as exc:
        raise malformed(where, f"{cipher} parameters: {exc}") from exc
    return Decrypted(plaintext, content_type, cipher, key_transport, aead)


@functools.lru_cache(maxsize=64)
def _key_transport_of_der(der: bytes) -> KeyTransport:
    """`alg.key_transport_from_algorithm` of a KeyEncryptionAlgorithm's DER (results cached)."""
    return alg.key_transport_from_algorithm(cms.KeyEncryptionAlgorithm.load(der))


# --- the other RFC 5652 types (RFC 4134 sections 6 and 7) -----------------------------


def read_digested_data(content: core.Asn1Value, where: str) -> bytes:
    """The content of a DigestedData whose digest matches; BAD_SIGNATURE otherwise."""
    if not isinstance(content, cms.DigestedData):
        raise malformed(where, "content is not a DigestedData")
    with asn1_guard(f"{where}: DigestedData"):
        oid = content["digest_algorithm"]["algorithm"].dotted
        data = octets(content["encap_content_info"]["content"])
        expected = bytes(content["digest"].native)
    name = alg.digest_name_from_oid(oid)
    if name is None:
        raise ReadError(ErrorCode.UNSUPPORTED_ALGORITHM, f"engine does not support digest {oid}")
    if not hmac.compare_digest(hashlib.new(name, data).digest(), expected):
        raise ReadError(ErrorCode.BAD_SIGNATURE, f"{where}: digest does not match the content")
    return data


def read_encrypted_data(content: core.Asn1Value, where: str, key: bytes) -> bytes:
    """The content of an EncryptedData under a symmetric key known out of band."""
    if not isinstance(content, cms.EncryptedData):
        raise malformed(where, "content is not an EncryptedData")
    with asn1_guard(f"{where}: EncryptedData"):
        info = content["encrypted_content_info"]
        algorithm: algos.EncryptionAlgorithm = info["content_encryption_algorithm"]
        ciphertext = octets(info["encrypted_content"])
    try:
        return decrypt_content(algorithm, key, ciphertext)
    except alg.UnsupportedAlgorithm as exc:
        raise _unsupported(exc, _CIPHER_LABEL) from None
    except DecryptionError as exc:
        raise ReadError(ErrorCode.CANNOT_DECRYPT, f"{where}: {exc}") from None
