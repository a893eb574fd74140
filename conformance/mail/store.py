"""Where the last hop of a route delivers, and where the receiving side reads it back.

Two stores: a maildir read as files (always available) and Dovecot, read over IMAP with
STARTTLS (when installed). The route does not know which one it has.
"""

from __future__ import annotations

import hashlib
from typing import Literal, Protocol

from conformance.mail.endpoint import Endpoint

Delivery = Literal["maildir", "imap"]


def mailbox_password(identity: str) -> str:
    """The test password of a test identity's mailbox (its PKI id, e.g. pro24): stable
    across starts (a mail client configured once keeps working), different per identity (a
    client logged in as one cannot pass for another by mistake). It protects nothing: the
    keys behind it are public test keys, and the servers listen on loopback."""
    return "osm-" + hashlib.sha256(f"osm-conformance serve {identity}".encode()).hexdigest()[:10]


class StoreError(Exception):
    """A message could not be delivered to, or read back from, the store."""


class MailStore(Protocol):
    """One mailbox per test identity (by e-mail address)."""

    @property
    def delivery(self) -> Delivery:
        """How the receiving side reads: "imap" (a real IMAP server) or "maildir" (files)."""
        ...

    @property
    def inbound(self) -> Endpoint:
        """Where the last hop of every route hands its messages (SMTP for the maildir
        store, LMTP for Dovecot): each accepted message goes into the mailbox of each
        recipient, as the store keeps it."""
        ...

    def take(self, recipient: str, message_id: str) -> bytes:
        """The message with this Message-ID from the recipient's mailbox, exactly as the
        store serves it, then removed from the mailbox (the next exchange of the same
        message finds its own copy); StoreError if it is not there. A message that arrived
        without a Message-ID got one from the first hop, as a submission server adds it."""
        ...
