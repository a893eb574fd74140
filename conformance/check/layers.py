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
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from asn1crypto import algos
from asn1crypto import x509 as asn1_x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import dsa, rsa

from conformance.check.certs import key_facts, unparsed
from conformance.check.i18n import (
    cms_error_text,
    decryption_text,
    identifier_text,
    refusal_text,
    unsupported_text,
)
from conformance.check.tree import MAX_DEPTH, RECEIVER_LIMITS, Node, parse_node
from conformance.core import certificates, oids
from conformance.core.bilingual import Bilingual
from conformance.core.cms import (
    PARSE_ERRORS,
    CmsError,
    ContentInfo,
    DataParts,
    EnvelopedParts,
    Identifier,
    Parts,
    RecipientParts,
    SignedParts,
    SignerParts,
    content_type,
    layer_name,
    parse,
    signing_time,
)
from conformance.core.spool import Region, Spool
from conformance.core.vocabulary import Digest
from conformance.smime import algorithms as alg
from conformance.smime import cms_read
from conformance.smime.ciphers import DecryptionError
from conformance.smime.options import ReceiveOptions
from conformance.smime.read_errors import Budget, ReadError
from conformance.status import Algorithms, ErrorCode
from conformance.token.base import PrivateKeyHandle, UnsupportedMechanism

__all__ = [
    "PKCS7_MIME",
    "PKCS7_SIGNATURE",
    "CmsLayer",
    "EnvelopeFacts",
    "LayerReader",
    "RecipientFacts",
    "SignedFacts",
    "SignerFacts",
    "is_cms_part",
    "matches",
]

UNSUPPORTED = ErrorCode.UNSUPPORTED_ALGORITHM
PKCS7_MIME = ("application/pkcs7-mime", "application/x-pkcs7-mime")
PKCS7_SIGNATURE = ("application/pkcs7-signature", "application/x-pkcs7-signature")


def _short(exc: object) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


# Why a signature was not verified, or did not verify (CMS-004, CMS-009).
_NO_CERTIFICATE = Bilingual(
    "le certificat du signataire n'est pas dans le message",
    "the signer's certificate is not in the message",
)
_DOES_NOT_VERIFY = Bilingual(
    "la signature ne se vérifie pas avec la clé du signataire",
    "the signature does not verify with the signer's key",
)


def _does_not_verify(key: object, signature: bytes) -> Bilingual:
    """CMS-009's words for a signature that does not verify, its length named when that is
    already why (cms_read.wrong_length)."""
    wrong = cms_read.wrong_length(key, signature)
    if wrong is None:
        return _DOES_NOT_VERIFY
    n, size = wrong.octets, wrong.modulus_octets
    zero_fr, zero_en = (
        (" dont un zéro en tête", " with a leading zero octet") if wrong.leading_zero else ("", "")
    )
    return _DOES_NOT_VERIFY + Bilingual(
        f" : la signature fait {n} octets{zero_fr}, et non les {size} du module de la clé "
        "(RFC 8017 8.2.2, étape 1)",
        f": the signature value is {n} octets{zero_en}, not the {size} of the key's modulus "
        "(RFC 8017 8.2.2 step 1)",
    )


def _cannot_verify(exc: object) -> Bilingual:
    said = _short(exc)
    return Bilingual(f"vérification impossible : « {said} »", f"cannot verify: {said}")


def _quoted(text: str) -> Bilingual:
    """A lower layer's English message: as it is in English, in « » in French."""
    return Bilingual(f"« {text} »", text)


@dataclass
class SignerFacts:
    index: int
    sid: Bilingual
    digest: str  # option name (sha256) or the OID when unknown
    digest_known: bool
    signature: str  # rsa-pkcs1v15, rsa-pss, or the OID
    signature_info: alg.SignatureInfo | None
    certificate: asn1_x509.Certificate | None = None
    has_signed_attributes: bool = False
    content_type_attr: list[str] = field(default_factory=list)  # dotted values
    message_digest_attr: list[bytes] = field(default_factory=list)
    signing_time: datetime | None = None
    # each signing-time attribute's values as written (DER Times): CMS-006 says why one
    # gives no date
    signing_times: tuple[tuple[bytes, ...], ...] = ()
    message_digest_ok: bool | None = None
    signature_ok: bool | None = None
    signature_error: Bilingual | None = None


@dataclass
class SignedFacts:
    detached: bool
    econtent_type: str
    content: bytes | memoryview | None  # what was signed, as received (read in place)
    certificates: list[asn1_x509.Certificate]
    digest_algorithms: list[str]
    signers: list[SignerFacts]


@dataclass
class RecipientFacts:
    kind: str  # ktri, kari, kekri, pwri, ori
    rid: Bilingual
    key_transport: str | None  # option name, or the OID when unknown (and why, in English)
    known: bool
    rid_value: Identifier | None
    transport_problem: Bilingual | None = None  # `key_transport` in both languages, if not a name

    @property
    def transport_text(self) -> Bilingual | None:
        """The key transport as a person reads it: its name, or its OID and why unsupported."""
        if self.transport_problem is not None or not self.key_transport:
            return self.transport_problem
        return Bilingual.same(self.key_transport)


@dataclass
class EnvelopeFacts:
    aead: bool
    cipher: str  # option name or OID (and what is wrong with it, in English)
    cipher_known: bool
    recipients: list[RecipientFacts]
    decrypted: bool | None = None  # None: no key given, or it could not be opened
    decrypt_failure: Bilingual | None = None  # why it did not decrypt
    # why the identity's key could not be opened (the suite's setup, not the message):
    # the envelope is then not checked
    key_unusable: Bilingual | None = None
    decrypt_note: Bilingual | None = None  # e.g. the token lacked a mechanism, software key used
    cipher_problem: Bilingual | None = None  # `cipher` in both languages, when not a name alone

    @property
    def cipher_text(self) -> Bilingual:
        """The cipher as a person reads it: its name, or its OID and what is wrong with it."""
        return self.cipher_problem or Bilingual.same(self.cipher)


@dataclass
class CmsLayer:
    """One CMS object and the MIME part that carries it."""

    part: Node  # the part whose body is the CMS object
    container: Node  # the part the layer is about: the multipart/signed, or the pkcs7-mime part
    content_type: str  # dotted, or "" when the CMS does not parse
    error: Bilingual | None = None  # why it could not be read (the JSON summary: English)
    signed: SignedFacts | None = None
    envelope: EnvelopeFacts | None = None
    inner: Node | None = None
    trailing: int = 0  # octets after the ContentInfo (core.cms.ContentInfo.trailing)
    too_deep: bool = False  # a content past the nesting limit, not examined (MIME-004)

    @property
    def name(self) -> str:
        return layer_name(self.content_type) if self.content_type else "unreadable CMS"


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
    key_error: Bilingual | None
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

    def _load(
        self, part: Node, container: Node, spooled: bool = False
    ) -> tuple[CmsLayer, Parts, Region | None]:
        """The layer of the CMS object `part` carries, and its parts; with `spooled`, a large
        EnvelopedData's encryptedContent left in a spool (`_parse`), the caller's to close."""
        layer = CmsLayer(part, container, "")
        self.layers.append(layer)
        der = part.decoded()
        if der is None:
            why = part.decode_error() or Bilingual.same("?")
            layer.error = (
                Bilingual("le corps ne se décode pas (", "the body does not decode (")
                + why
                + Bilingual.same(")")
            )
            return layer, None, None
        try:
            info, large = _parse(der, spooled)
        except CmsError as exc:
            fault = cms_error_text(exc)
            if not exc.where:
                layer.error = fault
            elif exc.where == "ContentInfo":
                layer.error = Bilingual("pas un ContentInfo CMS : ", "not a CMS ContentInfo: ")
                layer.error += fault
            else:  # a structure's ASN.1 name, or the SignerInfo's number ("signer 1")
                place = exc.where if exc.signer is None else f"SignerInfo {exc.signer}"
                where = Bilingual(f"{place} ne s'analyse pas : ", f"{exc.where} does not parse: ")
                layer.error = where + fault
            return layer, None, None
        layer.content_type = info.content_type
        layer.trailing = info.trailing
        return layer, info.content, large

    def _detached(self, node: Node) -> None:
        signature = node.children[1]
        layer, content, _ = self._load(signature, node)
        if layer.error is not None:
            return
        if not isinstance(content, SignedParts):
            layer.error = Bilingual(
                f"la partie signature contient {layer.name}, pas signed-data",
                f"the signature part holds {layer.name}, not signed-data",
            )
            return
        # The signature is over the signed part in canonical form (RFC 8551 3.1.1, RFC 1847
        # 2.1): bare LFs count as CRLF, as the receiver counts them; MIME-001 reports them.
        self._signed(layer, content, node.children[0].canonical())

    def _opaque(self, node: Node) -> None:
        # Spooled only for a key to decrypt with: without one, nothing is read past the parts.
        layer, content, large = self._load(node, node, spooled=self.key is not None)
        inner: bytes | None = None
        if isinstance(content, SignedParts):
            self._signed(layer, content, None)
            if layer.signed is not None and layer.signed.econtent_type == oids.DATA:
                inner = content.content  # the encapsulated content, as `layer.signed` holds it
        elif isinstance(content, EnvelopedParts):
            try:
                inner = self._envelope(layer, content, large)
            finally:
                if large is not None:
                    large.spool.close()
        elif isinstance(content, DataParts):
            inner = content.content
        if inner is not None and node.depth >= MAX_DEPTH:
            layer.too_deep = True
        elif inner is not None:
            child = parse_node(inner, f"{node.path}.1", layer.name, node.depth + 1, self.parts)
            node.children.append(child)
            layer.inner = child

    # --- SignedData -----------------------------------------------------------------

    def _signed(
        self, layer: CmsLayer, content: SignedParts, detached: bytes | memoryview | None
    ) -> None:
        for index, der in enumerate(content.certificates, start=1):
            # As the receiver: a carried certificate that does not parse in full
            # makes the SignedData unreadable (every rule would read its fields).
            problem = certificates.parse_problem(der)
            if problem is not None:
                layer.error = unparsed(
                    f"le certificat {index}", f"certificate {index}", problem[:200]
                )
                return
        try:
            certs = [certificates.load_certificate(c) for c in content.certificates]
        except PARSE_ERRORS as exc:
            layer.error = unparsed("SignedData", "SignedData", _short(exc))
            return
        facts = SignedFacts(
            detached=detached is not None,
            econtent_type=content.content_type,
            content=detached if detached is not None else content.content,
            certificates=certs,
            digest_algorithms=list(content.digest_algorithms),
            signers=[],
        )
        layer.signed = facts
        pool = [*certs, *self.extra_certificates]
        for index, signer_info in enumerate(content.signers, start=1):
            try:
                facts.signers.append(self._signer(index, signer_info, facts, pool))
            except PARSE_ERRORS as exc:
                layer.error = unparsed(
                    f"signataire {index} : SignerInfo", f"signer {index}: SignerInfo", _short(exc)
                )

    def _signer(
        self,
        index: int,
        info: SignerParts,
        facts: SignedFacts,
        pool: list[asn1_x509.Certificate],
    ) -> SignerFacts:
        digest = alg.digest_name_from_oid(info.digest_oid)
        sig_info: alg.SignatureInfo | None = None
        signature_name: str
        try:
            sig_info = cms_read.signature_info(info.signature_algorithm)
            signature_name = sig_info.algorithm
        except alg.UnsupportedAlgorithm as exc:
            signature_name = exc.oid
        except PARSE_ERRORS:
            signature_name = info.signature_oid
        signer = SignerFacts(
            index=index,
            sid=identifier_text(info.sid),
            digest=digest or info.digest_oid,
            digest_known=digest is not None,
            signature=signature_name,
            signature_info=sig_info,
        )
        signer.certificate = next((c for c in pool if matches(info.sid, c)), None)
        has_attrs = info.signed_attrs is not None
        signer.has_signed_attributes = has_attrs
        for values in info.content_types:
            signer.content_type_attr.extend(values)
        for digests in info.message_digests:
            signer.message_digest_attr.extend(digests)
        signer.signing_times = info.signing_times
        if info.signing_times and info.signing_times[0]:
            signer.signing_time = signing_time(info.signing_times[0][0])
        content = facts.content
        if content is None:
            signer.signature_error = Bilingual(
                "aucun contenu à vérifier (signature détachée sans son contenu)",
                "no content to verify (detached signature without content)",
            )
            return signer
        if digest is None:
            signer.signature_error = Bilingual(
                f"algorithme de condensé inconnu {oids.shown(info.digest_oid)}",
                f"unknown digest algorithm {oids.shown(info.digest_oid)}",
            )
            return signer
        if has_attrs and signer.message_digest_attr:
            computed = hashlib.new(digest, content).digest()
            signer.message_digest_ok = any(
                hmac.compare_digest(computed, v) for v in signer.message_digest_attr
            )
        # Without signed attributes the signature is over the content itself (copied here
        # when it was read in place: such signers are rare and their contents small).
        signed_bytes = cms_read.der_set(info.signed_attrs or b"") if has_attrs else bytes(content)
        if signer.signature in cms_read.DSA_SIGNATURES:
            signer.signature_ok, signer.signature_error = _verify_dsa(
                signer, pool, info.signature, signed_bytes, digest
            )
            return signer
        signer.signature_ok, signer.signature_error = self._verify(
            signer, info.signature, signed_bytes, digest
        )
        return signer

    @staticmethod
    def _verify(
        signer: SignerFacts, signature: bytes, data: bytes, digest: Digest
    ) -> tuple[bool | None, Bilingual | None]:
        if signer.certificate is None:
            return None, _NO_CERTIFICATE
        if signer.signature_info is None:
            name = oids.shown(signer.signature)
            return None, Bilingual(
                f"algorithme de signature inconnu {name}", f"unknown signature algorithm {name}"
            )
        facts = key_facts(signer.certificate)
        key = facts.public_key
        if not isinstance(key, rsa.RSAPublicKey):
            if facts.error:
                return None, facts.error
            return None, Bilingual(
                "la clé du signataire n'est pas une clé RSA", "the signer's key is not an RSA key"
            )
        try:
            cms_read.verify_signature(key, signer.signature_info, digest, signature, data)
        except InvalidSignature:
            return False, _does_not_verify(key, signature)
        except (alg.UnsupportedAlgorithm, ValueError, TypeError) as exc:
            return None, _cannot_verify(exc)
        return True, None

    # --- EnvelopedData --------------------------------------------------------------

    def _envelope(
        self, layer: CmsLayer, content: EnvelopedParts, large: Region | None
    ) -> bytes | None:
        cipher: str
        known: bool
        problem: Bilingual | None = None
        try:
            algorithm = algos.EncryptionAlgorithm.load(content.cipher_algorithm)
            cipher, known = alg.content_cipher_from_algorithm(algorithm), True
        except alg.UnsupportedAlgorithm as exc:
            problem = _unsupported(exc)
            cipher, known = problem.en, False
        except PARSE_ERRORS as exc:
            oid, said = oids.shown(content.cipher_oid), _short(exc)
            cipher, known = f"{oid} (bad parameters: {said})", False
            problem = Bilingual(f"{oid} (paramètres incorrects : « {said} »)", cipher)
        envelope = EnvelopeFacts(content.aead, cipher, known, [], cipher_problem=problem)
        layer.envelope = envelope
        for recipient in content.recipients:
            try:
                envelope.recipients.append(self._recipient(recipient))
            except PARSE_ERRORS as exc:
                layer.error = unparsed("RecipientInfo", "RecipientInfo", _short(exc))
        if self.key is None:
            envelope.key_unusable = self.key_error
            return None
        try:
            decrypted = self._decrypt(layer, content, large, self.key)
        except Exception as exc:  # ReadError, token errors: the reason is the finding
            first = _not_decrypted(exc, envelope, content, self.key)
            software = self.fallback() if getattr(exc, "code", None) == UNSUPPORTED else None
            if software is None:
                envelope.decrypted = False
                envelope.decrypt_failure = first
                return None
            try:
                decrypted = self._decrypt(layer, content, large, software)
            except Exception as retry:
                envelope.decrypted = False
                envelope.decrypt_failure = _not_decrypted(retry, envelope, content, software)
                return None
            envelope.decrypt_note = (
                Bilingual("le jeton a refusé (", "the token refused (")
                + first
                + Bilingual(
                    ") ; déchiffré avec la clé logicielle", "); decrypted with the software key"
                )
            )
        envelope.decrypted = True
        return decrypted

    @staticmethod
    def _decrypt(
        layer: CmsLayer, content: Parts, large: Region | None, key: PrivateKeyHandle
    ) -> bytes:
        """The plaintext, or the receiver's exception saying why there is none."""
        where = layer.part.path
        if large is not None:
            try:
                return _held(_decrypted(content, where, key, large))
            except OSError:  # not about the message (a spool not written): read in memory
                content = parse(layer.part.decoded() or b"").content
        return _decrypted(content, where, key, None).content

    @staticmethod
    def _recipient(recipient: RecipientParts) -> RecipientFacts:
        if recipient.rid is None:
            rid = Bilingual("(pas un transport de clé)", "(not key transport)")
            return RecipientFacts(recipient.name, rid, None, False, None)
        transport: str
        problem: Bilingual | None = None
        try:
            transport, known = cms_read.key_transport_of(recipient.key_algorithm), True
        except alg.UnsupportedAlgorithm as exc:
            problem = _unsupported(exc)
            transport, known = problem.en, False
        return RecipientFacts(
            "ktri", identifier_text(recipient.rid), transport, known, recipient.rid, problem
        )


def _parse(der: bytes, spooled: bool) -> tuple[ContentInfo, Region | None]:
    """`core.cms.parse`; with `spooled`, an EnvelopedData over the receiver's
    `spool_above_bytes` read as the receiver reads a large message (smime.receive_spooled,
    `cms_read.read_content_info_spooled`: the same parts, but its encryptedContent left in a
    spool, then decrypted chunk by chunk into another), so that neither the ciphertext nor
    the plaintext is copied whole once more (an imaging report). What that reading does not
    take is read in memory, which words any fault; another content type is read in memory
    from the start."""
    limits = RECEIVER_LIMITS
    if (
        not spooled
        or len(der) <= limits.spool_above_bytes
        or content_type(der) not in (oids.ENVELOPED_DATA, oids.AUTH_ENVELOPED_DATA)
    ):
        return parse(der), None
    spool = Spool()
    try:
        spool.write(der)
        where, budget, part_bytes = "", Budget(limits), limits.spool_part_bytes
        info, large = cms_read.read_content_info_spooled(
            spool.seal().whole(), where, budget, part_bytes
        )
        if large is not None and isinstance(info.content, EnvelopedParts):
            return info, large
    except Exception:  # whatever it does not take is read in memory below, in its words
        pass
    spool.close()
    return parse(der), None


def _decrypted(
    content: Parts, where: str, key: PrivateKeyHandle, large: Region | None
) -> cms_read.Decrypted:
    return cms_read.decrypt_enveloped(
        content, where, keys=[key], options=ReceiveOptions(), found=Algorithms(), large=large
    )


def _held(decrypted: cms_read.Decrypted) -> bytes:
    """The plaintext; a spooled one read a chunk at a time (each chunk's pages given back),
    so that it is held once, then its spool removed."""
    region = decrypted.spooled
    if region is None:
        return decrypted.content
    try:
        held = io.BytesIO()
        region.feed(held.write)
        return held.getvalue()
    finally:
        region.spool.close()


def _unsupported(exc: alg.UnsupportedAlgorithm) -> Bilingual:
    """An unsupported algorithm's OID and what is not supported about it, in both languages
    (the English is what the JSON shows)."""
    if not exc.detail:
        return Bilingual.same(exc.oid)
    return Bilingual.same(f"{exc.oid} (") + unsupported_text(exc) + Bilingual.same(")")


def matches(sid: Identifier, cert: asn1_x509.Certificate) -> bool:
    """`core.certificates.matches`, False for a certificate too damaged to compare
    (the validator never raises)."""
    try:
        return certificates.matches(sid, cert)
    except PARSE_ERRORS:
        return False


def _verify_dsa(
    signer: SignerFacts,
    pool: list[asn1_x509.Certificate],
    signature: bytes,
    data: bytes,
    digest: str,
) -> tuple[bool | None, Bilingual | None]:
    """A DSA signature (RFC 3370 3.1, the RFC 4134 examples), verified as the receiver does:
    with the engine's key reading, which takes DSA parameters inherited from the issuer
    (RFC 3279 2.3.2), so that CMS-009 and the receiver give the same verdict."""
    if signer.certificate is None:
        return None, _NO_CERTIFICATE
    hash_name = cms_read.DSA_SIGNATURES[signer.signature] or digest
    try:
        key = cms_read.signer_public_key(
            signer.certificate, cms_read.CertificatePool(pool), "signer"
        )
    except ReadError as exc:
        return None, _unreadable_key(exc, signer.certificate)
    if not isinstance(key, dsa.DSAPublicKey):
        return None, Bilingual(
            "signature DSA mais la clé du signataire n'est pas une clé DSA",
            "DSA signature but the signer's key is not a DSA key",
        )
    try:
        key.verify(signature, data, alg.hash_algorithm(hash_name))  # type: ignore[arg-type]
    except InvalidSignature:
        return False, _DOES_NOT_VERIFY
    except (alg.UnsupportedAlgorithm, ValueError, TypeError) as exc:
        return None, _cannot_verify(exc)
    return True, None


def _unreadable_key(exc: ReadError, cert: asn1_x509.Certificate) -> Bilingual:
    """Why the receiver cannot read the signer's key, in both languages: its English message,
    and French from its code, the exception it came of (a library's words, quoted) and the
    certificate's key (a DSA key without parameters inherits them, RFC 3279 2.3.2)."""
    cause = exc.__cause__ or exc.__context__
    if exc.code == ErrorCode.MALFORMED and cause is not None:
        french = f"la clé publique du signataire ne s'analyse pas : « {_short(cause)} »"
    elif cause is not None:
        french = (
            f"l'algorithme de clé publique {oids.shown(key_facts(cert).algorithm_oid)} du "
            "signataire n'est pas "
            f"lisible : « {_short(cause)} »"
        )
    elif _inherits_parameters(cert):
        french = (
            "clé DSA sans paramètres et aucun certificat d'émetteur dont les hériter "
            "(RFC 3279 2.3.2)"
        )
    else:
        return _quoted(exc.message)
    return Bilingual(french, exc.message)


def _inherits_parameters(cert: asn1_x509.Certificate) -> bool:
    try:
        return certificates.key_info(certificates.loaded_der(cert)).inherits_parameters
    except PARSE_ERRORS:
        return False


_KINDS_FR = {
    "content-cipher": "de chiffrement du contenu",
    "key-transport": "de transport de clé",
    "digest": "de condensé",
    "signature": "de signature",
}
_UNDECRYPTABLE_FR = (
    "le déchiffrement avec la clé de l'identité échoue : la clé de contenu ne se déchiffre "
    "pas ou le contenu ne se déchiffre pas (bourrage RSA, longueur de clé, bourrage du "
    "contenu ou étiquette d'authentification : une seule réponse)"
)


def _not_decrypted(
    exc: BaseException, envelope: EnvelopeFacts, content: EnvelopedParts, key: PrivateKeyHandle
) -> Bilingual:
    """Why the envelope did not decrypt with `key`, in both languages: the receiver's English
    message (what the JSON shows), and French from its code, the exception it came of and the
    facts of the envelope, never from the English; a library's own words are quoted."""
    english = _short(getattr(exc, "message", exc))
    cause = exc.__cause__ or exc.__context__
    code = exc.code if isinstance(exc, ReadError) else None
    french: str
    if isinstance(cause, UnsupportedMechanism):
        french = refusal_text(cause).fr
    elif code == UNSUPPORTED and isinstance(cause, alg.UnsupportedAlgorithm):
        kind = _KINDS_FR.get(cause.kind, cause.kind)
        french = f"algorithme {kind} non pris en charge : {cause.oid}"
        if cause.detail:
            french += f" ({unsupported_text(cause).fr})"
    elif code == ErrorCode.CANNOT_DECRYPT and not _names_key(envelope, key):
        n = len(envelope.recipients)  # ENC-003 names them
        french = (
            f"pas pour cette identité : aucun des {n} destinataire(s) ne désigne son "
            "certificat de chiffrement"
        )
    elif code == ErrorCode.CANNOT_DECRYPT and isinstance(cause, DecryptionError):
        french = (
            f"le contenu chiffré ne convient pas à {envelope.cipher} : "
            f"{decryption_text(cause).fr} ; refusé avant tout usage de la clé"
        )
    elif code == ErrorCode.CANNOT_DECRYPT:
        french = _UNDECRYPTABLE_FR
    elif code == ErrorCode.MALFORMED and envelope.cipher_problem is not None:
        french = f"chiffrement du contenu : {envelope.cipher_problem.fr}"
    elif code == ErrorCode.MALFORMED and isinstance(cause, PARSE_ERRORS):
        french = f"l'enveloppe ne s'analyse pas : « {_short(cause)} »"
    elif code == ErrorCode.MALFORMED and content.ciphertext is None:
        french = "enveloppe sans contenu chiffré (un contenu détaché n'est pas lu)"
    else:  # a token's or a library's own exception: its words
        french = f"échec du déchiffrement : « {english} »"
    return Bilingual(french, english)


def _names_key(envelope: EnvelopeFacts, key: PrivateKeyHandle) -> bool:
    """Whether a RecipientInfo names the key's certificate (the receiver's "not for me")."""
    try:
        cert = certificates.asn1_certificate(key.certificate)
    except PARSE_ERRORS:
        return False
    return any(r.rid_value is not None and matches(r.rid_value, cert) for r in envelope.recipients)
