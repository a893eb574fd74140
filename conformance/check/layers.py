"""The S/MIME layers of a message, as facts the rules read.

For each CMS object (the signature part of a multipart/signed, or an
application/pkcs7-mime part) this records what it holds: for SignedData its
signers, their algorithms, signed attributes and whether each signature
verifies over the exact bytes received; for (Auth)EnvelopedData its cipher,
its RecipientInfos and, when a key is given, the decrypted content, which is
parsed as a child part so the inner layers are checked too. Nothing here
raises on bad input: what cannot be read is noted in `error`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from asn1crypto import cms, core
from asn1crypto import x509 as asn1_x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import dsa, padding, rsa

from conformance.check.certs import key_facts
from conformance.check.tree import MAX_DEPTH, Node, parse_node
from conformance.core.mime import canonicalize
from conformance.smime import algorithms as alg
from conformance.smime import cms_read
from conformance.smime.options import ReceiveOptions
from conformance.smime.read_errors import ReadError
from conformance.status import Algorithms, ErrorCode
from conformance.token.base import PrivateKeyHandle

UNSUPPORTED = ErrorCode.UNSUPPORTED_ALGORITHM
ID_DATA = "1.2.840.113549.1.7.1"
SIGNED_DATA = "1.2.840.113549.1.7.2"
ENVELOPED_DATA = "1.2.840.113549.1.7.3"
AUTH_ENVELOPED_DATA = "1.2.840.113549.1.9.16.1.23"
_CONTENT_TYPE_ATTR = "1.2.840.113549.1.9.3"
_MESSAGE_DIGEST_ATTR = "1.2.840.113549.1.9.4"
_SIGNING_TIME_ATTR = "1.2.840.113549.1.9.5"
PKCS7_MIME = ("application/pkcs7-mime", "application/x-pkcs7-mime")
PKCS7_SIGNATURE = ("application/pkcs7-signature", "application/x-pkcs7-signature")
_ERRORS = (ValueError, TypeError, KeyError, IndexError, OverflowError, RecursionError)


def _short(exc: object) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


@dataclass
class SignerFacts:
    index: int
    sid: str
    digest: str  # option name (sha256) or the OID when unknown
    digest_known: bool
    signature: str  # rsa-pkcs1v15, rsa-pss, or the OID
    signature_info: alg.SignatureInfo | None
    certificate: asn1_x509.Certificate | None = None
    has_signed_attributes: bool = False
    content_type_attr: list[str] = field(default_factory=list)  # dotted values
    message_digest_attr: list[bytes] = field(default_factory=list)
    signing_time: datetime | None = None
    message_digest_ok: bool | None = None
    signature_ok: bool | None = None
    signature_error: str | None = None


@dataclass
class SignedFacts:
    detached: bool
    econtent_type: str
    content: bytes | None  # what was signed, as received
    certificates: list[asn1_x509.Certificate]
    digest_algorithms: list[str]
    signers: list[SignerFacts]


@dataclass
class RecipientFacts:
    kind: str  # ktri, kari, kekri, pwri, ori
    rid: str
    key_transport: str | None  # option name, or the OID when unknown
    known: bool
    rid_value: cms.RecipientIdentifier | None


@dataclass
class EnvelopeFacts:
    aead: bool
    cipher: str  # option name or OID
    cipher_known: bool
    recipients: list[RecipientFacts]
    decrypted: bool | None = None  # None: no key given
    decrypt_error: str | None = None
    decrypt_note: str | None = None  # e.g. the token lacked a mechanism, software key used


@dataclass
class CmsLayer:
    """One CMS object and the MIME part that carries it."""

    part: Node  # the part whose body is the CMS object
    container: Node  # the part the layer is about: the multipart/signed, or the pkcs7-mime part
    content_type: str  # dotted, or "" when the CMS does not parse
    error: str | None = None
    signed: SignedFacts | None = None
    envelope: EnvelopeFacts | None = None
    inner: Node | None = None

    @property
    def name(self) -> str:
        return cms_read.layer_name(self.content_type) if self.content_type else "unreadable CMS"


def _describe_rid(rid: cms.SignerIdentifier | cms.RecipientIdentifier) -> str:
    if rid.name == "subject_key_identifier":
        return f"subject key identifier {bytes(rid.chosen.native).hex()}"
    ias = rid.chosen
    return f"issuer {ias['issuer'].human_friendly}, serial {ias['serial_number'].native:#x}"


def matches(
    rid: cms.SignerIdentifier | cms.RecipientIdentifier, cert: asn1_x509.Certificate
) -> bool:
    try:
        if rid.name == "subject_key_identifier":
            ski = cert.key_identifier_value
            return ski is not None and hmac.compare_digest(
                bytes(ski.native), bytes(rid.chosen.native)
            )
        ias = rid.chosen
        if cert.serial_number != ias["serial_number"].native:
            return False
        return bool(cert.issuer.dump() == ias["issuer"].dump() or cert.issuer == ias["issuer"])
    except _ERRORS:
        return False


def is_cms_part(node: Node) -> bool:
    if node.content_type in PKCS7_MIME:
        return True
    if node.content_type == "application/octet-stream":
        name = node.param("name") or node.param("filename", "content-disposition") or ""
        return name.lower().endswith(".p7m")
    return False


@dataclass
class LayerReader:
    """Walks the tree, reading every CMS layer; decrypts with `key` when given."""

    key: PrivateKeyHandle | None
    key_error: str | None
    extra_certificates: list[asn1_x509.Certificate]
    # The same key in software, for what the token cannot do (SoftHSM 2.6 lacks OAEP-SHA256):
    # a limit of the checker's token is no finding about the message.
    fallback: Callable[[], PrivateKeyHandle | None] = lambda: None
    layers: list[CmsLayer] = field(default_factory=list)
    parts: list[int] = field(default_factory=lambda: [0])

    def read(self, node: Node) -> None:
        if node.content_type == "multipart/signed" and len(node.children) >= 2:
            self._detached(node)
        elif is_cms_part(node) and not node.children:
            self._opaque(node)
        for child in list(node.children):
            self.read(child)

    def _load(self, part: Node, container: Node) -> tuple[CmsLayer, core.Asn1Value | None]:
        layer = CmsLayer(part, container, "")
        self.layers.append(layer)
        der = part.decoded()
        if der is None:
            layer.error = f"the body does not decode ({part.decode_error()})"
            return layer, None
        if not der:
            layer.error = "empty CMS object"
            return layer, None
        try:
            info = cms.ContentInfo.load(der, strict=False)
            layer.content_type = info["content_type"].dotted
            content = info["content"]
            if content is None or isinstance(content, core.Void):
                layer.error = f"ContentInfo of type {layer.name} has no content"
                return layer, None
            _ = len(content) if layer.content_type != ID_DATA else content.native
        except _ERRORS as exc:
            layer.error = f"not a CMS ContentInfo: {_short(exc)}"
            return layer, None
        return layer, content

    def _detached(self, node: Node) -> None:
        signature = node.children[1]
        layer, content = self._load(signature, node)
        if content is None or layer.content_type != SIGNED_DATA:
            if content is not None:
                layer.error = f"the signature part holds {layer.name}, not signed-data"
            return
        # The signature is over the signed part in canonical form (RFC 8551 3.1.1, RFC 1847
        # 2.1): bare LFs count as CRLF, as the receiver counts them; MIME-001 reports them.
        self._signed(layer, content, canonicalize(node.children[0].raw))

    def _opaque(self, node: Node) -> None:
        layer, content = self._load(node, node)
        if content is None:
            return
        inner: bytes | None = None
        if layer.content_type == SIGNED_DATA:
            self._signed(layer, content, None)
            if layer.signed is not None and layer.signed.econtent_type == ID_DATA:
                inner = layer.signed.content
        elif layer.content_type in (ENVELOPED_DATA, AUTH_ENVELOPED_DATA):
            inner = self._envelope(layer, content)
        elif layer.content_type == ID_DATA:
            try:
                inner = cms_read.octets(content)
            except _ERRORS as exc:
                layer.error = f"data content does not parse: {_short(exc)}"
        if inner is not None and node.depth < MAX_DEPTH:
            child = parse_node(inner, f"{node.path}.1", layer.name, node.depth + 1, self.parts)
            node.children.append(child)
            layer.inner = child

    # --- SignedData -----------------------------------------------------------------

    def _signed(self, layer: CmsLayer, content: core.Asn1Value, detached: bytes | None) -> None:
        if not isinstance(content, cms.SignedData):
            layer.error = "content is not a SignedData"
            return
        try:
            encap = content["encap_content_info"]
            econtent_type = encap["content_type"].dotted
            econtent = encap["content"]
            embedded = (
                None
                if econtent is None or isinstance(econtent, core.Void)
                else cms_read.octets(econtent)
            )
            certificates = [
                c.chosen for c in (content["certificates"] or []) if c.name == "certificate"
            ]
            digests = [d["algorithm"].dotted for d in content["digest_algorithms"]]
            signer_infos = list(content["signer_infos"])
        except _ERRORS as exc:
            layer.error = f"SignedData does not parse: {_short(exc)}"
            return
        signed_content = detached if detached is not None else embedded
        facts = SignedFacts(
            detached=detached is not None,
            econtent_type=econtent_type,
            content=signed_content,
            certificates=certificates,
            digest_algorithms=digests,
            signers=[],
        )
        layer.signed = facts
        pool = [*certificates, *self.extra_certificates]
        for index, signer_info in enumerate(signer_infos, start=1):
            try:
                facts.signers.append(self._signer(index, signer_info, facts, pool))
            except _ERRORS as exc:
                layer.error = f"signer {index}: SignerInfo does not parse: {_short(exc)}"

    def _signer(
        self,
        index: int,
        info: cms.SignerInfo,
        facts: SignedFacts,
        pool: list[asn1_x509.Certificate],
    ) -> SignerFacts:
        sid = info["sid"]
        digest_oid = info["digest_algorithm"]["algorithm"].dotted
        digest = alg.digest_name_from_oid(digest_oid)
        sig_info: alg.SignatureInfo | None = None
        signature_name: str
        try:
            sig_info = alg.signature_from_algorithm(info["signature_algorithm"])
            signature_name = sig_info.algorithm
        except alg.UnsupportedAlgorithm as exc:
            signature_name = exc.oid
        signer = SignerFacts(
            index=index,
            sid=_describe_rid(sid),
            digest=digest or digest_oid,
            digest_known=digest is not None,
            signature=signature_name,
            signature_info=sig_info,
        )
        signer.certificate = next((c for c in pool if matches(sid, c)), None)
        attrs_value = info["signed_attrs"]
        has_attrs = attrs_value is not None and not isinstance(attrs_value, core.Void)
        signer.has_signed_attributes = has_attrs
        attrs = list(attrs_value) if has_attrs else []
        for attr in attrs:
            oid = attr["type"].dotted
            values = list(attr["values"])
            if oid == _CONTENT_TYPE_ATTR:
                signer.content_type_attr.extend(v.dotted for v in values)
            elif oid == _MESSAGE_DIGEST_ATTR:
                signer.message_digest_attr.extend(bytes(v.native) for v in values)
            elif oid == _SIGNING_TIME_ATTR and values:
                moment = values[0].native
                signer.signing_time = moment if isinstance(moment, datetime) else None
        content = facts.content
        if content is None:
            signer.signature_error = "no content to verify (detached signature without content)"
            return signer
        if digest is None:
            signer.signature_error = f"unknown digest algorithm {digest_oid}"
            return signer
        if has_attrs and signer.message_digest_attr:
            computed = hashlib.new(digest, content).digest()
            signer.message_digest_ok = any(
                hmac.compare_digest(computed, v) for v in signer.message_digest_attr
            )
        signed_bytes = cms_read.der_set(attrs_value.contents) if has_attrs else content
        signature = bytes(info["signature"].native)
        if signer.signature in cms_read._DSA_SIGNATURES:
            signer.signature_ok, signer.signature_error = _verify_dsa(
                signer, pool, signature, signed_bytes, digest
            )
            return signer
        signer.signature_ok, signer.signature_error = self._verify(
            signer, signature, signed_bytes, digest
        )
        return signer

    @staticmethod
    def _verify(
        signer: SignerFacts, signature: bytes, data: bytes, digest: str
    ) -> tuple[bool | None, str | None]:
        if signer.certificate is None:
            return None, "the signer's certificate is not in the message"
        if signer.signature_info is None:
            return None, f"unknown signature algorithm {signer.signature}"
        facts = key_facts(signer.certificate)
        key = facts.public_key
        if not isinstance(key, rsa.RSAPublicKey):
            return None, facts.error or "the signer's key is not an RSA key"
        info = signer.signature_info
        hash_name = info.digest or digest
        try:
            hash_algorithm = alg.hash_algorithm(hash_name)  # type: ignore[arg-type]
            pad: padding.AsymmetricPadding
            if info.algorithm == "rsa-pss":
                mgf = alg.hash_algorithm(info.mgf_digest or hash_name)  # type: ignore[arg-type]
                pad = padding.PSS(mgf=padding.MGF1(mgf), salt_length=info.salt_length or 0)
            else:
                pad = padding.PKCS1v15()
            key.verify(signature, data, pad, hash_algorithm)
        except InvalidSignature:
            return False, "the signature does not verify with the signer's key"
        except (alg.UnsupportedAlgorithm, ValueError, TypeError) as exc:
            return None, f"cannot verify: {_short(exc)}"
        return True, None

    # --- EnvelopedData --------------------------------------------------------------

    def _envelope(self, layer: CmsLayer, content: core.Asn1Value) -> bytes | None:
        aead = isinstance(content, cms.AuthEnvelopedData)
        if not aead and not isinstance(content, cms.EnvelopedData):
            layer.error = "content is not an EnvelopedData"
            return None
        try:
            info = content["auth_encrypted_content_info" if aead else "encrypted_content_info"]
            cipher_algorithm = info["content_encryption_algorithm"]
            cipher_oid = cipher_algorithm["algorithm"].dotted
            recipient_infos = list(content["recipient_infos"])
        except _ERRORS as exc:
            layer.error = f"EnvelopedData does not parse: {_short(exc)}"
            return None
        cipher: str
        known: bool
        try:
            cipher, known = alg.content_cipher_from_algorithm(cipher_algorithm), True
        except alg.UnsupportedAlgorithm as exc:
            cipher, known = (exc.oid + (f" ({exc.detail})" if exc.detail else "")), False
        except _ERRORS as exc:
            cipher, known = f"{cipher_oid} (bad parameters: {_short(exc)})", False
        envelope = EnvelopeFacts(aead, cipher, known, [])
        layer.envelope = envelope
        for recipient in recipient_infos:
            try:
                envelope.recipients.append(self._recipient(recipient))
            except _ERRORS as exc:
                layer.error = f"RecipientInfo does not parse: {_short(exc)}"
        if self.key is None:
            if self.key_error is not None:
                envelope.decrypted = False
                envelope.decrypt_error = self.key_error
            return None
        try:
            decrypted = self._decrypt(content, layer.part.path, self.key)
        except Exception as exc:  # ReadError, token errors: the reason is the finding
            first = _short(getattr(exc, "message", exc))
            software = self.fallback() if getattr(exc, "code", None) == UNSUPPORTED else None
            if software is None:
                envelope.decrypted = False
                envelope.decrypt_error = first
                return None
            try:
                decrypted = self._decrypt(content, layer.part.path, software)
            except Exception as retry:
                envelope.decrypted = False
                envelope.decrypt_error = _short(getattr(retry, "message", retry))
                return None
            envelope.decrypt_note = f"the token refused ({first}); decrypted with the software key"
        envelope.decrypted = True
        return decrypted.content

    @staticmethod
    def _decrypt(content: core.Asn1Value, where: str, key: PrivateKeyHandle) -> cms_read.Decrypted:
        return cms_read.decrypt_enveloped(
            content, where, keys=[key], options=ReceiveOptions(), found=Algorithms()
        )

    @staticmethod
    def _recipient(recipient: cms.RecipientInfo) -> RecipientFacts:
        if recipient.name != "ktri":
            return RecipientFacts(recipient.name, "(not key transport)", None, False, None)
        ktri = recipient.chosen
        rid = ktri["rid"]
        transport: str
        try:
            transport, known = (
                alg.key_transport_from_algorithm(ktri["key_encryption_algorithm"]),
                True,
            )
        except alg.UnsupportedAlgorithm as exc:
            transport, known = exc.oid + (f" ({exc.detail})" if exc.detail else ""), False
        return RecipientFacts("ktri", _describe_rid(rid), transport, known, rid)


def _verify_dsa(
    signer: SignerFacts,
    pool: list[asn1_x509.Certificate],
    signature: bytes,
    data: bytes,
    digest: str,
) -> tuple[bool | None, str | None]:
    """A DSA signature (RFC 3370 3.1, the RFC 4134 examples), verified as the receiver does:
    with the engine's key reading, which takes DSA parameters inherited from the issuer
    (RFC 3279 2.3.2), so that CMS-009 and the receiver give the same verdict."""
    if signer.certificate is None:
        return None, "the signer's certificate is not in the message"
    hash_name = cms_read._DSA_SIGNATURES[signer.signature] or digest
    try:
        key = cms_read._public_key(signer.certificate, cms_read.CertificatePool(pool), "signer")
    except ReadError as exc:
        return None, exc.message
    if not isinstance(key, dsa.DSAPublicKey):
        return None, "DSA signature but the signer's key is not a DSA key"
    try:
        key.verify(signature, data, alg.hash_algorithm(hash_name))  # type: ignore[arg-type]
    except InvalidSignature:
        return False, "the signature does not verify with the signer's key"
    except (alg.UnsupportedAlgorithm, ValueError, TypeError) as exc:
        return None, f"cannot verify: {_short(exc)}"
    return True, None
