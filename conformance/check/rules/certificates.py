"""Certificate rules: chain, validity, revocation, usages, address, idNat, key and signature."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, NamedTuple

from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from asn1crypto.util import extended_datetime
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from conformance.check import certs
from conformance.check.catalogue import Outcome, not_checked, rule
from conformance.check.context import Context
from conformance.check.i18n import author_text, chain_text
from conformance.check.rules import graded
from conformance.core import oids
from conformance.core.author import author
from conformance.core.bilingual import Bilingual
from conformance.core.certificates import load_certificate

_KEY_USAGE_NAMES = {
    "digital_signature": "digitalSignature",
    "non_repudiation": "nonRepudiation",
    "key_encipherment": "keyEncipherment",
    "data_encipherment": "dataEncipherment",
    "key_agreement": "keyAgreement",
    "key_cert_sign": "keyCertSign",
    "crl_sign": "cRLSign",
}


@dataclass(frozen=True)
class Subject:
    """A certificate under review, its role, the part it came with, and the time it is judged at."""

    part: str
    role: str  # "signature" or "encryption"
    certificate: asn1_x509.Certificate
    moment: datetime
    moment_source: Bilingual  # the signing time, or now

    @property
    def role_words(self) -> Bilingual:
        return _ROLES[self.role]

    @property
    def label(self) -> Bilingual:
        subject = certs.subject_text(self.certificate)
        return Bilingual(
            f"certificat de {self.role_words.fr} {subject}", f"{self.role} certificate {subject}"
        )


_ROLES = {
    "signature": Bilingual("signature", "signature"),
    "encryption": Bilingual("chiffrement", "encryption"),
}
_SEP = Bilingual(" : ", ": ")
_SIGNING_TIME = Bilingual("l'heure de signature", "the signing time")
_NOW = Bilingual("maintenant", "now")


def _signature_subjects(context: Context) -> list[Subject]:
    return context.memo("signature-subjects", lambda: _find_signature_subjects(context))


def _find_signature_subjects(context: Context) -> list[Subject]:
    found: list[Subject] = []
    seen: set[tuple[str, bytes]] = set()
    for entry in context.signers():
        cert = entry.signer.certificate
        if cert is None or (entry.part, cert.dump()) in seen:
            continue
        seen.add((entry.part, cert.dump()))
        moment = entry.signer.signing_time
        found.append(
            Subject(
                entry.part,
                "signature",
                cert,
                moment or context.now,
                _SIGNING_TIME if moment else _NOW,
            )
        )
    return found


def _encryption_subjects(context: Context) -> list[Subject]:
    return context.memo(
        "encryption-subjects",
        lambda: [
            Subject(r.part, "encryption", r.certificate, context.now, _NOW)
            for r in context.recipient_certificates()
        ],
    )


def _all_subjects(context: Context) -> list[Subject]:
    return [*_signature_subjects(context), *_encryption_subjects(context)]


def _usage_text(usage: set[str] | None) -> Bilingual:
    if usage is None:
        return Bilingual("pas d'extension keyUsage", "no key usage extension")
    names = ", ".join(sorted(_KEY_USAGE_NAMES.get(u, u) for u in usage))
    return Bilingual.same(names) if names else Bilingual("keyUsage vide", "empty key usage")


def _clamp(moment: datetime, cert: asn1_x509.Certificate) -> datetime:
    """A moment inside the certificate's validity, so that the chain rule judges only the path."""
    start, end = certs.validity(cert)
    return min(max(moment, start), end)


NO_ANCHORS = Bilingual(
    "non vérifié : aucune ancre de confiance donnée", "not checked: no trust anchors given"
)


@rule(
    "CERT-001",
    "Certificate chains to a trust anchor",
    "RFC 5280 6 / RFC 8550 4.2",
    "A path from the signer's certificate, through the certificates of the message and, with "
    "--identity, the CAs of its chain.pem (the receiver's own, which it uses too), to one of the "
    "given trust anchors (--trust), with valid signatures (validity, revocation, key size and "
    "algorithms have rules of their own). Without --identity, a message that carries none of "
    "the signer's CAs, its issuer not among the anchors either, is not checked: the receiver "
    "may hold that CA (a sender SHOULD include its issuers, RFC 8550 2.3; a message may carry "
    "fewer when receivers have them, RFC 5652 5.1).",
)
def chain(context: Context) -> Iterator[Outcome]:
    from conformance.smime.validate import validate_signer

    for subject in _signature_subjects(context):
        expected = Bilingual(
            "un chemin valide jusqu'à une ancre de confiance", "a valid path to a trust anchor"
        )
        if not context.trust:
            yield not_checked(subject.part, NO_ANCHORS, expected)
            continue
        # Validity has its own rule: judge the path at a moment inside the certificate's
        # validity, rounded to the day so that pyhanko's (slow) verdict is cached.
        moment = _clamp(subject.moment, subject.certificate).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        try:
            result = validate_signer(
                subject.certificate,
                trust=context.trust,
                # As the receiver: the certificates carried, then the recipient's chain.pem.
                intermediates=[*context.message_certificates(), *context.identity_chain],
                crls=(),
                moment=moment,
                check_revocation=False,
                weak_digests=frozenset({"md2", "md5"}),
                min_rsa_bits=512,
                min_dsa_bits=512,
            )
        except Exception as exc:
            # The path validator broke on this certificate (e.g. the GIP-CPS key OID):
            # no verdict either way, said plainly, rather than a wrong ERROR.
            said = f"{type(exc).__name__}: {exc}"
            found = Bilingual(
                f"non vérifié : le validateur de chemin a échoué sur le {subject.label.fr} : "
                f"« {said} »",
                f"not checked: the path validator failed on {subject.label.en}: {said}",
            )
            yield not_checked(subject.part, found, expected)
            continue
        missing = None if result.valid else _missing_issuer(context, subject.certificate)
        if missing is not None and not context.identity_given:
            found = Bilingual(
                f"non vérifié : l'émetteur {missing} du {subject.label.fr} n'est ni dans le "
                "message ni parmi les ancres de confiance ; --identity DIR donne les AC du "
                "destinataire (son chain.pem), tels que le récepteur les détient",
                f"not checked: the issuer {missing} of the {subject.label.en} is neither in "
                "the message nor among the trust anchors; --identity DIR gives the recipient's "
                "CAs (its chain.pem), as the receiver has them",
            )
            yield not_checked(subject.part, found, expected)
            continue
        # The path validator writes English; French is worded from its reason and values.
        if result.valid:
            found = Bilingual(
                f"{subject.label.fr} : chemin valide jusqu'à une ancre de confiance",
                result.message,
            )
        else:
            found = Bilingual("pas de chemin valide : ", "") + chain_text(result)
        yield Outcome(subject.part, result.valid, found, expected)


@rule(
    "CERT-013",
    "Signer's issuing CAs carried in the message",
    "RFC 8550 2.3 / RFC 5652 5.1",
    "The message carries the signer's issuing CA certificates, from its issuer up to one of "
    "the given trust anchors (--trust; the anchor itself need not be carried), so that a "
    "receiver that does not already hold them can build the path (a sending agent SHOULD "
    "include them, RFC 8550 2.3). The signer's own issuer is always asked for; a CA above "
    "the ones carried only when known to be no root (from --identity's chain.pem): a root "
    "the receiver trusts need not travel. Whether the receiver holds them is CERT-001's "
    "question; without trust anchors this rule is not checked.",
)
def issuers_carried(context: Context) -> Iterator[Outcome]:
    """RFC 8550 2.3 (Certificate Sets): "Sending agents SHOULD include any certificates for
    the user's public key(s) and associated issuer certificates. This increases the
    likelihood that the intended recipient can establish trust in the originator's public
    key(s). [...] A sending agent SHOULD include at least one chain of certificates up to,
    but not including, a certification authority (CA) that it believes that the recipient
    may trust as authoritative." A SHOULD, not a MUST, and RFC 5652 5.1 lets the set hold
    "fewer certificates than necessary, if it is expected that recipients have an alternate
    means of obtaining necessary certificates": a missing issuer is a WARNING (in both
    policies), the path itself CERT-001's."""
    expected = Bilingual(
        "les AC émettrices du signataire, jusqu'à une ancre de confiance, dans le message",
        "the signer's issuing CAs, up to a trust anchor, in the message",
    )
    for subject in _signature_subjects(context):
        if not context.trust:
            yield not_checked(subject.part, NO_ANCHORS, expected)
            continue
        carried, missing, needed = _carried_issuers(context, subject.certificate)
        if missing is None or not needed:
            found = Bilingual(
                f"{carried} AC émettrice(s) dans le message jusqu'à une ancre de confiance",
                f"{carried} issuing CA(s) in the message up to a trust anchor",
            )
            if missing is not None:
                found = Bilingual(
                    f"{carried} AC émettrice(s) dans le message ; au-dessus, {missing} n'y est "
                    "pas : le récepteur doit la détenir (CERT-001)",
                    f"{carried} issuing CA(s) in the message; above them, {missing} is not: "
                    "the receiver must hold it (CERT-001)",
                )
            yield Outcome(subject.part, True, found, expected)
            continue
        below = Bilingual.same("")
        if carried:
            below = Bilingual(
                f" ({carried} AC au-dessous d'elle y sont)", f" ({carried} CA(s) below it are)"
            )
        found = (
            Bilingual(
                f"l'AC émettrice {missing} du {subject.label.fr} n'est pas dans le message",
                f"the issuing CA {missing} of the {subject.label.en} is not in the message",
            )
            + below
            + Bilingual(
                " : un récepteur qui ne la détient pas ne peut pas construire le chemin",
                ": a receiver that does not hold it cannot build the path",
            )
        )
        yield Outcome(subject.part, False, found, expected)


def _carried_issuers(context: Context, cert: asn1_x509.Certificate) -> tuple[int, str | None, bool]:
    """How many of the certificate's issuing CAs the message carries, going up by name from
    its issuer until one is a trust anchor (or self-issued); the first issuer neither carried
    nor an anchor, named (None when the chain up to an anchor is all there); and whether the
    sender should have carried that one: the signer's own issuer always, a CA above it when
    it is known to be no root (a CA of --identity's chain.pem issued by another); an unknown
    CA above the ones carried may be the root the receiver trusts, which no sender need
    include. Only the message's own certificates count as carried: the question is what the
    sender included."""
    known = _issuers(context)
    anchors = {i.name for i in known if i.anchor}
    below_a_root = {i.name for i in known if i.origin == "identity" and i.issuer != i.name}
    seen = {cert.dump()}
    for count in range(8):  # a path longer than this is no S/MIME chain
        wanted = cert.issuer.dump()
        if wanted == cert.subject.dump() or wanted in anchors:
            return count, None, False
        carried = (
            i for i in known if i.origin == "message" and i.name == wanted and i.der not in seen
        )
        issuer = next(carried, None)
        if issuer is None:
            return count, _name(cert.issuer), count == 0 or wanted in below_a_root
        seen.add(issuer.der)
        cert = load_certificate(issuer.der)
    return 8, None, False


@rule(
    "CERT-002",
    "Certificate valid at the signing time",
    "RFC 5280 4.1.2.5 / RFC 8550 4.2",
    "The signature certificate is within its validity period at the signing time (now when the "
    "message has no signing-time); the encryption certificate now.",
)
def validity(context: Context) -> Iterator[Outcome]:
    for subject in _all_subjects(context):
        start, end = certs.validity(subject.certificate)
        when, at = subject.moment_source, f"{subject.moment:%Y-%m-%d %H:%M}"
        expected = Bilingual(f"valide à {when.fr}", f"valid at {when.en}")
        year_zero = _year_zero(subject.role_words, start, end)
        if year_zero is not None:
            yield Outcome(subject.part, False, year_zero, expected)
            continue
        ok = start <= subject.moment <= end
        found = Bilingual(
            f"certificat de {subject.role_words.fr} valide du {start:%Y-%m-%d} au "
            f"{end:%Y-%m-%d} ; {when.fr} : {at}",
            f"{subject.role} certificate valid {start:%Y-%m-%d} to {end:%Y-%m-%d}; {when.en} {at}",
        )
        yield Outcome(subject.part, ok, found, expected)


def _year_zero(role: Bilingual, start: object, end: object) -> Bilingual | None:
    """What is wrong with a validity bound in year 0 (GeneralizedTime 0000...), which
    asn1crypto reads as its `extended_datetime`, not a datetime (whose years run from 1):
    no date, so the period cannot be judged. None when neither bound is."""
    for name, bound in (("notBefore", start), ("notAfter", end)):
        if isinstance(bound, extended_datetime):
            shown = bound.isoformat()
            return Bilingual(
                f"certificat de {role.fr} : {name} {shown} : l'année 0 n'est pas une date valide",
                f"{role.en} certificate: {name} {shown}: year 0 is not a valid date",
            )
    return None


# RFC 5280 4.1.2.2: "The serial number MUST be a positive integer assigned by the CA to each
# certificate. [...] Conforming CAs MUST NOT use serialNumber values longer than 20 octets."
_SERIAL_OCTETS = 20


@rule(
    "CERT-014",
    "Certificate serial number positive, at most 20 octets",
    "RFC 5280 4.1.2.2",
    "The serialNumber of the signature and encryption certificates is a positive integer of "
    "at most 20 octets, as a CA must assign it: a negative or zero serial, or a longer one, "
    "comes from a non-conforming CA (a receiver may refuse it, or mistake one certificate for "
    "another).",
)
def serial_number(context: Context) -> Iterator[Outcome]:
    expected = Bilingual(
        f"un entier positif d'au plus {_SERIAL_OCTETS} octets",
        f"a positive integer of at most {_SERIAL_OCTETS} octets",
    )
    for subject in _all_subjects(context):
        field = subject.certificate["tbs_certificate"]["serial_number"]
        octets = len(field.contents or b"")
        serial = int(field.native)
        # A serial longer than allowed is not written out: it may be any length.
        shown = f"{serial:#x}" if octets <= _SERIAL_OCTETS else "…"
        role = subject.role_words
        found = Bilingual(
            f"certificat de {role.fr} : numéro de série {shown} ({octets} octet(s))",
            f"{role.en} certificate: serial number {shown} ({octets} octet(s))",
        )
        yield Outcome(subject.part, serial > 0 and octets <= _SERIAL_OCTETS, found, expected)


def _revocation(context: Context, subject: Subject) -> Outcome:
    """The certificate's own status, then, for a signer, that of the CAs above it up to the
    anchor, as the receiver's path validation asks: every CA under the anchor needs a
    current CRL of its issuer; a CA given as an anchor under another anchor needs none, but
    one that revokes it is heeded (smime/validate.py, `_validate`)."""
    own = _status(context, subject, subject.certificate, subject.label)
    if not own.passed or subject.role != "signature":
        return own
    known = _issuers(context)
    for ca, anchor in _issuing_cas(context, subject.certificate):
        if anchor and not any(i.anchor and i.name == ca.issuer.dump() for i in known):
            break  # the path ends at this anchor (RFC 5280 6.1.1 (d)): nothing above is asked
        name = certs.subject_text(ca)
        found = _status(
            context, subject, ca, Bilingual(f"AC émettrice {name}", f"issuing CA {name}")
        )
        if found.passed or (anchor and found.status == "INFO"):
            continue
        return found
    return own


def _missing_issuer(context: Context, cert: asn1_x509.Certificate) -> str | None:
    """The signer's issuer, named, when no certificate at hand is it (no anchor, none carried,
    none in --identity's chain.pem): the message carries none of the signer's CAs, counting
    on the receiver to hold them. None when one is at hand: the path then stands or falls on
    what the message carries up to the anchors, for every receiver alike (RFC 8550 2.3: a
    sender includes the chain up to a CA it believes the recipient trusts)."""
    known = _issuers(context)
    wanted = cert.issuer.dump()
    if wanted == cert.subject.dump() or any(i.name == wanted for i in known):
        return None
    return _name(cert.issuer)


def _issuing_cas(
    context: Context, cert: asn1_x509.Certificate
) -> Iterator[tuple[asn1_x509.Certificate, bool]]:
    """(CA, given as an anchor) from the certificate's issuer up, the self-issued root left
    out (nothing above it can revoke it); found by name among the issuers at hand."""
    known = _issuers(context)
    seen = {cert.dump()}
    for _ in range(8):  # a path longer than this is no S/MIME chain
        wanted = cert.issuer.dump()
        candidates = [(i.der, i.anchor) for i in known if i.name == wanted and i.der not in seen]
        found = candidates[0] if candidates else None
        if found is None:
            return
        cert = load_certificate(found[0])
        if cert.issuer.dump() == cert.subject.dump():
            return
        seen.add(found[0])
        yield cert, found[1]


def _status(
    context: Context, subject: Subject, cert: asn1_x509.Certificate, label: Bilingual
) -> Outcome:
    """Whether `cert` is on a current CRL of its issuer at the subject's moment."""
    expected = Bilingual("absent de la LCR de l'émetteur", "not on the issuer's CRL")
    if not context.crls:
        found = Bilingual("non vérifié : aucune LCR donnée", "not checked: no CRL given")
        return not_checked(subject.part, found, expected)
    # Names compared as DER, the certificate read with asn1crypto: it may hold a key
    # cryptography cannot load (inherited DSA parameters, the GIP-CPS key OID).
    issuer_der = cert.issuer.dump()
    covering = [crl for crl in context.crls if crl.issuer.public_bytes() == issuer_der]
    issuer = _name(cert.issuer)
    if not covering:
        found = Bilingual(
            f"non vérifié : aucune LCR de {issuer}", f"not checked: no CRL of {issuer}"
        )
        return not_checked(subject.part, found, expected)
    # RFC 5280 6.3.3: only a current CRL, whose signature verifies with the issuer's key,
    # says anything of the status (the receiver's path validation asks the same).
    problems = [_unusable(crl, subject) for crl in covering]
    current = [crl for crl, problem in zip(covering, problems, strict=True) if problem is None]
    if not current:
        why = [p for p in problems if p]
        found = Bilingual(
            f"non vérifié : la LCR de {issuer} ", f"not checked: the CRL of {issuer} "
        ) + Bilingual(" ; ", "; ").join(why)
        return not_checked(subject.part, found, expected)
    known = _issuers(context)
    issuers = [i.der for i in known if i.name == issuer_der]
    if not issuers:
        found = Bilingual(
            f"non vérifié : le certificat de {issuer} est inconnu, sa LCR ne peut pas être "
            "vérifiée",
            f"not checked: the certificate of {issuer} is unknown, its CRL cannot be verified",
        )
        return not_checked(subject.part, found, expected)
    serial = int(cert.serial_number)
    for crl in current:
        if not any(_crl_signature_verifies(_crl_der(crl), i) for i in issuers):
            return Outcome(
                subject.part,
                False,
                Bilingual(
                    "la signature de la LCR ne se vérifie pas avec la clé de son émetteur",
                    "the CRL's signature does not verify with its issuer's key",
                ),
                Bilingual("une LCR signée par l'émetteur", "a CRL signed by the issuer"),
            )
        # cryptography's look-up refuses a negative serial (RFC 5280 forbids it, a damaged
        # certificate has one): the entries are then searched one by one.
        revoked = (
            crl.get_revoked_certificate_by_serial_number(serial)
            if serial >= 0
            else next((r for r in crl if r.serial_number == serial), None)
        )
        if revoked is not None:
            when = revoked.revocation_date_utc
            if when <= subject.moment:
                found = Bilingual(
                    f"{label.fr} révoqué le {when:%Y-%m-%d}",
                    f"{label.en} revoked on {when:%Y-%m-%d}",
                )
                return Outcome(subject.part, False, found, expected)
    found = Bilingual(
        f"numéro de série {serial:#x} absent de {len(current)} LCR",
        f"serial {serial:#x} not on {len(current)} CRL(s)",
    )
    return Outcome(subject.part, True, found, expected)


def _name(name: asn1_x509.Name) -> str:
    return str(name.human_friendly)


# CRLs signed with these hashes prove nothing (the receiver refuses them too: smime/validate.py).
_REFUSED_CRL_HASHES = frozenset({"md2", "md5"})


def _unusable(crl: x509.CertificateRevocationList, subject: Subject) -> Bilingual | None:
    """Why this CRL cannot tell the status at the subject's moment, or None when it can."""
    next_update = crl.next_update_utc
    if next_update is None:
        return Bilingual(
            "n'a pas de prochaine mise à jour (RFC 5280 5.1.2.5) : elle n'est jamais à jour",
            "has no next update (RFC 5280 5.1.2.5): it is never current",
        )
    if subject.moment > next_update:
        when, day = subject.moment_source, f"{subject.moment:%Y-%m-%d}"
        return Bilingual(
            f"est périmée : prochaine mise à jour le {next_update:%Y-%m-%d}, avant "
            f"{when.fr} ({day})",
            f"is out of date: next update {next_update:%Y-%m-%d}, before {when.en} ({day})",
        )
    try:
        algorithm = crl.signature_hash_algorithm
    except UnsupportedAlgorithm:
        algorithm = None  # judged when its signature is checked
    hash_name = algorithm.name if algorithm is not None else ""
    if hash_name in _REFUSED_CRL_HASHES:
        return Bilingual(
            f"est signée en {hash_name}, un condensé refusé",
            f"is signed with {hash_name}, a refused hash",
        )
    return None


Origin = Literal["anchor", "message", "identity"]


class _Issuer(NamedTuple):
    """What may have signed a CRL or a certificate: its subject's DER, its DER, and where it
    was found (a trust anchor, the message's certificates, --identity's chain.pem)."""

    name: bytes
    der: bytes
    origin: Origin
    issuer: bytes  # the issuer's name DER: the same as `name` for a self-issued root

    @property
    def anchor(self) -> bool:
        return self.origin == "anchor"


def _issuers(context: Context) -> list[_Issuer]:
    """The anchors, then the message's certificates and the CAs of --identity's chain.pem
    (an encrypted-only message carries no certificate): every walk up a path looks here.
    Made once per check."""
    return context.memo("issuers", lambda: _find_issuers(context))


def _find_issuers(context: Context) -> list[_Issuer]:
    found = [
        _Issuer(
            c.subject.public_bytes(),
            c.public_bytes(serialization.Encoding.DER),
            "anchor",
            c.issuer.public_bytes(),
        )
        for c in context.trust
    ]
    others: list[tuple[asn1_x509.Certificate, Origin]] = [
        *((c, "message") for c in context.message_certificates()),
        *((c, "identity") for c in context.identity_chain),
    ]
    for c, origin in others:
        try:
            found.append(_Issuer(c.subject.dump(), c.dump(), origin, c.issuer.dump()))
        except ValueError:
            continue  # a name asn1crypto cannot re-encode: no issuer here
    return found


def _crl_der(crl: x509.CertificateRevocationList) -> bytes:
    return crl.public_bytes(serialization.Encoding.DER)


@functools.lru_cache(maxsize=256)
def _crl_signature_verifies(crl_der: bytes, issuer_der: bytes) -> bool:
    """The CRL's signature checked by pyhanko's validator (RSA, RSA-PSS, DSA, ECDSA: the
    algorithms a path validation takes), not only RSA as cryptography's `is_signature_valid`.
    Cached: the same CRLs and issuers recur across the messages of a run."""
    from pyhanko_certvalidator.sig_validate import DefaultSignatureValidator

    try:
        parsed = asn1_crl.CertificateList.load(crl_der)
        DefaultSignatureValidator().validate_signature(
            bytes(parsed["signature"]),
            parsed["tbs_cert_list"].dump(),
            asn1_x509.Certificate.load(issuer_der).public_key,
            parsed["signature_algorithm"],
        )
    except (
        InvalidSignature,
        UnsupportedAlgorithm,
        ValueError,
        TypeError,
        KeyError,
        AssertionError,
    ):
        # AssertionError: pyhanko asserts the key type matches the algorithm (a DSA key
        # offered for an RSA signature): that key did not sign it.
        return False
    return True


@rule(
    "CERT-003",
    "Certificate not revoked",
    "RFC 5280 5.3 / 6.3",
    "The certificate is not on the CRL of its issuer among the given CRLs (--crl) "
    "at the signing time; for a signer, neither is any CA above it up to the trust anchor. "
    "Only a CRL current at that time (before its next update) whose signature verifies with "
    "the issuer's key (the issuer found among the anchors, the message's certificates and the "
    "CAs of --identity's chain.pem) tells the status; otherwise: not checked.",
)
def revocation(context: Context) -> Iterator[Outcome]:
    for subject in _all_subjects(context):
        yield _revocation(context, subject)


@rule(
    "CERT-004",
    "Signature certificate allows non-repudiation",
    "OSM/CPS: signature key / RFC 5280 4.2.1.3",
    "A CPS signature certificate has the nonRepudiation (contentCommitment) key usage; without it "
    "the signature gives authentication, not non-repudiation.",
)
def non_repudiation(context: Context) -> Iterator[Outcome]:
    for subject in _signature_subjects(context):
        usage = certs.key_usage(subject.certificate)
        ok = usage is not None and "non_repudiation" in usage
        found = Bilingual("keyUsage : ", "key usage: ") + _usage_text(usage)
        yield Outcome(subject.part, ok, found, "nonRepudiation")


@rule(
    "CERT-005",
    "Encryption certificate allows key encipherment",
    "RFC 8550 4.4.2 / RFC 5280 4.2.1.3",
    "The certificate a RecipientInfo names has the keyEncipherment key usage (RSA key transport).",
)
def key_encipherment(context: Context) -> Iterator[Outcome]:
    for subject in _encryption_subjects(context):
        usage = certs.key_usage(subject.certificate)
        ok = usage is None or "key_encipherment" in usage
        name = certs.subject_text(subject.certificate)
        found = Bilingual(f"{name} : keyUsage ", f"{name}: key usage ") + _usage_text(usage)
        yield Outcome(subject.part, ok, found, "keyEncipherment")


@rule(
    "CERT-006",
    "Extended key usage allows email protection",
    "RFC 8550 4.4.4",
    "When present, the extended key usage holds emailProtection (or anyExtendedKeyUsage).",
)
def email_protection(context: Context) -> Iterator[Outcome]:
    for subject in _all_subjects(context):
        eku = certs.extended_key_usage(subject.certificate)
        if eku is None:
            role = subject.role_words
            found = Bilingual(
                f"{role.fr} : pas d'extendedKeyUsage (tout usage)",
                f"{role.en}: no extended key usage (any use)",
            )
            yield Outcome(subject.part, True, found, "emailProtection")
            continue
        ok = bool({certs.EMAIL_PROTECTION, certs.ANY_EKU} & eku)
        found = subject.role_words + _SEP + Bilingual.same(", ".join(sorted(map(oids.shown, eku))))
        yield Outcome(subject.part, ok, found, "emailProtection")


@rule(
    "CERT-007",
    "Sender address equals the certificate's",
    "RFC 8550 3 / RFC 8551 3.1 / RFC 5322 3.6.2 / OSM",
    "The message has one author (one From field with one mailbox, or a Sender field naming "
    "one when From holds several) and that address is one of the signature certificate's "
    "rfc822Name (or emailAddress) values: otherwise the signature does not authenticate the "
    "author, though it may still protect integrity.",
)
def sender_address(context: Context) -> Iterator[Outcome]:
    headers = context.root.headers
    written = author(headers.get_all("from", []), headers.get_all("sender", []))
    for subject in _signature_subjects(context):
        addresses = certs.emails(subject.certificate)
        ok = written.address is not None and written.address in addresses
        shown = ", ".join(sorted(addresses))
        problem, described = author_text(written)
        found = Bilingual(
            f"{described.fr} ; certificat : {shown or 'aucune adresse'}",
            f"{described.en}; certificate: {shown or 'no address'}",
        )
        if written.address is None:
            found = (
                Bilingual(
                    f"{problem.fr} (l'auteur est ambigu) ; ",
                    f"{problem.en} (the author is ambiguous); ",
                )
                + found
            )
        wanted = Bilingual(
            "un seul auteur, égal à une adresse du certificat",
            "one author, equal to a certificate address",
        )
        yield Outcome(subject.part, ok, found, wanted)


@rule(
    "CERT-008",
    "National identifier present and well-formed",
    "CPS: idNat in the subject serialNumber",
    "The signature certificate's subject serialNumber holds the professional's idNat: 12 digits "
    "(RPPS or ADELI with its prefix).",
)
def national_identifier(context: Context) -> Iterator[Outcome]:
    for subject in _signature_subjects(context):
        values = certs.serial_numbers(subject.certificate)
        ok = len(values) == 1 and bool(certs.IDNAT.match(values[0]))
        found = (
            Bilingual.same(f"serialNumber {', '.join(values)}")
            if values
            else Bilingual("pas de serialNumber dans le sujet", "no subject serialNumber")
        )
        wanted = Bilingual("un serialNumber de 12 chiffres", "one serialNumber of 12 digits")
        yield Outcome(subject.part, ok, found, wanted)


@rule(
    "CERT-009",
    "National identifier is not a test identifier",
    "CPS: test cards use idNat 8997...",
    "Test CPS cards carry identifiers beginning with 8997: reported for information.",
)
def test_identifier(context: Context) -> Iterator[Outcome]:
    for subject in _signature_subjects(context):
        values = [v for v in certs.serial_numbers(subject.certificate) if certs.IDNAT.match(v)]
        if not values:
            continue
        test = values[0].startswith(certs.TEST_IDNAT_PREFIX)
        found = Bilingual.same(f"idNat {values[0]}")
        if test:
            found += Bilingual(" (un identifiant de test)", " (a test identifier)")
        wanted = Bilingual("un identifiant de production", "a production identifier")
        yield Outcome(subject.part, not test, found, wanted)


@rule(
    "CERT-010",
    "RSA and DSA key size allowed by the policy",
    "RFC 8551 2.2 / ANSSI RGS B1",
    "RSA and DSA keys of at least the policy's minimum (2048 bits: RGS B1 sets the same floor "
    "for both, and the receiver refuses shorter ones of either).",
)
def key_size(context: Context) -> Iterator[Outcome]:
    minimum = context.policy.min_rsa_bits
    for subject in _all_subjects(context):
        facts = certs.key_facts(subject.certificate)
        if facts.rsa_bits is not None:
            name, bits = "RSA", facts.rsa_bits
        else:
            dsa_bits = certs.dsa_bits(subject.certificate)
            if dsa_bits is None:
                continue
            name, bits = "DSA", dsa_bits
        yield Outcome(
            subject.part,
            bits >= minimum,
            subject.role_words + _SEP + Bilingual.same(f"{name} {bits} bits"),
            Bilingual(f"au moins {minimum} bits", f"at least {minimum} bits"),
        )


@rule(
    "CERT-011",
    "Certificate signature algorithm allowed by the policy",
    "RFC 5280 4.1.1.2 / RFC 8551 2.2",
    "The issuer signed the certificate with a hash the policy accepts "
    "(SHA-1 only tolerated in osm-2008).",
)
def certificate_signature(context: Context) -> Iterator[Outcome]:
    for subject in _all_subjects(context):
        hash_name = certs.signature_hash(subject.certificate)
        role, named = subject.role_words, oids.shown(hash_name)
        found = Bilingual(f"{role.fr} : signé en {named}", f"{role.en}: signed with {named}")
        yield graded(context, "certificate_signature", subject.part, hash_name, found)


@rule(
    "CERT-012",
    "Public key algorithm identifier standard",
    "RFC 3279 2.3.1 / GIP-CPS",
    "The key is tagged rsaEncryption. The non-standard GIP-CPS RSA key OID 1.2.250.1.71.2.6.1 of "
    "early CPS cards is recognised and reported: many tools cannot parse it.",
)
def key_algorithm(context: Context) -> Iterator[Outcome]:
    expected = f"rsaEncryption ({certs.RSA_ENCRYPTION})"
    for subject in _all_subjects(context):
        facts = certs.key_facts(subject.certificate)
        if facts.algorithm_oid == certs.RSA_ENCRYPTION and facts.error is None:
            found = subject.role_words + _SEP + Bilingual.same("rsaEncryption")
            yield Outcome(subject.part, True, found, expected)
        elif facts.algorithm_oid == certs.GIP_CPS_RSA_OID:
            yield Outcome(
                subject.part,
                False,
                Bilingual(
                    f"{subject.role_words.fr} : OID de clé RSA GIP-CPS non standard "
                    f"{certs.GIP_CPS_RSA_OID}, que beaucoup d'outils ne savent pas lire",
                    f"{subject.role}: non-standard GIP-CPS RSA key OID {certs.GIP_CPS_RSA_OID}, "
                    "many tools cannot parse it",
                ),
                expected,
                "WARNING",
            )
        else:
            found = subject.role_words + _SEP + Bilingual.same(oids.shown(facts.algorithm_oid))
            if facts.error:
                found += Bilingual.same(" (") + facts.error + Bilingual.same(")")
            yield Outcome(subject.part, False, found, expected)
