"""CMS rules: the SignedData, its certificates, signed attributes and algorithms."""

from __future__ import annotations

from collections.abc import Iterator

from conformance.check.catalogue import Outcome, not_checked, rule
from conformance.check.context import Context
from conformance.check.rules import graded
from conformance.core.cms import layer_name
from conformance.smime import algorithms as alg


@rule(
    "CMS-001",
    "CMS object readable and of the right type",
    "RFC 5652 3 / RFC 8551 3.5.3",
    "Each S/MIME part holds a CMS ContentInfo that parses; a signature part holds a SignedData.",
)
def readable(context: Context) -> Iterator[Outcome]:
    for layer in context.layers:
        expected = "a CMS SignedData" if layer.container is not layer.part else "a CMS ContentInfo"
        if layer.error is None:
            yield Outcome(layer.part.path, True, layer.name, expected)
        else:
            yield Outcome(
                layer.part.path, False, f"part {layer.part.path}: {layer.error}", expected
            )


@rule(
    "CMS-002",
    "Signer certificate included",
    "RFC 8551 2.4.1 / RFC 5652 5.1",
    "The SignedData carries certificates, among them the signer's, so that any receiver can "
    "verify without a directory.",
)
def signer_certificate(context: Context) -> Iterator[Outcome]:
    for entry in context.signers():
        signed = entry.layer.signed
        assert signed is not None
        included = entry.signer.certificate is not None and any(
            c.dump() == entry.signer.certificate.dump() for c in signed.certificates
        )
        expected = "the signer's certificate in SignedData.certificates"
        if included:
            found = f"{len(signed.certificates)} certificate(s), the signer's included"
        elif not signed.certificates:
            found = "no certificates in the SignedData"
        else:
            found = f"{len(signed.certificates)} certificate(s), none matches {entry.signer.sid}"
        yield Outcome(entry.part, included, found, expected)


@rule(
    "CMS-003",
    "Signed attributes present",
    "RFC 8551 2.5 / RFC 5652 5.3",
    "The SignerInfo has signed attributes (content-type, message-digest, signing-time, "
    "capabilities) rather than a bare signature over the content.",
)
def signed_attributes(context: Context) -> Iterator[Outcome]:
    for entry in context.signers():
        present = entry.signer.has_signed_attributes
        found = "signed attributes present" if present else "no signed attributes"
        yield Outcome(
            entry.part, present, f"signer {entry.signer.index}: {found}", "signed attributes"
        )


@rule(
    "CMS-004",
    "message-digest attribute matches the content",
    "RFC 5652 11.2 / 5.4",
    "Exactly one message-digest value, equal to the digest of the content as received.",
)
def message_digest(context: Context) -> Iterator[Outcome]:
    for entry in context.signers():
        signer = entry.signer
        if not signer.has_signed_attributes:
            continue
        expected = "one message-digest equal to the content's digest"
        values = signer.message_digest_attr
        if len(values) != 1:
            yield Outcome(entry.part, False, f"{len(values)} message-digest value(s)", expected)
        elif signer.message_digest_ok is None:
            why = signer.signature_error or "digest not computed"
            yield Outcome(entry.part, False, f"cannot compare: {why}", expected)
        elif signer.message_digest_ok:
            yield Outcome(entry.part, True, f"{signer.digest} digest matches", expected)
        else:
            yield Outcome(
                entry.part, False, "message-digest differs from the content (altered?)", expected
            )


@rule(
    "CMS-005",
    "content-type attribute matches eContentType",
    "RFC 5652 11.1 / 5.3",
    "Exactly one content-type attribute, equal to the SignedData's eContentType.",
)
def content_type_attribute(context: Context) -> Iterator[Outcome]:
    for entry in context.signers():
        signer = entry.signer
        signed = entry.layer.signed
        if not signer.has_signed_attributes or signed is None:
            continue
        wanted = layer_name(signed.econtent_type)
        values = [layer_name(v) for v in signer.content_type_attr]
        ok = values == [wanted]
        found = f"content-type {', '.join(values) or 'absent'}; eContentType {wanted}"
        yield Outcome(entry.part, ok, found, f"content-type {wanted}")


@rule(
    "CMS-006",
    "signing-time present",
    "RFC 8551 2.5.1 / RFC 5652 11.3",
    "The signing-time attribute dates the signature; certificates are judged at that time.",
)
def signing_time(context: Context) -> Iterator[Outcome]:
    for entry in context.signers():
        moment = entry.signer.signing_time
        found = moment.isoformat() if moment else "no signing-time attribute"
        yield Outcome(entry.part, moment is not None, found, "a signing-time attribute")


@rule(
    "CMS-007",
    "Digest algorithm allowed by the policy",
    "RFC 8551 2.1 / RFC 5754",
    "The SignerInfo digest is one the policy accepts (SHA-1 only tolerated in osm-2008).",
)
def digest_allowed(context: Context) -> Iterator[Outcome]:
    for entry in context.signers():
        yield graded(context, "digest", entry.part, entry.signer.digest)


@rule(
    "CMS-008",
    "Signature algorithm allowed by the policy",
    "RFC 8551 2.2 / RFC 4056",
    "RSA PKCS#1 v1.5 or RSASSA-PSS, as the policy accepts.",
)
def signature_allowed(context: Context) -> Iterator[Outcome]:
    for entry in context.signers():
        yield graded(context, "signature", entry.part, entry.signer.signature)


@rule(
    "CMS-009",
    "Signature verifies",
    "RFC 5652 5.6",
    "The signature verifies with the signer's public key over the signed attributes (or the "
    "content), the content being the exact bytes received (a multipart/signed part in its "
    "canonical form, bare LF as CRLF: RFC 8551 3.1.1; MIME-001 reports the bare LF).",
)
def signature_verifies(context: Context) -> Iterator[Outcome]:
    expected = "a signature that verifies"
    for entry in context.signers():
        signer = entry.signer
        if signer.signature_ok:
            yield Outcome(entry.part, True, f"signer {signer.index}: verified", expected)
        elif signer.signature_ok is None and signer.certificate is None:
            yield not_checked(
                entry.part,
                f"signer {signer.index}: not verified: {signer.signature_error}",
                expected,
            )
        else:
            yield Outcome(
                entry.part, False, f"signer {signer.index}: {signer.signature_error}", expected
            )


@rule(
    "CMS-010",
    "SignerInfo digest listed in digestAlgorithms",
    "RFC 5652 5.1",
    "SignedData.digestAlgorithms lists every digest its SignerInfos use "
    "(one-pass readers rely on it).",
)
def digest_listed(context: Context) -> Iterator[Outcome]:
    for entry in context.signers():
        signed = entry.layer.signed
        assert signed is not None
        listed = [alg.digest_name_from_oid(o) or o for o in signed.digest_algorithms]
        ok = entry.signer.digest in listed
        found = f"SignerInfo {entry.signer.digest}; digestAlgorithms {', '.join(listed) or 'empty'}"
        yield Outcome(entry.part, ok, found, f"{entry.signer.digest} listed")


@rule(
    "CMS-011",
    "SignedData has a signer",
    "RFC 8551 3.5 / RFC 5652 5.1",
    "A signed message's SignedData holds at least one SignerInfo (none is a certs-only message).",
)
def has_signer(context: Context) -> Iterator[Outcome]:
    for layer in context.layers:
        if layer.signed is None:
            continue
        count = len(layer.signed.signers)
        certs_only = (
            layer.container is layer.part
            and (layer.part.param("smime-type") or "").lower() == "certs-only"
        )
        if certs_only:
            continue
        yield Outcome(
            layer.part.path, count > 0, f"{count} SignerInfo(s)", "at least one SignerInfo"
        )
