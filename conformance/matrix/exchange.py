"""One exchange: a scenario sent by one agent, carried, read by another, judged.

The judgement is the only place where "did it work" is decided: the receiver
must report no error, hold every service the function promises, and have
recovered the content the sender's user composed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from cryptography import x509

from conformance.agents.base import Agent, ReceiveRequest, Reception, SendRequest, SendResult

# One error for "the harness or an agent broke" (a cell's `error`, never `fail`): the
# harness client's, so that a harness child's crash raised anywhere below is one too.
from conformance.agents.harness import HarnessError as HarnessError
from conformance.agents.recipients import described
from conformance.apicrypt.relay import addressed_to_relay, forward
from conformance.apicrypt.relay import transport as relay_transport
from conformance.check.policy import DEFAULT_POLICY
from conformance.core.vocabulary import Function, Party
from conformance.functions import FIRST_CONTACT, services_held, shortfall
from conformance.mail.delivery import DeliveryError, OverRouteLimit
from conformance.results import SENDER_REFUSED, UNDELIVERED, FailedAt, NotObserved
from conformance.scenarios import build_entity, compare
from conformance.scenarios.model import Scenario
from conformance.status import ErrorCode, Status


@dataclass(frozen=True)
class Addressee:
    """A professional one can encrypt to."""

    party: Party
    encryption_certificate: x509.Certificate


@dataclass(frozen=True)
class Seat(Addressee):
    """An agent with the professional who uses it in this exchange."""

    agent: Agent


# Carries a message to one recipient (an address); raises DeliveryError on a bounce.
Transport = Callable[[bytes, str], bytes]


@dataclass(frozen=True)
class World:
    """What every exchange shares: trust anchors, CRLs, extra recipients, the transport."""

    trust: tuple[Path, ...]
    crls: tuple[Path, ...]
    bystanders: tuple[Addressee, ...] = ()  # extra recipients for "several recipients" scenarios
    transport: Transport = relay_transport
    # Fixed, for reproducible messages; inside the test certificates' validity (2020-2045).
    date: str = "Tue, 15 Jul 2025 10:00:00 +0200"
    policy: str = DEFAULT_POLICY  # the run's policy: the validator judges the messages under it
    # The CPS directory (ldap://HOST:PORT/BASE) of a first contact: the sender is handed no
    # certificate and looks the recipients up there; None where the suite runs no slapd.
    directory: str | None = None
    directory_missing: str | None = None  # why there is no directory, when one was asked for


def through_relay(route: Transport) -> Transport:
    """A transport over a real route, the Apicrypt model relay in front: a message addressed
    to the relay is forwarded by it to the recipient first (the relay is the sender side's
    service: what it sends on travels the road like any mail), then carried by `route`."""

    def carry(message: bytes, recipient: str) -> bytes:
        if addressed_to_relay(message):
            message = forward(message, recipient)
        return route(message, recipient)

    return carry


@dataclass
class Observation:
    ok: bool
    reason: str | None
    services: dict[str, bool] = field(default_factory=dict)
    entity: bytes = b""
    message: bytes | None = None
    delivered: bytes | None = None
    send: SendResult | None = None
    reception: Reception | None = None
    # Set when the route's own size limit (--max-message-bytes) refused the message
    # (`undelivered`), or the suite's own lookup on a tool's behalf failed
    # (`send_refusal`), so nothing of the products was observed.
    not_observed: NotObserved | None = None
    failed_at: FailedAt | None = None  # the side it stopped at, when not ok

    @property
    def observed(self) -> bool:
        return self.not_observed is None


def send_request(
    scenario: Scenario, entity: bytes, sender: Seat, receiver: Seat, world: World
) -> SendRequest:
    """What the sender's user asks for: `entity` to the cell's receiver and the scenario's
    extra recipients (by certificate, or by address in the directory at a first contact)."""
    # Extra recipients are listed where the cell's receiver is, so that a sender's
    # choice of format (S/MIME or Apicrypt) is made for this receiver, not for them.
    extra = [
        Addressee(
            replace(b.party, directories=receiver.party.directories), b.encryption_certificate
        )
        for b in world.bystanders[: scenario.extra_recipients]
    ]
    recipients = (receiver, *extra)
    first = scenario.function in FIRST_CONTACT  # a colleague never met: no certificate at hand
    return SendRequest(
        function=scenario.function,
        content=entity,
        sender=sender.party,
        recipients=() if first else tuple(r.encryption_certificate for r in recipients),
        recipient_emails=tuple(r.party.email for r in recipients),
        recipient_parties=tuple(r.party for r in recipients),
        subject=scenario.subject,
        date=world.date,
        message_id=None,
        directory=world.directory if first else None,
    )


def exchange(scenario: Scenario, sender: Seat, receiver: Seat, world: World) -> Observation:
    entity = build_entity(scenario)
    request = send_request(scenario, entity, sender, receiver, world)
    sent = sender.agent.send(request)
    obs = Observation(ok=False, reason=None, entity=entity, send=sent)
    obs.reason, obs.not_observed = send_refusal(sent, sender)
    if sent.message is None:
        # the sender's answer, unless the suite's own lookup for it failed (not observed)
        obs.failed_at = stopped_at("sender", obs.ok, obs.observed)
        return obs
    obs.message = sent.message
    try:
        delivered = world.transport(sent.message, receiver.party.email)
    except DeliveryError as exc:
        obs.reason, obs.not_observed = undelivered(exc)
        obs.failed_at = stopped_at("route", obs.ok, obs.observed)
        return obs
    obs.delivered = delivered
    read_delivered(scenario, receiver, delivered, world, obs)
    obs.failed_at = stopped_at("receiver", obs.ok, obs.observed)
    return obs


def stopped_at(side: FailedAt, ok: bool, observed: bool) -> FailedAt | None:
    """Whose answer an exchange that did not go through ends on (`Cell.failed_at`): none
    when it went through, or when nothing of the products was observed (the suite's own
    lookup failed, the route's own size limit refused it)."""
    return side if observed and not ok else None


def undelivered(exc: DeliveryError) -> tuple[str, NotObserved | None]:
    """A transport's refusal as a cell's reason, and why it tells nothing of the products
    (None when it does): a refusal on the road is a finding (a gateway's, a product's
    oversized message), but a message over the SIZE the tester set on the suite's own
    relays is refused by the route the tester chose, not by either product (docs/matrix.md)."""
    if isinstance(exc, OverRouteLimit):
        return (
            f"not observed: the message ({exc.size} bytes) is over the size limit set on "
            f"the suite's own relays (--max-message-bytes {exc.limit}), not a product's: "
            f"{exc}",
            NotObserved(kind="route-size-limit", size=exc.size, limit=exc.limit, detail=str(exc)),
        )
    return f"{UNDELIVERED}{exc}", None


def send_refusal(sent: SendResult, sender: Seat) -> tuple[str | None, NotObserved | None]:
    """Why nothing was sent, as a cell's reason (None when a message was), and why it tells
    nothing of the products (None when it does); the sender's `internal` is the harness's
    error, never a verdict. A lookup the suite made on a tool's behalf that failed (its
    slapd did not answer, say) is the suite's failure, not the tool's: nothing of either
    product was observed, as with the route's own size limit (`undelivered`). A product
    that looked up itself and failed refused: its own finding."""
    if sent.message is not None:
        return None, None
    if sent.error is ErrorCode.INTERNAL:
        raise HarnessError(f"sender {sender.agent.id}: {sent.reason}")
    lookup = sent.evidence.suite_lookup
    if lookup is not None and lookup.failure is not None:
        return (
            f"not observed: {described(lookup)}; the suite's failure, not the sender's",
            NotObserved(kind="suite-lookup-failed", agent=lookup.tool),
        )
    return f"{SENDER_REFUSED}{sent.reason}", None


def read_delivered(
    scenario: Scenario, receiver: Seat, delivered: bytes, world: World, obs: Observation
) -> Observation:
    """The receiver's reading of a delivered message, judged into `obs` (also used to read
    one message with a second receiver: `vectors export`'s standard reader)."""
    reception = receiver.agent.receive(
        ReceiveRequest(
            message=delivered,
            recipient=receiver.party,
            trust=world.trust,
            crls=world.crls,
            directory=world.directory if scenario.function in FIRST_CONTACT else None,
        )
    )
    obs.reception = reception
    recovered = reception.content is not None
    obs.services, obs.reason = judged_status(
        scenario.function, reception.status, receiver, recovered
    )
    if obs.reason is not None or reception.content is None:
        return obs
    differences = compare(scenario, reception.content, sent=obs.entity)
    if differences:
        obs.reason = "content differs: " + "; ".join(differences[:3])
        return obs
    obs.ok = True
    return obs


def judged_status(
    function: Function, status: Status, receiver: Seat, recovered: bool
) -> tuple[dict[str, bool], str | None]:
    """The services a reception holds, and why it does not deliver the function (the
    receiver's error, a service missing, no content recovered) or None; the receiver's
    `internal` is the harness's error, never a verdict."""
    services = services_held(status.services)
    primary = status.primary_error()
    if primary is not None and primary.code is ErrorCode.INTERNAL:
        raise HarnessError(f"receiver {receiver.agent.id}: {primary.message}")
    if primary is not None:
        return services, f"{primary.code.value}: {primary.message}"
    return services, shortfall(function, services, b"" if recovered else None)
