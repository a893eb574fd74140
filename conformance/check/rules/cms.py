"""CMS rules: the SignedData, its certificates, signed attributes and algorithms."""

from __future__ import annotations

from collections.abc import Iterator

from conformance.check.catalogue import Outcome, not_checked, rule
from conformance.check.context import Context, SignerEntry
from conformance.check.rules import graded
from conformance.core import oids
from conformance.core.bilingual import Bilingual
from conformance.core.cms import (
    SMIME_CONTENT_TYPES,
    layer_name,
    time_problem,
)
from conformance.smime import algorithms as alg

_SMIME_TYPES = ", ".join(sorted(layer_name(t) for t in SMIME_CONTENT_TYPES))


@rule(
    "CMS-001",
    "CMS object readable and of the right type",
    "RFC 5652 3 / RFC 8551 3.5.3",
    "Each S/MIME part holds a CMS ContentInfo that parses, and nothing after it, of a type "
    "S/MIME carries (signed-data, enveloped-data, authEnveloped-data, compressed-data: not "
    "data, digested-data, encrypted-data or an unknown type); a signature part holds a "
    "SignedData.",
)
def readable(context: Context) -> Iterator[Outcome]:
    for layer in context.layers:
        expected = (
            Bilingual("un SignedData CMS", "a CMS SignedData")
            if layer.container is not layer.part
            else Bilingual(
                f"un ContentInfo CMS d'un type S/MIME ({_SMIME_TYPES})",
                f"a CMS ContentInfo of an S/MIME type ({_SMIME_TYPES})",
            )
        )
        if layer.error is None and layer.content_type not in SMIME_CONTENT_TYPES:
            name = layer.name
            found = Bilingual(
                f"{name} : pas un type CMS que S/MIME transporte",
                f"{name}: not a CMS type S/MIME carries",
            )
            yield Outcome(layer.part.path, False, found, expected)
        elif layer.error is None and layer.trailing:
            n = layer.trailing
            found = Bilingual(
                f"{layer.name} suivi de {n} octet(s) hors de l'objet CMS",
                f"{layer.name} followed by {n} octet(s) outside the CMS object",
            )
            yield Outcome(layer.part.path, False, found, expected)
        elif layer.error is None:
            yield Outcome(layer.part.path, True, layer.name, expected)
        else:
            path = layer.part.path
            found = Bilingual(f"partie {path} : ", f"part {path}: ") + layer.error
            yield Outcome(layer.part.path, False, found, expected)


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
        expected = Bilingual(
            "le certificat du signataire dans SignedData.certificates",
            "the signer's certificate in SignedData.certificates",
        )
        n = len(signed.certificates)
        if included:
            found = Bilingual(
                f"{n} certificat(s), dont celui du signataire",
                f"{n} certificate(s), the signer's included",
            )
        elif not signed.certificates:
            found = Bilingual(
                "aucun certificat dans le SignedData", "no certificates in the SignedData"
            )
        else:
            sid = entry.signer.sid
            found = Bilingual(
                f"{n} certificat(s), aucun ne correspond à {sid.fr}",
                f"{n} certificate(s), none matches {sid.en}",
            )
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
        index = entry.signer.index
        found = (
            Bilingual(
                f"signataire {index} : attributs signés présents",
                f"signer {index}: signed attributes present",
            )
            if present
            else Bilingual(
                f"signataire {index} : aucun attribut signé",
                f"signer {index}: no signed attributes",
            )
        )
        wanted = Bilingual("des attributs signés", "signed attributes")
        yield Outcome(entry.part, present, found, wanted)


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
        expected = Bilingual(
            "un message-digest égal au condensé du contenu",
            "one message-digest equal to the content's digest",
        )
        values = signer.message_digest_attr
        if len(values) != 1:
            n = len(values)
            found = Bilingual(f"{n} valeur(s) de message-digest", f"{n} message-digest value(s)")
            yield Outcome(entry.part, False, found, expected)
        elif signer.message_digest_ok is None:
            why = signer.signature_error or Bilingual("condensé non calculé", "digest not computed")
            found = Bilingual("comparaison impossible : ", "cannot compare: ") + why
            yield Outcome(entry.part, False, found, expected)
        elif signer.message_digest_ok:
            digest = signer.digest
            found = Bilingual(f"le condensé {digest} correspond", f"{digest} digest matches")
            yield Outcome(entry.part, True, found, expected)
        else:
            found = Bilingual(
                "message-digest différent du contenu (altéré ?)",
                "message-digest differs from the content (altered?)",
            )
            yield Outcome(entry.part, False, found, expected)


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
        ok = signer.content_type_attr == [signed.econtent_type]  # names shown may be elided
        shown = ", ".join(layer_name(v) for v in signer.content_type_attr)
        found = Bilingual(
            f"content-type {shown or 'absent'} ; eContentType {wanted}",
            f"content-type {shown or 'absent'}; eContentType {wanted}",
        )
        yield Outcome(entry.part, ok, found, f"content-type {wanted}")


@rule(
    "CMS-006",
    "signing-time present",
    "RFC 8551 2.5.1 / RFC 5652 11.3",
    "The signing-time attribute dates the signature; certificates are judged at that time. "
    "One present but unreadable (a month 13, an empty value, year 0) is an ERROR whatever "
    "the policy: a malformed attribute, which the rules then read as absent (judging the "
    "certificates now).",
)
def signing_time(context: Context) -> Iterator[Outcome]:
    wanted = Bilingual("un attribut signing-time", "a signing-time attribute")
    for entry in context.signers():
        moment = entry.signer.signing_time
        if moment is not None:
            yield Outcome(entry.part, True, moment.isoformat(), wanted)
            continue
        problem = _unreadable_signing_time(entry)
        if problem is None:
            found = Bilingual("aucun attribut signing-time", "no signing-time attribute")
            yield Outcome(entry.part, False, found, wanted)
        else:
            yield Outcome(entry.part, False, problem, wanted, "ERROR")


def _unreadable_signing_time(entry: SignerEntry) -> Bilingual | None:
    """Why the signer's signing-time attribute, present, gives no date; None when it has
    none. The first one, as the layer reads it (`check.layers`)."""
    occurrences = entry.signer.signing_times
    if not occurrences:
        return None
    if not occurrences[0]:
        return Bilingual(
            "attribut signing-time sans valeur", "a signing-time attribute without a value"
        )
    problem = time_problem(occurrences[0][0])
    if problem is None:  # not met: the layer would have read its date
        return None
    reason = _TIME_FAULTS.get(problem.fault) or Bilingual(f"« {problem.said} »", problem.said)
    return (
        Bilingual("signing-time présent mais illisible : ", "signing-time present but unreadable: ")
        + Bilingual.same(f"{problem.written} (")
        + reason
        + Bilingual.same(")")
    )


_TIME_FAULTS = {
    "empty": Bilingual("valeur vide", "empty value"),
    "year-0": Bilingual("année 0", "year 0"),
}


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
    expected = Bilingual("une signature qui se vérifie", "a signature that verifies")
    for entry in context.signers():
        signer = entry.signer
        index, error = signer.index, signer.signature_error or Bilingual.same("")
        if signer.signature_ok:
            found = Bilingual(f"signataire {index} : vérifiée", f"signer {index}: verified")
            yield Outcome(entry.part, True, found, expected)
        elif signer.signature_ok is None and signer.certificate is None:
            found = (
                Bilingual(
                    f"signataire {index} : non vérifiée : ", f"signer {index}: not verified: "
                )
                + error
            )
            yield not_checked(entry.part, found, expected)
        else:
            found = Bilingual(f"signataire {index} : ", f"signer {index}: ") + error
            yield Outcome(entry.part, False, found, expected)


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
        digest, shown = oids.shown(entry.signer.digest), ", ".join(map(oids.shown, listed))
        found = Bilingual(
            f"SignerInfo {digest} ; digestAlgorithms {shown or 'vide'}",
            f"SignerInfo {digest}; digestAlgorithms {shown or 'empty'}",
        )
        yield Outcome(entry.part, ok, found, Bilingual(f"{digest} listé", f"{digest} listed"))


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
        wanted = Bilingual("au moins un SignerInfo", "at least one SignerInfo")
        yield Outcome(layer.part.path, count > 0, f"{count} SignerInfo(s)", wanted)
