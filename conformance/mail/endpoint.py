"""Where a mail server of the suite listens, and the shape of a hop a route can chain."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Endpoint:
    """A server the suite started on loopback: host, port, and for a server messages are
    handed to, the protocol it speaks (a hop speaks SMTP; Dovecot takes its deliveries by
    LMTP, RFC 2033, as it does behind a real MTA)."""

    host: str
    port: int
    protocol: Literal["smtp", "lmtp", "imap"] = "smtp"

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class HopSettings:
    """What every hop of a route is given: the SIZE it announces (`--max-message-bytes`;
    None: the hop's own default), and the work directory its server keeps its files in."""

    max_message_bytes: int | None = None


# A hop: started in front of `next_hop` (the following hop, or the final store's SMTP
# server), it yields where it listens and relays every message it accepts to next_hop.
HopFactory = Callable[[Endpoint, HopSettings], AbstractContextManager[Endpoint]]
