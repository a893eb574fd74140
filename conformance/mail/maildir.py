"""The store without Dovecot: an SMTP server writing every message into maildirs.

One maildir per recipient, `ROOT/<address>/` (mailbox.Maildir: written in tmp/, renamed
into new/, so a reader never sees half a message). The receiving side reads the files
back as they were received over SMTP (CRLF line ends).
"""

from __future__ import annotations

import mailbox
import re
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType

from conformance.core.mime import header_fields
from conformance.mail.endpoint import Endpoint
from conformance.mail.smtp_server import Envelope, Refused, ServerOptions, smtp_server
from conformance.mail.store import Delivery, StoreError

_UNSAFE = re.compile(r"[^a-z0-9@._+-]")


def folder_name(address: str) -> str:
    """The directory of a recipient's maildir: the address in lower case, any character
    a file name should not hold replaced by "_"."""
    name = _UNSAFE.sub("_", address.strip().lower())
    return name if name.strip(".") else f"_{name}"  # never "", "." or ".."


def bare_message_id(value: str) -> str:
    """A Message-ID without its angle brackets and folding whitespace."""
    return "".join(value.split()).strip("<>")


def message_id_of(message: bytes) -> str | None:
    value = header_fields(message).get("Message-ID")
    return bare_message_id(str(value)) if value else None


class MaildirStore:
    """A MailStore (conformance.mail.store) of maildirs under `root`, fed over SMTP:
    `with MaildirStore(root) as store:` starts its SMTP server, stopped at the end."""

    def __init__(self, root: Path, options: ServerOptions | None = None) -> None:
        self.root = root
        self._options = options or ServerOptions()
        self._stack: ExitStack | None = None
        self._inbound: Endpoint | None = None

    @property
    def delivery(self) -> Delivery:
        return "maildir"

    @property
    def inbound(self) -> Endpoint:
        if self._inbound is None:
            raise StoreError("the maildir store is not started (use it in a `with` block)")
        return self._inbound

    def maildir(self, recipient: str) -> mailbox.Maildir:
        return mailbox.Maildir(self.root / folder_name(recipient), create=True)

    def _deliver(self, envelope: Envelope) -> None:
        try:
            for recipient in envelope.rcpt_tos:
                self.maildir(recipient).add(envelope.content)
        except OSError as exc:
            raise Refused(451, f"4.3.0 cannot store the message: {exc}") from None

    def take(self, recipient: str, message_id: str) -> bytes:
        wanted = bare_message_id(message_id)
        box = self.maildir(recipient)
        for key in list(box.iterkeys()):
            try:
                data = box.get_bytes(key)
            except (KeyError, OSError):
                continue  # taken meanwhile
            if message_id_of(data) == wanted:
                box.remove(key)
                return data
        raise StoreError(
            f"no message <{wanted}> in the mailbox of {recipient} "
            f"({self.root / folder_name(recipient)}: {len(box)} message(s))"
        )

    def __enter__(self) -> MaildirStore:
        self.root.mkdir(parents=True, exist_ok=True)
        stack = ExitStack()
        try:
            self._inbound = stack.enter_context(smtp_server(self._deliver, self._options))
        except BaseException:
            stack.close()
            raise
        self._stack = stack
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        stack, self._stack, self._inbound = self._stack, None, None
        if stack is not None:
            stack.close()
