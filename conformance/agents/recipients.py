"""Finding the recipients' certificates when a sender was handed none (a first contact).

A product finds them the way its profile says (`send.recipient_certificate`):
in the CPS directory over LDAP, or not at all here (from a signed message
received earlier, or imported by hand: there is none of either for a colleague
never met). The profile agent looks up through LDAP itself. One rule for the real
engines without a directory client (openssl, NSS, BouncyCastle, Go pkcs7, PKI.js,
whose profiles say `directory` as a project choice; gpgsm without dirmngr): the
suite looks up on their behalf and says so in the evidence's notes, and records
it as facts (`Evidence.suite_lookup`: for whom, why, what it found or why it
failed) that the cell carries (`Cell.suite_lookup`). A failed lookup is a clear
refusal, never a message encrypted to some other key: the sender's own when the
product looked up itself, the suite's (nothing of the tool observed) when the
suite looked up for it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from conformance.agents.base import Evidence, SendRequest, SendResult
from conformance.core.vocabulary import CertificateSource
from conformance.directory.lookup import NO_CERTIFICATE, FailureKind, Lookup, LookupFailure
from conformance.errors import UserError
from conformance.functions import OPERATION
from conformance.results import SUITE_LOOKUP_WHY, LookupFound, SuiteLookup, SuiteLookupWhy
from conformance.status import ErrorCode

# How the evidence names a lookup the suite made for a tool without a directory client.
SUITE_LOOKUP = "the suite's lookup on behalf of"

HOW = {
    "prior-message": "from a signed message received earlier",
    "manual": "imported by hand",
}


def needs_lookup(request: SendRequest) -> bool:
    """The request encrypts and carries no certificate for its recipients."""
    return OPERATION[request.function] != "sign" and not request.recipients


def refusal(request: SendRequest, agent_id: str, how: CertificateSource) -> SendResult | None:
    """The refusal of a sender that does not look in the directory, when it must; else None."""
    if not needs_lookup(request) or how == "directory":
        return None
    to = ", ".join(request.recipient_emails) or "the recipient"
    return SendResult(
        None,
        ErrorCode.NO_RECIPIENT_CERTIFICATE,
        f"{NO_CERTIFICATE}: {to} ({agent_id} takes certificates {HOW[how]}; a colleague never "
        "met has sent none)",
    )


@dataclass(frozen=True)
class OnBehalf:
    """The suite looking up for a tool that cannot (`why`): its lookup is recorded as facts
    on the evidence (`Evidence.suite_lookup`), beside the notes."""

    tool: str
    why: SuiteLookupWhy

    def __str__(self) -> str:
        return f"{SUITE_LOOKUP} {self.tool} ({SUITE_LOOKUP_WHY[self.why]})"


def looked_up(request: SendRequest, ev: Evidence, who: str | OnBehalf) -> SendRequest | SendResult:
    """`request` with every recipient's encryption certificate found in its directory, or
    the refusal saying which lookup failed and why. `who` names who looked up: the product
    itself (its id), or the suite on a tool's behalf (`OnBehalf`, recorded as facts too)."""
    if not needs_lookup(request):
        return request
    if request.directory is None:
        to = ", ".join(request.recipient_emails) or "the recipient"
        return SendResult(
            None, ErrorCode.NO_RECIPIENT_CERTIFICATE, f"{NO_CERTIFICATE}: {to} (no directory given)"
        )
    found = []
    hits: list[LookupFound] = []
    failure: FailureKind | None = None
    reason = ""
    try:
        with Lookup(request.directory) as lookup:
            for mail in request.recipient_emails:
                hit = lookup.encryption_certificate(mail)
                found.append(hit.certificate)
                serial = f"{hit.certificate.serial_number:x}"
                hits.append(LookupFound(mail=mail, dn=hit.dn, serial=serial))
                ev.notes.append(
                    f"{who} {_found(hits[-1], request.directory)} ({hit.seconds * 1000:.1f} ms)"
                )
                ev.notes.extend(f"{who}: {note}" for note in hit.notes)
    except LookupFailure as exc:
        failure, reason = exc.kind, exc.reason
        ev.notes.append(_failed(who, failure, reason))
    except UserError as exc:  # a malformed directory address
        failure, reason = "bad-url", str(exc)
    if isinstance(who, OnBehalf):
        ev.suite_lookup = SuiteLookup(
            tool=who.tool,
            why=who.why,
            directory=str(request.directory),
            found=hits,
            failure=failure,
            reason=reason if failure is not None else None,
        )
    if failure is not None:
        return SendResult(None, ErrorCode.NO_RECIPIENT_CERTIFICATE, reason, ev)
    return replace(request, recipients=tuple(found))


def _failed(who: object, kind: str, reason: str | None) -> str:
    return f"{who}: lookup failed ({kind}): {reason}"


def _found(hit: LookupFound, directory: str) -> str:
    return (
        f"looked {hit.mail} up in {directory}: {hit.dn}, encryption certificate serial {hit.serial}"
    )


def described(lookup: SuiteLookup) -> str:
    """The suite's lookup in English, as the evidence notes it (without the timing): a
    reason of the suite's, for a cell or a fault cell."""
    who = OnBehalf(lookup.tool, lookup.why)
    if lookup.failure is not None:
        return _failed(who, lookup.failure, lookup.reason)
    return f"{who} " + "; ".join(_found(hit, lookup.directory) for hit in lookup.found)
