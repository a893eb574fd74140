"""The directory fault cells: each sender that looks recipients up, against each fault.

A cell sends the first-contact letter to the fault's recipient through the
fault's directory (conformance.directory.faults) and is judged on what left the
sender: for a fault that leaves no usable certificate, a refusal passes and any
message fails, naming the certificates it was encrypted to; beside a renewal,
only a message encrypted to the renewal passes. A harness failure is `error`,
never a verdict. A refusal proves nothing from a sender that refuses a correctly
served recipient too (`inconclusive`), nor the suite's lookup on behalf of a tool
without a directory client (`not-applicable`): neither is credited as a pass.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from cryptography import x509

from conformance.agents import identity_files as files
from conformance.agents import mime_wrap
from conformance.agents.base import SendRequest, SendResult
from conformance.agents.recipients import described
from conformance.core import cms
from conformance.core.vocabulary import Party
from conformance.directory.faults import (
    DESCRIPTION,
    EXPECTED,
    FAULTS,
    Fault,
    FaultTree,
    fault_directories,
)
from conformance.directory.slapd import Endpoint
from conformance.errors import UserError
from conformance.matrix.cast import Cast
from conformance.matrix.exchange import World
from conformance.matrix.spec import MatrixSpec
from conformance.pki.model import Identity, load_pki
from conformance.profiles.schema import Profile
from conformance.scenarios import basic_scenario, build_entity
from conformance.status import ErrorCode


@dataclass
class FaultCell:
    sender: str
    fault: Fault
    # pass, fail, error; inconclusive (a refusal from a sender that refuses a correctly served
    # recipient too); not-applicable (an Apicrypt model sender, or a tool the suite looks up for)
    verdict: str
    reason: str
    seconds: float


def looks_up(profile: Profile) -> bool:
    """A sender the fault cells concern: an S/MIME sender that finds certificates in the
    directory."""
    return profile.send.format == "smime" and profile.send.recipient_certificate == "directory"


def _identifiers(message: bytes) -> list[cms.Identifier]:
    """The recipient identifiers of the message's envelope (inside a signature if need be)."""
    data = message
    for _ in range(4):
        layer = mime_wrap.classify(data)
        if layer.kind in ("enveloped-data", "authEnveloped-data") and layer.cms is not None:
            parts = cms.parse(layer.cms).content
            if isinstance(parts, cms.EnvelopedParts):
                return [r.rid for r in parts.recipients if r.rid is not None]
            return []
        if layer.signed_content is not None:
            data = layer.signed_content
        elif layer.cms is not None:
            parts = cms.parse(layer.cms).content
            if not isinstance(parts, cms.SignedParts) or parts.content is None:
                return []
            data = parts.content
        else:
            return []
    return []


def _named(rid: cms.Identifier, known: dict[str, x509.Certificate]) -> str:
    for name, cert in known.items():
        if rid.issuer == cert.issuer.public_bytes() and rid.serial == cert.serial_number:
            return name
    return f"an unknown certificate (serial {rid.serial:x})"


def judge(
    fault: Fault,
    message: bytes,
    sender: Party,
    recipient: Identity,
    faults: FaultTree,
) -> tuple[str, str]:
    """(verdict, reason) of a message that left the sender despite `fault`."""
    own = files.role_certificate(sender.identity_dir, "encrypt")
    known = {
        "the renewal" if fault == "expired-beside-renewal" else "the encryption certificate": (
            recipient.certificate("encrypt")
        ),
        "the expired certificate": faults.expired,
        "the signature certificate": recipient.certificate("sign"),
        "the authentication certificate": recipient.certificate("auth"),
    }
    ids = [
        rid
        for rid in _identifiers(message)
        if not (rid.issuer == own.issuer.public_bytes() and rid.serial == own.serial_number)
    ]
    names = sorted({_named(rid, known) for rid in ids}) or ["nobody (no recipient identifier)"]
    to = ", ".join(names)
    if EXPECTED[fault] == "renewal":
        if names == ["the renewal"]:
            return "pass", "encrypted to the renewal, not to the expired certificate beside it"
        return "fail", f"encrypted to {to}, not to the valid renewal alone"
    return "fail", f"sent although {DESCRIPTION[fault]}: encrypted to {to}"


def _send(
    cast: Cast, sender_id: str, recipient: Identity, directory: str, world: World
) -> SendResult:
    """The first-contact letter from `sender_id` to `recipient`, found in `directory`."""
    seat = cast.seat(sender_id, "sender")
    scenario = basic_scenario("first-contact")
    party = cast.party(recipient.id, cast.profiles[sender_id])
    request = SendRequest(
        function="first-contact",
        content=build_entity(scenario),
        sender=seat.party,
        recipients=(),
        recipient_emails=(recipient.email,),
        recipient_parties=(party,),
        subject=scenario.subject,
        date=world.date,
        directory=directory,
    )
    return seat.agent.send(request)


def control_refusal(
    cast: Cast, sender_id: str, recipient: Identity, endpoint: Endpoint, world: World
) -> str | None:
    """Why the sender refuses a recipient the directory serves correctly, or None when it
    sends: a sender that refuses everyone shows nothing by refusing at a fault."""
    if cast.profiles[sender_id].send.format != "smime":
        return None
    try:
        sent = _send(cast, sender_id, recipient, endpoint.url, world)
    except Exception:  # the fault cells report the harness failure themselves
        return None
    if sent.message is not None:
        return None
    return sent.reason or "refused"


def fault_cell(
    cast: Cast,
    sender_id: str,
    fault: Fault,
    recipient: Identity,
    endpoint: Endpoint,
    faults: FaultTree,
    world: World,
    control: str | None = None,
) -> FaultCell:
    """One cell; `control` is the sender's refusal of a correctly served recipient, if any."""
    if cast.profiles[sender_id].send.format != "smime":
        reason = "sends the Apicrypt model format: its relay holds the keys, no CPS directory"
        return FaultCell(sender_id, fault, "not-applicable", reason, 0.0)
    started = time.perf_counter()
    try:
        sent = _send(cast, sender_id, recipient, endpoint.url, world)
    except Exception as exc:  # a harness bug is an error cell, never a verdict
        seconds = round(time.perf_counter() - started, 3)
        return FaultCell(sender_id, fault, "error", f"{type(exc).__name__}: {exc}", seconds)
    seconds = round(time.perf_counter() - started, 3)
    if sent.message is None and sent.error is ErrorCode.INTERNAL:
        return FaultCell(sender_id, fault, "error", sent.reason, seconds)
    suite = sent.evidence.suite_lookup
    if suite is not None:  # the tool has no directory client: the suite's doing, not its own
        reason = f"not measured: {described(suite)}"
        return FaultCell(sender_id, fault, "not-applicable", reason, seconds)
    if sent.message is None:
        if EXPECTED[fault] == "refuse":
            if control is not None:
                reason = f"refused, as it refuses a correctly served recipient ({control})"
                reason += f": {sent.reason}"
                return FaultCell(sender_id, fault, "inconclusive", reason, seconds)
            return FaultCell(sender_id, fault, "pass", f"refused: {sent.reason}", seconds)
        reason = f"refused although a valid renewal is published: {sent.reason}"
        return FaultCell(sender_id, fault, "fail", reason, seconds)
    sender = cast.seat(sender_id, "sender").party
    verdict, reason = judge(fault, sent.message, sender, recipient, faults)
    return FaultCell(sender_id, fault, verdict, reason, seconds)


def run_faults(senders: Sequence[str] = (), profile_paths: Sequence[str] = ()) -> list[FaultCell]:
    """Every chosen sender (default: every sender that looks recipients up) against every
    fault, all faults served at once."""
    spec = MatrixSpec(profile_paths=tuple(profile_paths))
    profiles = spec.profiles()
    unknown = [s for s in senders if s not in profiles]
    if unknown:
        raise UserError(f"--sender: unknown profile {', '.join(unknown)}")
    chosen = list(senders) or [p for p in sorted(profiles) if looks_up(profiles[p])]
    pki = load_pki()
    cells: list[FaultCell] = []
    with tempfile.TemporaryDirectory(prefix="osm-faults-") as tmp:
        cast = Cast(profiles, pki, workdir=Path(tmp))
        try:
            world = cast.world()
            with fault_directories(pki) as (faults, where):
                default = pki.valid_identities()[0]
                for sender_id in chosen:
                    # The fault tree's slapd (every fault but down and slow) serves
                    # `default`'s entry as it should: the control recipient.
                    served = where["absent"]
                    control = control_refusal(cast, sender_id, default, served, world)
                    for fault in FAULTS:
                        recipient = faults.recipients.get(fault, default)
                        cells.append(
                            fault_cell(
                                cast,
                                sender_id,
                                fault,
                                recipient,
                                where[fault],
                                faults,
                                world,
                                control,
                            )
                        )
        finally:
            cast.close()
    return cells


def faults_report(cells: Sequence[FaultCell], as_json: bool = False) -> str:
    if as_json:
        return json.dumps([asdict(c) for c in cells], ensure_ascii=False, indent=2)
    width = max((len(c.sender) for c in cells), default=6)
    verdicts = max((len(c.verdict) for c in cells), default=5)
    lines = [
        f"{c.sender:<{width}}  {c.fault:<22}  {c.verdict:<{verdicts}}  {c.seconds:6.2f}s  "
        f"{c.reason}"
        for c in cells
    ]
    passed = sum(c.verdict == "pass" for c in cells)
    judged = sum(c.verdict != "not-applicable" for c in cells)
    lines.append(f"{passed}/{judged} directory fault cells pass")
    return "\n".join(lines)
