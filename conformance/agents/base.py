"""The one protocol every agent implements.

An agent is a product (or a real engine) seen from outside: it sends a
message for a function, and it receives one and says what it found. The
matrix knows nothing else about it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol, runtime_checkable

from cryptography import x509

from conformance.core.vocabulary import Capabilities, Function, Party
from conformance.results import SuiteLookup
from conformance.status import ErrorCode, Status

if TYPE_CHECKING:
    from conformance.smime.receive_spooled import SpooledReading


@dataclass(frozen=True)
class SendRequest:
    function: Function
    content: bytes  # a MIME entity (headers + body), as the user composed it
    sender: Party
    recipients: tuple[x509.Certificate, ...]  # encryption certificates of the recipients
    recipient_emails: tuple[str, ...]
    recipient_parties: tuple[Party, ...] = ()  # the same recipients, when known as parties
    subject: str = ""
    date: str | None = None  # RFC 5322 date; None = now
    message_id: str | None = None  # None = generated
    # The CPS directory, ldap://HOST:PORT/BASE: where a sender handed no certificate for a
    # recipient (first contact, `recipients` empty) finds it, if its product looks there.
    directory: str | None = None


@dataclass
class Evidence:
    """What a tool printed, kept for the report. Paths are filled by the matrix."""

    command: list[str] = field(default_factory=list)
    stdout: bytes = b""
    stderr: bytes = b""
    notes: list[str] = field(default_factory=list)
    # the suite's lookup on the tool's behalf (recipients.looked_up), if it made one
    suite_lookup: SuiteLookup | None = None


@dataclass
class SendResult:
    message: bytes | None  # whole RFC 5322 message; None when sending failed
    error: ErrorCode | None = None
    reason: str = ""
    evidence: Evidence = field(default_factory=Evidence)


@dataclass(frozen=True)
class ReceiveRequest:
    message: bytes
    recipient: Party
    trust: tuple[Path, ...]  # CA certificates (PEM) to trust
    crls: tuple[Path, ...] = ()
    # The CPS directory: where a receiver whose profile says so fetches CRLs and the
    # certificate of a signer the message does not carry.
    directory: str | None = None


@dataclass
class Reception:
    content: bytes | None  # the innermost MIME entity, exactly as recovered
    status: Status
    evidence: Evidence = field(default_factory=Evidence)


@runtime_checkable
class Agent(Protocol):
    id: str

    def capabilities(self) -> Capabilities: ...

    def version(self) -> str: ...

    def send(self, request: SendRequest) -> SendResult: ...

    def receive(self, request: ReceiveRequest) -> Reception: ...


@runtime_checkable
class StreamingAgent(Protocol):
    """An agent that also sends and reads through streams, in bounded memory whatever the
    size (the built-in engine: `send_stream` writes the message to `out`, its result's
    message then empty; the caller closes the reading once it used the content)."""

    def send_stream(self, stream: BinaryIO, request: SendRequest, out: BinaryIO) -> SendResult: ...

    def receive_stream(self, stream: BinaryIO, request: ReceiveRequest) -> SpooledReading: ...
