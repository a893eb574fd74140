"""Finding the recipients' certificates when a sender was handed none (a first contact).

A product finds them the way its profile says (`send.recipient_certificate`):
in the CPS directory over LDAP, or not at all here (from a signed message
received earlier, or imported by hand: there is none of either for a colleague
never met). The profile agent looks up through LDAP itself. One rule for the real
engines without a directory client (openssl, NSS, BouncyCastle, Go pkcs7, PKI.js,
whose profiles say `directory` as a project choice; gpgsm without dirmngr): the
suite looks up on their behalf and says so in the evidence, and the cell says so
too (`Cell.suite_lookup`). A failed lookup is the sender's clear refusal, never a
message encrypted to some other key.
"""

from __future__ import annotations

from dataclasses import replace

from conformance.agents.base import Evidence, SendRequest, SendResult
from conformance.core.vocabulary import CertificateSource
from conformance.directory.lookup import NO_CERTIFICATE, Lookup, LookupFailure
from conformance.errors import UserError
from conformance.functions import OPERATION
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


def looked_up(request: SendRequest, ev: Evidence, who: str) -> SendRequest | SendResult:
    """`request` with every recipient's encryption certificate found in its directory, or
    the refusal saying which lookup failed and why. `who` names who looked up (the
    product itself, or the suite on a tool's behalf), for the evidence."""
    if not needs_lookup(request):
        return request
    if request.directory is None:
        to = ", ".join(request.recipient_emails) or "the recipient"
        return SendResult(
            None, ErrorCode.NO_RECIPIENT_CERTIFICATE, f"{NO_CERTIFICATE}: {to} (no directory given)"
        )
    found = []
    try:
        with Lookup(request.directory) as lookup:
            for mail in request.recipient_emails:
                hit = lookup.encryption_certificate(mail)
                found.append(hit.certificate)
                serial = f"{hit.certificate.serial_number:x}"
                ev.notes.append(
                    f"{who} looked {mail} up in {request.directory}: {hit.dn}, encryption "
                    f"certificate serial {serial} ({hit.seconds * 1000:.1f} ms)"
                )
                ev.notes.extend(f"{who}: {note}" for note in hit.notes)
    except LookupFailure as exc:
        ev.notes.append(f"{who}: lookup failed ({exc.kind}): {exc.reason}")
        return SendResult(None, ErrorCode.NO_RECIPIENT_CERTIFICATE, exc.reason, ev)
    except UserError as exc:  # a malformed directory address
        return SendResult(None, ErrorCode.NO_RECIPIENT_CERTIFICATE, str(exc), ev)
    return replace(request, recipients=tuple(found))


def suite_lookup(ev: Evidence) -> str | None:
    """The evidence note of a lookup the suite made on a tool's behalf, or None when the
    product looked up itself: what the suite found is never credited to the tool."""
    return next((note for note in ev.notes if note.startswith(SUITE_LOOKUP)), None)
