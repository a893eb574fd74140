"""The send side: every message the product submitted, read by the suite.

Each message is read by the `reference` receiver (the reader that follows the standard,
keys in software, policy osm-2008) as each of its recipients that is a test identity,
and checked by the validator (conformance.check) with that recipient's key. What the
reading shows decides which function the message does (signed and encrypted,
encrypted, signed, or neither), and the matrix's rule judges it for that function
(`vectors.verify.judge`: no error, the function's services held, content recovered).
What the message really used (digest, cipher...) is compared with what the product's
profile declares, as `vectors verify` does.

A recipient that is no test identity cannot be read with its key: the message is read
as the product's own user, and an encrypted one then says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from email.header import decode_header, make_header
from email.utils import getaddresses, parseaddr
from pathlib import Path
from typing import Any

from conformance.agents import identity_files as files
from conformance.agents.base import Agent, ReceiveRequest
from conformance.core.mime import header_fields
from conformance.core.vocabulary import Function, Party
from conformance.matrix.sent import algorithms_in
from conformance.profiles.schema import Profile
from conformance.vectors.common import shipped_profiles
from conformance.vectors.manifest import ExportManifest
from conformance.vectors.validator import validate
from conformance.vectors.verify import judge, undeclared

MEASUREMENT = "measured: the product's messages read by the suite"
READER = "reference"


@dataclass(frozen=True)
class Envelope:
    """What the submission server knew of one message besides its bytes."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    user: str | None  # the account that authenticated
    received: str  # ISO time


@dataclass
class Judged:
    """One message the product sent, as read for one recipient."""

    file: str  # received/NNNN.eml
    recipient: str  # address read as
    recipient_identity: str | None
    subject: str
    sender: str  # From:
    sender_identity: str | None  # the test identity of From:, if it is one
    signed: bool
    encrypted: bool
    decrypted: bool
    readable: bool  # the reader recovered the content without error
    function: Function | None  # what the message does, from the reading; None: neither
    verdict: str  # the matrix's verdict for that function (pass/fail/error); "plain"
    reason: str | None
    services: dict[str, bool] = field(default_factory=dict)
    validator: str = ""  # "3 error, 1 warning, ..."
    validator_errors: list[str] = field(default_factory=list)
    validator_warnings: list[str] = field(default_factory=list)
    sent: dict[str, list[str]] = field(default_factory=dict)
    undeclared: list[str] = field(default_factory=list)

    @property
    def shown(self) -> str:
        """One line for a person: what the message is and whether it reads."""
        kind = (
            "signed and encrypted"
            if self.signed and self.encrypted
            else "encrypted, not signed"
            if self.encrypted
            else "signed, not encrypted"
            if self.signed
            else "not signed, not encrypted"
        )
        read = "readable" if self.readable else "NOT readable"
        return f"{kind}; {read}" + (f" ({self.reason})" if self.reason else "")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["shown"] = self.shown
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Judged:
        """A judgement written by `to_json` (an earlier session's, kept in judged.json)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class Context:
    """What every judgement needs: the test identities (by address), trust, the product."""

    identities: Mapping[str, Path]  # lower-case e-mail -> exported identity directory
    trust: tuple[Path, ...]
    crls: tuple[Path, ...]
    product: Profile
    inbox: str  # the product's user, read as when no recipient is a test identity


def decoded(value: str) -> str:
    """A header as a person reads it (RFC 2047 encoded words decoded, if they decode)."""
    try:
        return str(make_header(decode_header(value)))
    except (ValueError, LookupError, UnicodeError):
        return value


def make_context(manifest: ExportManifest, vectors: Path) -> Context:
    """The context of an export folder: its identities by address, its CA and CRLs."""
    identities: dict[str, Path] = {}
    for directory in sorted((vectors / "identities").iterdir()):
        data = files.identity_json(directory)
        identities[str(data["email"]).lower()] = directory.resolve()
    ca = vectors / "ca"
    return Context(
        identities=identities,
        trust=(ca / "root.pem",),
        crls=(ca / "root.crl.pem", ca / "intermediate.crl.pem"),
        product=shipped_profiles()[manifest.product],
        inbox=manifest.recipient_email,
    )


def function_of(signed: bool, encrypted: bool) -> Function | None:
    if encrypted:
        return "sign-encrypt" if signed else "encrypt"
    return "sign" if signed else None


@dataclass(frozen=True)
class _Seen:
    """What a judgement says of the message whoever reads it."""

    file: str
    subject: str
    sender: str
    sender_identity: str | None


def judge_message(
    message: bytes, envelope: Envelope, file: str, context: Context, reader: Agent
) -> list[Judged]:
    """One judgement per recipient of the envelope that is a test identity (at least one)."""
    head = header_fields(message)
    sender = parseaddr(str(head.get("From", "")))[1]
    origin = context.identities.get(sender.lower())
    seen = _Seen(
        file,
        " ".join(decoded(str(head.get("Subject", ""))).split()),
        sender,
        origin.name if origin is not None else None,
    )
    recipients = [r for r in envelope.rcpt_tos if r.lower() in context.identities]
    if not recipients:  # read as the product's own user, under the address it was sent to
        recipients = list(envelope.rcpt_tos[:1]) or [context.inbox]
    return [_judge_for(message, r, envelope, seen, context, reader) for r in recipients]


def _judge_for(
    message: bytes,
    recipient: str,
    envelope: Envelope,
    seen: _Seen,
    context: Context,
    reader: Agent,
) -> Judged:
    known = recipient.lower() in context.identities
    directory = context.identities[recipient.lower() if known else context.inbox.lower()]
    party = Party(directory, recipient, recipient)
    reception = reader.receive(ReceiveRequest(message, party, context.trust, context.crls))
    status = reception.status
    function = function_of(status.signed, status.encrypted)
    reading = judge(READER, function or "sign", reception, None)
    readable = reception.content is not None and status.primary_error() is None
    verdict: str = reading.verdict
    reason = reading.reason
    if function is None:
        verdict = "plain"
        reason = None if readable else reading.reason
    if status.encrypted and not known:
        reason = f"{recipient} is not a test identity: read as {context.inbox}" + (
            f"; {reason}" if reason else ""
        )
    senders = [a for _, a in getaddresses([envelope.mail_from]) if a]
    validation = validate(
        message,
        identity_dir=directory,
        trust=context.trust,
        crls=context.crls,
        expected_sender=senders[0] if senders else None,
        expected_recipient=recipient,
    )
    sent = algorithms_in(validation.layers)
    return Judged(
        file=seen.file,
        recipient=recipient,
        recipient_identity=directory.name if known else None,
        subject=seen.subject,
        sender=seen.sender,
        sender_identity=seen.sender_identity,
        signed=status.signed,
        encrypted=status.encrypted,
        decrypted=status.decrypted,
        readable=readable,
        function=function,
        verdict=verdict,
        reason=reason,
        services=reading.services,
        validator=validation.summary() if validation.available else validation.text,
        validator_errors=validation.failed,
        validator_warnings=validation.warnings,
        sent={k: v for k, v in sent.items() if v},
        undeclared=undeclared(sent, context.product) if sent else [],
    )


def verify_entries(judged: Sequence[Judged]) -> list[dict[str, str]]:
    """The received S/MIME messages as `vectors verify` manifest entries (file relative to
    OUT/received), so that the product's row against every receiver is one command away."""
    entries = []
    for j in judged:
        if j.function is None or j.recipient_identity is None:
            continue
        entry = {"file": Path(j.file).name, "recipient": j.recipient_identity}
        entry["function"] = j.function
        if j.sender_identity is not None:
            entry["sender"] = j.sender_identity
        entries.append(entry)
    return entries
