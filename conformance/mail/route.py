"""Routes: a message submitted over SMTP, relayed through the listed hops, read back from
the store. The SMTP transport of the matrix is `Route.transport`.

A route is: the submission server (a plain relay that gives a message without one its
Message-ID, as submission servers do), each hop of `via` in order, then the store's
inbound server. Every hop is a real SMTP server on loopback relaying to the next with
the suite's SMTP client; a gateway hop rewrites the message first (conformance.mail
.gateways). Hops are started from the store back to the submission server, and all of
them stopped when the route closes, however it closes.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from email.utils import getaddresses

from conformance.core.bilingual import Bilingual
from conformance.core.mime import header_fields, read
from conformance.errors import UserError
from conformance.mail.delivery import DeliveryError, OverRouteLimit
from conformance.mail.endpoint import Endpoint, HopFactory, HopSettings
from conformance.mail.gateways import GATEWAYS, Rewrite
from conformance.mail.maildir import message_id_of
from conformance.mail.postfix import postfix_hop
from conformance.mail.smtp_server import (
    Envelope,
    Refused,
    ServerOptions,
    canonical_lines,
    smtp_server,
    submit,
)
from conformance.mail.store import Delivery, MailStore, StoreError

POSTFIX = "postfix"
SUBMISSION = "submission"
SEVEN_BIT_RELAY = "relay-7bit"
DEFAULT_SENDER = "postmaster@localhost"
MESSAGE_ID_DOMAIN = "osm-conformance.localhost"
DELIVERY_WAIT_S = 15.0  # a queueing hop (Postfix) delivers a moment after accepting


def message_id_for(message: bytes) -> str:
    """The Message-ID the submission server gives a message that has none: derived from
    its bytes, so that the sender can find its message in the store."""
    return f"<{hashlib.sha256(message).hexdigest()[:32]}@{MESSAGE_ID_DOMAIN}>"


def with_message_id(message: bytes) -> bytes:
    """The message, with a Message-ID field added last in its header if it had none."""
    if message_id_of(message) is not None:
        return message
    root = read(message)
    if not root.has_headers:
        return f"Message-ID: {message_id_for(message)}\r\n\r\n".encode() + message
    header = root.raw[: root.body_offset]
    end = len(header.rstrip(b"\r\n"))
    field = f"\r\nMessage-ID: {message_id_for(message)}".encode()
    return message[:end] + field + message[end:]


def _one_line(text: str) -> str:
    return " ".join(text.split())


def relay_hop(rewrite: Rewrite | None = None, *, eight_bit_mime: bool = True) -> HopFactory:
    """A hop: an SMTP server relaying every message it accepts to `next_hop`, rewritten
    first by `rewrite`; it announces SIZE when the settings give one, and 8BITMIME unless
    told not to. A refusal of the next hop is the hop's own answer to its client (with
    the next hop's code), so that nothing is accepted that was not passed on."""

    @contextmanager
    def hop(next_hop: Endpoint, settings: HopSettings) -> Iterator[Endpoint]:
        def relay(envelope: Envelope) -> None:
            content = rewrite(envelope.content) if rewrite is not None else envelope.content
            try:
                submit(next_hop, content, envelope.mail_from, envelope.rcpt_tos)
            except DeliveryError as exc:
                code = exc.code if exc.code is not None and exc.code >= 400 else 451
                detail = "4.4.1 next hop unreachable" if exc.code is None else "relay refused"
                raise Refused(code, _one_line(f"{detail}: {exc}")) from None

        options = ServerOptions(
            eight_bit_mime=eight_bit_mime, size_limit=settings.max_message_bytes
        )
        with smtp_server(relay, options) as endpoint:
            yield endpoint

    return hop


def _hops() -> dict[str, HopFactory]:
    hops: dict[str, HopFactory] = {}
    for gateway in GATEWAYS.values():
        if gateway.stage == "relay":
            hops[gateway.id] = relay_hop(gateway.rewrite, eight_bit_mime=gateway.eight_bit_mime)
        else:  # the store's rewrite is the route's to make, on what the store serves
            hops[gateway.id] = relay_hop()
    hops[POSTFIX] = postfix_hop
    return hops


HOPS: dict[str, HopFactory] = _hops()
# What each hop stands for, in both languages (the help, results.json and the report say
# it): a gateway's own line, and the real MTA.
HOP_STANDS_FOR: dict[str, Bilingual] = {
    **{g.id: g.stands_for for g in GATEWAYS.values()},
    # What the hop is, not that it ran: where it cannot run, its cells say why.
    POSTFIX: Bilingual(
        "le vrai Postfix (une instance propre à la suite), relayant vers un serveur sans "
        "8BITMIME (sa propre conversion MIME)",
        "the real Postfix MTA (an instance of the suite's own), relaying to a next hop "
        "without 8BITMIME (its own MIME conversion)",
    ),
}
# After Postfix, a relay without 8BITMIME: so that Postfix's own conversion rewrites.
_AFTER: dict[str, tuple[str, HopFactory]] = {
    POSTFIX: (SEVEN_BIT_RELAY, relay_hop(eight_bit_mime=False))
}


def check_via(via: Sequence[str]) -> tuple[str, ...]:
    """The hop ids, or a UserError naming the unknown ones and listing the known."""
    unknown = [hop for hop in via if hop not in HOPS]
    if unknown:
        raise UserError(
            f"unknown hop(s) {', '.join(repr(h) for h in unknown)}; "
            f"known: {', '.join(sorted(HOPS))}"
        )
    return tuple(via)


# A plain address (no quoting, no route, a dotted domain): what an envelope can carry as is.
_PLAIN_ADDRESS = re.compile(r"[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+")


def envelope_sender(message: bytes, default: str = DEFAULT_SENDER) -> str:
    """The envelope sender of a message: its author when From: names one plain address
    (a hostile message may carry anything there), else `default`. It decides nothing a
    receiver shows."""
    header = header_fields(message)  # the header alone: a large message is not read whole
    found = [a for _, a in getaddresses([str(v) for v in header.get_all("from", [])]) if a]
    return found[0] if len(found) == 1 and _PLAIN_ADDRESS.fullmatch(found[0]) else default


@dataclass(frozen=True)
class Route:
    """An open route: where to submit, the chain a message travels, how it is read."""

    via: tuple[str, ...]
    chain: tuple[tuple[str, Endpoint], ...]  # (name, endpoint), submission first, store last
    store: MailStore
    store_rewrites: tuple[Rewrite, ...]
    wait_s: float = DELIVERY_WAIT_S
    max_message_bytes: int | None = None  # the SIZE its relays announce (HopSettings)

    @property
    def delivery(self) -> Delivery:
        return self.store.delivery

    @property
    def entry(self) -> Endpoint:
        return self.chain[0][1]

    def describe(self) -> str:
        return " -> ".join(f"{name} {endpoint}" for name, endpoint in self.chain)

    def transport(self, message: bytes, recipient: str) -> bytes:
        """Submit `message` for `recipient`, wait until the store has it, take it and
        return it as the store serves it; DeliveryError (naming the chain) otherwise, an
        OverRouteLimit when a message over `max_message_bytes` was refused for its size."""
        sent = canonical_lines(message)
        message_id = message_id_of(sent) or message_id_for(sent)
        try:
            submit(self.entry, sent, envelope_sender(sent), [recipient])
        except DeliveryError as exc:
            said = f"{exc} (route {self.describe()})"
            limit = self.max_message_bytes
            if exc.code == 552 and limit is not None and len(sent) > limit:
                # The submission relay announces the tester's SIZE: over it, nothing else
                # of the road was tried.
                raise OverRouteLimit(
                    said, size=len(sent), limit=limit, code=exc.code, endpoint=exc.endpoint
                ) from None
            raise DeliveryError(said, code=exc.code, endpoint=exc.endpoint) from None
        deadline = time.monotonic() + self.wait_s
        pause = 0.01
        while True:
            try:
                delivered = self.store.take(recipient, message_id)
                break
            except StoreError as exc:
                if time.monotonic() >= deadline:
                    raise DeliveryError(
                        f"accepted but not delivered to {recipient} within {self.wait_s:g} s "
                        f"({exc}; route {self.describe()})"
                    ) from None
            time.sleep(pause)
            pause = min(pause * 2, 0.2)
        for rewrite in self.store_rewrites:
            delivered = rewrite(delivered)
        return delivered


@contextmanager
def open_route(
    via: Sequence[str],
    store: MailStore,
    settings: HopSettings | None = None,
    *,
    wait_s: float = DELIVERY_WAIT_S,
) -> Iterator[Route]:
    """The route through `via` (hop ids, in order) to `store` (already open), its hops
    running until the block ends; a message accepted but not in the store after `wait_s`
    seconds is not delivered. A real server among the hops that cannot run here is a
    MissingComponent, one that is there but does not start a ServerNotStarted (one too),
    the hops already started stopped again."""
    via = check_via(via)
    settings = settings or HopSettings()
    plan: list[tuple[str, HopFactory]] = [(SUBMISSION, relay_hop(with_message_id))]
    for hop in via:
        plan.append((hop, HOPS[hop]))
        if hop in _AFTER:
            plan.append(_AFTER[hop])
    rewrites = tuple(
        GATEWAYS[h].rewrite for h in via if h in GATEWAYS and GATEWAYS[h].stage == "store"
    )
    with ExitStack() as stack:
        next_hop = store.inbound
        chain: list[tuple[str, Endpoint]] = [(store.delivery, next_hop)]
        for name, factory in reversed(plan):
            next_hop = stack.enter_context(factory(next_hop, settings))
            chain.insert(0, (name, next_hop))
        yield Route(via, tuple(chain), store, rewrites, wait_s, settings.max_message_bytes)
