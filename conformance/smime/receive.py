"""The read side of the engine: from a received message to its content and security status.

`read_message` peels the S/MIME layers outside in (multipart/signed, opaque
signed-data, enveloped-data, authEnveloped-data, in any nesting), verifies
each signature over the exact bytes received, decrypts with the recipient's
token, validates signer chains, and sums it all up in a `Status`. It never
raises: every failure is a Status error code, a bug is INTERNAL.
"""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from asn1crypto import x509 as asn1_x509
from cryptography import x509

from conformance.core import certificates, mime, oids
from conformance.core.author import Author, author
from conformance.core.cms import ContentInfo, DataParts, Parts
from conformance.core.mime import Defect, DefectCode, Entity
from conformance.core.spool import Region
from conformance.core.vocabulary import DIGESTS
from conformance.smime import cms_read
from conformance.smime.algorithms import micalg_name
from conformance.smime.cms_read import CertificateDirectory, CertificatePool, check_accepted
from conformance.smime.options import Limits, MediaTypes, ReceiveOptions
from conformance.smime.read_errors import (
    Budget,
    ReadError,
    check_message_size,
    child_where,
    malformed,
    refuse_header_limit,
)
from conformance.smime.validate import ChainResult, validate_signer
from conformance.status import WHOLE_MESSAGE, ErrorCode, Signer, Status
from conformance.token.base import PrivateKeyHandle

__all__ = ["Reader", "read_message", "run_reader"]

_PKCS7_MIME = {"application/pkcs7-mime": "modern", "application/x-pkcs7-mime": "legacy"}
_PKCS7_SIGNATURE = {
    "application/pkcs7-signature": "modern",
    "application/x-pkcs7-signature": "legacy",
}
WHOLE = WHOLE_MESSAGE  # the coverage name of the whole message (docs/agent-cli.md, Coverage)
_MICALG_NAMES = frozenset(micalg_name(d) for d in DIGESTS)
# The structure defects the receiver refuses, in the order it names them.
_REFUSED: tuple[DefectCode, ...] = (
    "missing-boundary",
    "boundary-too-long",
    "parts-limit",
    "no-delimiter",
    "unterminated-multipart",
    "depth-limit",
)


@dataclass
class _Signature:
    """One signed layer: did all its signers verify, and do their chains hold."""

    valid: bool
    chain_valid: bool | None
    certificate: asn1_x509.Certificate | None
    scope: str = WHOLE  # what it covers: the whole message, or one part inside a multipart


@dataclass
class Reader:
    keys: Sequence[PrivateKeyHandle]
    trust: Sequence[x509.Certificate]
    crls: Sequence[x509.CertificateRevocationList]
    directory: CertificateDirectory | None
    options: ReceiveOptions
    limits: Limits
    validation_time: datetime | None
    intermediates: Sequence[x509.Certificate]
    status: Status
    budget: Budget = field(init=False)
    signatures: list[_Signature] = field(default_factory=list)
    aead_verified: bool = False
    written_by: Author = field(default_factory=lambda: author([]))  # "no From: field"
    _author_read: bool = False  # a header block with From: or Sender: was found
    scope: str = WHOLE  # the part the signatures being read cover

    def __post_init__(self) -> None:
        self.budget = Budget(self.limits)

    # --- entry ------------------------------------------------------------------------

    def read(self, message: bytes | Region) -> bytes | Region | None:
        check_message_size(len(message), self.limits, self.options)
        top = self._read_mime(message, "message", 0)
        refuse_header_limit(top, "message")
        if not top.has_headers:
            raise malformed(
                "message", "not an RFC 5322/MIME entity: the first line is not a header field"
            )
        if not top.header:
            raise malformed("message", "not an RFC 5322 message: no header fields")
        self._take_author(top)
        return self._entity(top, "message", 0)

    def _read_mime(self, data: bytes | Region, origin: str, depth: int) -> Entity:
        """The MIME tree of a message (counted), or of content found in a CMS layer.

        A header block broken by a line that is no field makes the entity a headerless
        body: content that is not a MIME entity is delivered as it is."""
        assert isinstance(data, bytes), "a Region is read by the spooled reader"
        return mime.read(
            data,
            origin=origin,
            depth=depth,
            limits=self.budget.mime_limits,
            count=self.budget.count,
            count_self=origin == "message",
            broken_header="body",
        )

    def _entity(self, entity: Entity, where: str, depth: int) -> bytes | Region | None:
        self.budget.check_depth(depth, where)
        ctype = entity.content_type
        if ctype == "multipart/signed":
            return self._multipart_signed(entity, where, depth)
        if ctype in _PKCS7_MIME or self._named_p7m(entity):
            return self._pkcs7_mime(entity, where, depth)
        self._check_structure(entity, where, depth)
        return self._content(entity)

    # --- where the bytes are (the spooled reader reads them from its spool) -------------

    def _content(self, entity: Entity) -> bytes | Region:
        """The entity's bytes as delivered."""
        return entity.raw

    def _signed_content(self, entity: Entity) -> cms_read.Content:
        """What a multipart/signed signature covers: the first part as the receiver
        canonicalises it (RFC 8551 3.1.1), or as its quirks do."""
        signed = entity.raw
        quirks = self.options.quirks
        if quirks.strip_trailing_whitespace:
            signed = mime.strip_trailing_whitespace(signed)
        return mime.to_lf(signed) if quirks.no_canonicalize else mime.canonicalize(signed)

    def _cms(self, entity: Entity, where: str) -> tuple[ContentInfo, Region | None]:
        """The CMS object a part carries, and its large string left in a spool (None)."""
        return cms_read.read_content_info(self._decode(entity, where), where, self.budget), None

    def _stream(self, region: Region) -> cms_read.StreamedContent:
        raise AssertionError(f"{region!r}: a Region is read by the spooled reader")

    def _named_p7m(self, entity: Entity) -> bool:
        """application/octet-stream named smime.p7m: what some old clients send."""
        if entity.content_type != "application/octet-stream":
            return False
        name = entity.param("name") or entity.param("filename", "content-disposition") or ""
        return name.lower().endswith(".p7m")

    def _media_type(self, entity: Entity, ctype: str) -> None:
        kind: MediaTypes = (
            "legacy"
            if ctype.startswith("application/x-") or ctype == "application/octet-stream"
            else "modern"
        )
        accepted = self.options.media_types
        if accepted is not None and kind not in accepted:
            raise ReadError(
                ErrorCode.UNSUPPORTED_ALGORITHM, f"receiver does not accept media type {ctype}"
            )

    def _check_structure(self, entity: Entity, where: str, depth: int) -> None:
        """Walk the content's multiparts so that hostile structure is refused (the reader
        bounded it: no part lies deeper than max_depth); a signed part found inside is
        verified for that part alone."""
        if not entity.is_multipart:
            return
        self._refuse_defects(entity, where)
        for index, child in enumerate(entity.children, start=1):
            child_name = child_where(where, index)
            if self._is_signed_part(child):
                self._signed_part(child, child_name, depth + 1)
            else:
                self._check_structure(child, child_name, depth + 1)

    @staticmethod
    def _is_signed_part(entity: Entity) -> bool:
        if entity.content_type == "multipart/signed":
            return True
        smime_type = (entity.param("smime-type") or "").lower()
        return entity.content_type in _PKCS7_MIME and smime_type == "signed-data"

    def _signed_part(self, entity: Entity, where: str, depth: int) -> None:
        """A signed part beside others (a multipart/mixed holding a signed letter and an
        unsigned part): its signatures cover that part only, never the whole message."""
        outer = self.scope
        self.scope = where if outer == WHOLE else outer
        try:
            self._entity(entity, where, depth)
        finally:
            self.scope = outer

    @staticmethod
    def _refuse_defects(entity: Entity, where: str) -> None:
        """MALFORMED for the first structure defect the receiver refuses; the limits name
        the part they stopped at."""
        for code in _REFUSED:
            defect: Defect | None = next((d for d in entity.structure if d.code == code), None)
            if defect is None:
                continue
            at = where
            if code == "parts-limit":
                at = child_where(where, len(entity.children) + 1)
            elif code == "depth-limit":
                at = child_where(where, 1)
            raise malformed(at, defect.message)

    @staticmethod
    def _decode(entity: Entity, where: str) -> bytes:
        """The body with its transfer encoding undone; a body that does not decode is
        MALFORMED."""
        decoding = entity.decoding
        if decoding.data is not None:
            return decoding.data
        assert decoding.defect is not None
        if decoding.defect.code == "bad-base64":
            raise malformed(where, f"bad base64 body ({decoding.defect.message})")
        raise malformed(where, decoding.defect.message)

    # --- multipart/signed -------------------------------------------------------------

    def _multipart_signed(self, entity: Entity, where: str, depth: int) -> bytes | Region | None:
        check_accepted("signature format", "multipart-signed", self.options.formats)
        self._refuse_defects(entity, where)
        parts = entity.children
        if len(parts) != 2:
            raise malformed(where, f"multipart/signed has {len(parts)} parts, not 2 (RFC 1847)")
        signature_part = parts[1]
        signature_where = child_where(where, 2)
        sig_type = signature_part.content_type
        if sig_type not in _PKCS7_SIGNATURE:
            raise malformed(
                signature_where,
                f"second part of multipart/signed is {sig_type}, not a PKCS#7 signature",
            )
        self._media_type(signature_part, sig_type)
        self._check_micalg(entity)
        signed = self._signed_content(parts[0])
        (content_type, content, _), large = self._cms(signature_part, signature_where)
        if large is not None:
            raise malformed(
                signature_where, "detached signature whose SignedData also carries content"
            )
        if content_type != oids.SIGNED_DATA:
            raise malformed(
                signature_where,
                f"signature part holds {cms_read.layer_name(content_type)}, not signed-data",
            )
        if self.scope == WHOLE:
            self.status.layers.append("signed-data")
        if not self._signed(content, signature_where, signed).signers:
            # A SignedData without SignerInfo signs nothing (a certs-only object): the
            # multipart/signed is inconsistent whatever the receiver requires (no-signature
            # is for a message that does not claim one), as is one stripped of its signers.
            raise malformed(
                signature_where, "the signature part's SignedData has no SignerInfo: no signature"
            )
        return self._entity(parts[0], child_where(where, 1), depth + 1)

    def _check_micalg(self, entity: Entity) -> None:
        if not self.options.quirks.micalg_case_sensitive:
            return
        micalg = entity.param("micalg") or ""
        for value in micalg.split(","):
            if value.strip() not in _MICALG_NAMES:
                raise ReadError(
                    ErrorCode.UNSUPPORTED_ALGORITHM,
                    f"receiver does not recognise micalg {value.strip()!r} (it expects exactly "
                    f"one of {', '.join(sorted(_MICALG_NAMES))})",
                )

    # --- application/pkcs7-mime -------------------------------------------------------

    def _pkcs7_mime(self, entity: Entity, where: str, depth: int) -> bytes | Region | None:
        self._media_type(entity, entity.content_type)
        (content_type, content, _), large = self._cms(entity, where)
        layer = cms_read.layer_name(content_type)
        inner: bytes | Region
        if content_type == oids.SIGNED_DATA:
            check_accepted("signature format", "opaque", self.options.formats)
            if self.scope == WHOLE:
                self.status.layers.append(layer)
            result = self._signed(content, where, None, large)
            if result.content is None:
                if not result.signers and self.scope == WHOLE:
                    self.status.layers[-1] = "certs-only"
                    return None
                raise malformed(where, "opaque signed-data without its content")
            if result.content_type != oids.DATA:
                raise ReadError(
                    ErrorCode.UNSUPPORTED_FUNCTION,
                    f"{where}: encapsulated content type "
                    f"{cms_read.layer_name(result.content_type)} is not read "
                    "(S/MIME carries a MIME entity as id-data)",
                )
            inner = result.spooled or result.content
        elif content_type in (oids.ENVELOPED_DATA, oids.AUTH_ENVELOPED_DATA):
            self.status.layers.append(layer)
            self.status.encrypted = True
            decrypted = cms_read.decrypt_enveloped(
                content,
                where,
                keys=self.keys,
                options=self.options,
                found=self.status.algorithms,
                large=large,
            )
            self.status.decrypted = True
            self.aead_verified = self.aead_verified or decrypted.aead
            inner = decrypted.spooled or decrypted.content
        elif content_type == oids.DATA and isinstance(content, DataParts):
            inner = large or content.content
        else:
            raise ReadError(
                ErrorCode.UNSUPPORTED_FUNCTION,
                f"{where}: CMS content type {layer} is not read",
            )
        found = self._read_mime(inner, layer, depth + 1)
        content_where = f"{where} ({layer} content)"
        refuse_header_limit(found, content_where)
        self._take_author(found)
        return self._entity(found, content_where, depth + 1)

    def _take_author(self, entity: Entity) -> None:
        """The author from the message's header, or else from the first header block found
        inside a CMS layer that has From: or Sender: (`openssl cms -sign` then `-encrypt`
        puts the signed message, its From: included, inside the envelope)."""
        if self._author_read or not entity.has_headers:
            return
        headers = entity.headers
        from_values, sender_values = headers.get_all("from", []), headers.get_all("sender", [])
        if from_values or sender_values:
            self._author_read = True
            self.written_by = author(from_values, sender_values)
            if self.written_by.unreadable:
                raise malformed(
                    "message", "the From: field cannot be read (comments nested too deep)"
                )

    # --- signatures -------------------------------------------------------------------

    def _signed(
        self,
        content: Parts,
        where: str,
        detached: cms_read.Content | None,
        large: Region | None = None,
    ) -> cms_read.SignedResult:
        extra = [certificates.asn1_certificate(c) for c in (*self.trust, *self.intermediates)]
        pool = CertificatePool([], self.directory, extra)
        result = cms_read.read_signed_data(
            content,
            where,
            detached=detached,
            pool=pool,
            options=self.options,
            found=self.status.algorithms,
            large=large,
            stream=self._stream,
        )
        if not result.signers:
            return result
        self.status.signed = True
        valid = True
        chain_valid: bool | None = True
        certificate: asn1_x509.Certificate | None = None
        for outcome in result.signers:
            if outcome.error is not None:
                self.status.add_error(outcome.error.code, outcome.error.message)
                valid = False
                continue
            assert outcome.certificate is not None
            certificate = certificate or outcome.certificate
            chain = self._chain(outcome.certificate, result.certificates)
            if not chain.valid:
                chain_valid = False
                if self.options.require_chain and chain.code is not None:
                    self.status.add_error(
                        chain.code, f"{where}: signer {outcome.index}: {chain.message}"
                    )
        if certificate is None:
            certificate = next((o.certificate for o in result.signers if o.certificate), None)
            chain_valid = None
        self.signatures.append(
            _Signature(valid, chain_valid if valid else None, certificate, self.scope)
        )
        return result

    def _chain(
        self, certificate: asn1_x509.Certificate, carried: list[asn1_x509.Certificate]
    ) -> ChainResult:
        digests = self.options.digests
        weak = {"md2", "md5", *self.options.refused_certificate_digests}
        if digests is not None and "sha1" not in digests:
            weak.add("sha1")
        return validate_signer(
            certificate,
            trust=self.trust,
            intermediates=[*carried, *self.intermediates],
            crls=self.crls,
            moment=self.validation_time,
            check_revocation=self.options.check_revocation,
            weak_digests=frozenset(weak),
            min_rsa_bits=self.options.min_rsa_bits,
            check_validity=self.options.check_validity,
            check_key_usage=self.options.check_key_usage,
        )

    # --- summing up -------------------------------------------------------------------

    def finish(self) -> None:
        status = self.status
        options = self.options
        # Only a signature over the whole message gives the message its services; one over
        # a part beside others (a partial signature) covers that part (status.coverage).
        whole = [s for s in self.signatures if s.scope == WHOLE]
        if options.require_signature and not whole:
            status.add_error(
                ErrorCode.NO_SIGNATURE,
                "no signature: the receiver requires signed messages"
                + (" (a signature covers only a part)" if self.signatures else ""),
            )
        if options.require_encryption and not status.encrypted:
            status.add_error(
                ErrorCode.NOT_ENCRYPTED, "not encrypted: the receiver requires encrypted messages"
            )
        if self.signatures:
            status.signature_valid = all(s.valid for s in self.signatures)
            chains = [s.chain_valid for s in self.signatures]
            status.chain_valid = None if None in chains else all(c is True for c in chains)
            innermost = next(
                (s.certificate for s in reversed([*self.signatures, *whole]) if s.certificate),
                None,
            )
            if innermost is not None:
                status.signer = describe_signer(innermost)
        signature_ok = bool(whole) and all(s.valid for s in whole)
        sender_ok = True
        if signature_ok and options.check_sender_address and status.signer is not None:
            sender_ok = self._sender_matches(whole[-1].certificate)
        stopping = {e.code for e in status.errors} & {ErrorCode.MALFORMED, ErrorCode.INTERNAL}
        if stopping:
            return
        services = status.services
        services.integrity = signature_ok or (
            self.aead_verified and status.signature_valid is not False
        )
        chain_ok = all(s.chain_valid is True for s in whole) or not options.require_chain
        services.authentication = signature_ok and chain_ok and sender_ok
        services.non_repudiation = bool(
            services.authentication and status.signer is not None and status.signer.non_repudiation
        )
        services.confidentiality = status.encrypted and status.decrypted
        self._cover(whole)

    def _cover(self, whole: list[_Signature]) -> None:
        """status.coverage: the whole message for each service held, and the parts that a
        signature beside unsigned parts covers."""
        coverage = self.status.coverage
        for name in self.status.services.as_set():
            getattr(coverage, name).append(WHOLE)
        for signature in self.signatures:
            if signature in whole or not signature.valid or signature.scope in coverage.integrity:
                continue
            coverage.integrity.append(signature.scope)
            chain_ok = signature.chain_valid is True or not self.options.require_chain
            sender_ok = not self.options.check_sender_address or self._sender_matches(
                signature.certificate
            )
            if not (chain_ok and sender_ok):
                continue
            coverage.authentication.append(signature.scope)
            certificate = signature.certificate
            if certificate is not None and describe_signer(certificate).non_repudiation:
                coverage.non_repudiation.append(signature.scope)

    def _sender_matches(self, certificate: asn1_x509.Certificate | None) -> bool:
        """Is the message's one author the signer? (`core.author`: RFC 8550 3, RFC 5322 3.6.2)"""
        if certificate is None:
            return False
        addresses = certificates.certificate_emails(certificate)
        written = self.written_by
        if written.address is not None and written.address in addresses:
            return True
        shown = ", ".join(sorted(addresses)) or "no email address"
        if written.address is None:
            message = (
                f"{written.problem}, so the author is ambiguous and not authenticated "
                f"({written.describe()}; signer certificate: {shown}); "
                "the signature itself verifies (integrity holds)"
            )
        else:
            message = (
                f"{written.describe()} differs from the signer certificate ({shown}); "
                "the signature itself verifies (integrity holds)"
            )
        self.status.add_error(ErrorCode.SIGNER_MISMATCH, message)
        return False


def describe_signer(certificate: asn1_x509.Certificate) -> Signer:
    """The status's view of a signer: the one rule of `core.certificates.signer_view`."""
    view = certificates.signer_view(certificate)
    return Signer(
        subject=view.subject,
        email=view.email,
        idnat=view.idnat,
        non_repudiation=view.non_repudiation,
    )


def read_message(
    message: bytes,
    *,
    keys: Sequence[PrivateKeyHandle],
    trust: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList],
    directory: CertificateDirectory | None,
    options: ReceiveOptions,
    limits: Limits = Limits(),  # noqa: B008 (frozen dataclass)
    validation_time: datetime | None = None,
    intermediates: Sequence[x509.Certificate] = (),
) -> tuple[bytes | None, Status]:
    """Read a received RFC 5322 message: (innermost content or None, status).

    The content is the innermost MIME entity exactly as recovered: the signed
    part's bytes for multipart/signed, the encapsulated or decrypted bytes
    otherwise. Never raises.
    """
    status = Status()
    reader = Reader(
        keys, trust, crls, directory, options, limits, validation_time, intermediates, status
    )
    content = run_reader(reader, message)
    assert not isinstance(content, Region)
    return content, status


def run_reader(reader: Reader, message: bytes | Region) -> bytes | Region | None:
    """Read with `reader` into its status: never raises; a bug is INTERNAL, with no content."""
    status = reader.status
    content: bytes | Region | None = None
    try:
        content = reader.read(message)
    except ReadError as exc:
        status.add_error(exc.code, exc.message)
    except Exception as exc:  # a bug of ours: surfaced, never a verdict
        frames = traceback.extract_tb(exc.__traceback__)
        ours = [f for f in frames if "/conformance/" in f.filename]
        frame = (ours or frames)[-1]
        status.add_error(
            ErrorCode.INTERNAL,
            f"{type(exc).__name__}: {exc} (at {frame.filename.rsplit('/', 1)[-1]}:{frame.lineno})",
        )
    try:
        reader.finish()
    except Exception as exc:
        status.add_error(ErrorCode.INTERNAL, f"{type(exc).__name__} while summing up: {exc}")
    if status.broke:
        content = None
    return content
