"""The large-attachment exchange (`run --large-attachment`): the entity, the message and the
content on files, so that a worker holds chunks of an imaging series, never the series.

The built-in engine sends and reads through streams (`StreamingAgent`: the spooled builder
and reader, issue 21). A real engine's agent takes and gives whole bytes (its harness
carries a message in one request, in base64 inside JSON), so a cell with one on a side
holds that message in memory several times over, beside the engine's own copies: 9 to 21
times the attachment at the peak (docs/matrix.md); the evidence says so. The judgement is
`exchange.read_delivered`'s, in bounded memory: the receiver's error, the services the
function needs, then the content: equal to what was composed (by SHA-256), or else read as
a skeleton (`core.mime_spool`: the series' body left out), everything but the series
compared with the scenario as every exchange is, and the series decoded a chunk at a time
and compared by SHA-256.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path

from conformance.agents.base import ReceiveRequest, SendResult, StreamingAgent
from conformance.apicrypt.relay import addressed_to_relay
from conformance.apicrypt.relay import transport as relay_transport
from conformance.core import mime
from conformance.core.mime_spool import skeleton
from conformance.core.spool import Region, Spool
from conformance.core.vocabulary import Function
from conformance.functions import FIRST_CONTACT
from conformance.mail.delivery import DeliveryError
from conformance.matrix.exchange import (
    Seat,
    World,
    judged_status,
    send_refusal,
    send_request,
    stopped_at,
    undelivered,
)
from conformance.results import FailedAt, NotObserved
from conformance.scenarios import compare
from conformance.scenarios.large import LargeEntity, large_scenario, write_large_entity
from conformance.status import Status

__all__ = ["Kept", "LargeObservation", "compare_large", "exchange_large"]

KEPT_HEAD = 64 * 1024  # of a large message, the bytes kept as evidence
_SKELETON_PART = 64 * 1024  # bodies over this are left out of the skeleton
_IN_MEMORY = 8 * 1024 * 1024  # a scenario this small is compared whole, as exchange() does
_WHITESPACE = b" \t\r\n"
# What the evidence says of a side that takes the whole bytes (a real engine's agent).
_WHOLE = (
    "held in memory several times over (the bytes, the request to the engine and its "
    "answer, the engine's own copies; docs/matrix.md gives the peaks measured)"
)


@dataclass(frozen=True)
class Kept:
    """A large message as the evidence keeps it: its size, SHA-256 and first 64 kB."""

    size: int
    sha256: str
    head: bytes

    @classmethod
    def of_file(cls, path: Path) -> Kept:
        digest = hashlib.sha256()
        with path.open("rb") as stream:
            head = stream.read(KEPT_HEAD)
            digest.update(head)
            size = len(head)
            while chunk := stream.read(4 * 1024 * 1024):
                digest.update(chunk)
                size += len(chunk)
        return cls(size, digest.hexdigest(), head)

    @classmethod
    def of_region(cls, region: Region) -> Kept:
        return cls(len(region), _sha256(region), region.read(0, KEPT_HEAD))


@dataclass
class LargeObservation:
    ok: bool
    reason: str | None
    services: dict[str, bool] = field(default_factory=dict)
    entity: Kept | None = None
    message: Kept | None = None
    delivered: Kept | None = None  # when the transport changed the message
    received: Kept | None = None
    send: SendResult | None = None
    status: Status | None = None
    notes: list[str] = field(default_factory=list)
    # Set when refused by the route's own size limit (`undelivered`), or the suite's
    # lookup on a tool's behalf failed (`send_refusal`)
    not_observed: NotObserved | None = None
    failed_at: FailedAt | None = None  # the side it stopped at, when not ok

    @property
    def observed(self) -> bool:
        return self.not_observed is None


def exchange_large(
    function: Function, size: int, sender: Seat, receiver: Seat, world: World, work: Path
) -> LargeObservation:
    """One exchange of the large scenario, its files in `work` (the caller removes it)."""
    entity_path, message_path = work / "entity.eml", work / "sent.eml"
    with entity_path.open("wb") as out:
        entity = write_large_entity(function, size, out)
    with entity_path.open("rb") as stream:  # its size and digest known from the writing
        kept = Kept(entity.size, entity.sha256, stream.read(KEPT_HEAD))
    obs = LargeObservation(ok=False, reason=None, entity=kept)
    request = send_request(entity.rest, b"", sender, receiver, world)
    if isinstance(sender.agent, StreamingAgent):
        with entity_path.open("rb") as stream, message_path.open("wb") as out:
            sent = sender.agent.send_stream(stream, request, out)
    else:
        obs.notes.append(f"{sender.agent.id} takes the content whole: {_WHOLE}")
        sent = sender.agent.send(replace(request, content=entity_path.read_bytes()))
        if sent.message is not None:
            message_path.write_bytes(sent.message)
            sent.message = b""  # on the file now
    obs.send = sent
    obs.reason, obs.not_observed = send_refusal(sent, sender)
    if sent.message is None:
        # the sender's answer, unless the suite's own lookup for it failed (not observed)
        obs.failed_at = stopped_at("sender", obs.ok, obs.observed)
        return obs
    obs.message = Kept.of_file(message_path)
    delivered_path = message_path
    if world.transport is not relay_transport or addressed_to_relay(obs.message.head):
        # A transport that rewrites (the Apicrypt relay, a mail route) takes bytes; over
        # SMTP each hop and the IMAP reader hold their own copy (docs/matrix.md).
        obs.notes.append(
            "the transport takes the message whole: held in memory (over SMTP, a copy per "
            "hop), and a rewriting hop's working copies besides (docs/matrix.md gives the "
            "peaks measured)"
        )
        try:
            carried = world.transport(message_path.read_bytes(), receiver.party.email)
        except DeliveryError as exc:
            obs.reason, obs.not_observed = undelivered(exc)
            obs.failed_at = stopped_at("route", obs.ok, obs.observed)
            return obs
        delivered_path = work / "delivered.eml"
        delivered_path.write_bytes(carried)
        kept = Kept.of_file(delivered_path)
        obs.delivered = kept if kept.sha256 != obs.message.sha256 else None
    _read(function, size, entity, receiver, world, delivered_path, obs)
    obs.failed_at = stopped_at("receiver", obs.ok, obs.observed)
    return obs


def _read(
    function: Function,
    size: int,
    entity: LargeEntity,
    receiver: Seat,
    world: World,
    message: Path,
    obs: LargeObservation,
) -> None:
    request = ReceiveRequest(
        message=b"",
        recipient=receiver.party,
        trust=world.trust,
        crls=world.crls,
        directory=world.directory if function in FIRST_CONTACT else None,
    )
    if isinstance(receiver.agent, StreamingAgent) and request.directory is None:
        with message.open("rb") as stream, receiver.agent.receive_stream(stream, request) as got:
            _judge(function, size, entity, receiver, got.status, got.content, obs)
        return
    if request.directory is None:
        obs.notes.append(f"{receiver.agent.id} takes the message whole: {_WHOLE}")
    else:
        obs.notes.append("a first contact is read whole (the streamed reader takes no directory)")
    reception = receiver.agent.receive(replace(request, message=message.read_bytes()))
    _judge(function, size, entity, receiver, reception.status, reception.content, obs)


def _judge(
    function: Function,
    size: int,
    entity: LargeEntity,
    receiver: Seat,
    status: Status,
    content: bytes | Region | None,
    obs: LargeObservation,
) -> None:
    obs.status = status
    recovered = content is not None
    obs.services, obs.reason = judged_status(function, status, receiver, recovered)
    if obs.reason is not None or content is None:
        return
    if isinstance(content, Region):
        differences = _compare_region(function, size, entity, content, obs)
    else:
        with Spool() as spool:
            spool.write(content)
            differences = _compare_region(function, size, entity, spool.seal().whole(), obs)
    if differences:
        obs.reason = "content differs: " + "; ".join(differences[:3])
        return
    obs.ok = True


def _compare_region(
    function: Function, size: int, entity: LargeEntity, region: Region, obs: LargeObservation
) -> list[str]:
    obs.received = Kept.of_region(region)
    return compare_large(function, size, entity, region, obs.received.sha256)


def compare_large(
    function: Function, size: int, entity: LargeEntity, region: Region, sha256: str | None = None
) -> list[str]:
    """Reasons the received entity differs from the large scenario's; [] when intact."""
    sha256 = sha256 or _sha256(region)
    if len(region) == entity.size and sha256 == entity.sha256:
        return []  # the entity as composed, byte for byte
    if size <= _IN_MEMORY:
        return compare(large_scenario(function, size), region.read())
    skel = skeleton(region, mime.MimeLimits(), _SKELETON_PART)
    left_out = [s for s in skel.segments if s.skel_len == 0]
    reasons = compare(entity.rest, skel.data)  # the series' body is empty on both sides
    if not left_out:
        return [*reasons, f"the series ({entity.series_size} bytes) was not received whole"]
    body = max(left_out, key=lambda s: s.orig_len)
    found = _decoded_digest(region.sub(body.orig_start, body.orig_start + body.orig_len))
    if isinstance(found, str):
        return [*reasons, f"the series: {found}"]
    got_size, got_sha = found
    if (got_size, got_sha) != (entity.series_size, entity.series_sha256):
        reasons.append(
            f"the series: {got_size} bytes (SHA-256 {got_sha[:16]}…), expected "
            f"{entity.series_size} bytes (SHA-256 {entity.series_sha256[:16]}…)"
        )
    return reasons


def _sha256(region: Region) -> str:
    digest = hashlib.sha256()
    region.feed(digest.update)
    return digest.hexdigest()


def _decoded_digest(body: Region) -> tuple[int, str] | str:
    """The size and SHA-256 of a base64 body decoded a chunk at a time, or why it is not
    base64 (binascii's words)."""
    digest = hashlib.sha256()
    size = 0
    pending = b""
    try:
        for view in body.chunks():
            data = pending + bytes(view).translate(None, _WHITESPACE)
            cut = len(data) - len(data) % 4
            pending = data[cut:]
            decoded = base64.b64decode(data[:cut], validate=True)
            digest.update(decoded)
            size += len(decoded)
        if pending:
            return f"not base64: {len(pending)} characters left over at the end"
    except binascii.Error as exc:
        return f"not base64: {exc}"
    return size, digest.hexdigest()
