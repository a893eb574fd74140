"""`vectors verify DIR --as PROFILE`: the product's row of the matrix, without an adapter.

DIR holds messages the real product wrote and a manifest naming, for each,
its recipient (an identity id) and function, and any CRLs it needs beside the
identities' (an issuer's CRL a product would fetch: a negative vector's). Each
message goes to the validator and, through the in-memory transport (so the
Apicrypt relay works), to every receiver profile's agent, judged as the matrix judges a cell: no
error, the function's services held, and, when the manifest gives the
plaintext, the same content.

What each message really used (digest, signature algorithm and format, content
cipher, key transport) is compared with what the `--as` profile declares, and
the validator's errors and warnings are listed by rule id.

Input is checked before anything is read (missing files, a path outside DIR,
a message listed twice for the same recipient, unknown function or identity, a
file that is not mail, a recipient the message is not addressed to); a function
the message plainly does not do (the manifest says "sign" but it is encrypted)
is reported as an input error and given no verdict.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.utils import getaddresses
from pathlib import Path, PurePosixPath

from conformance import pem_files
from conformance.agents import identity_files as files
from conformance.agents.base import Agent, ReceiveRequest, Reception
from conformance.agents.factory import close_agent, make_agent
from conformance.apicrypt.relay import transport
from conformance.apicrypt.wire import RECIPIENTS_HEADER
from conformance.core.mime import header_fields
from conformance.core.vocabulary import Function, Party
from conformance.errors import MissingComponent, UserError
from conformance.functions import OPERATION, services_held, shortfall
from conformance.mail.delivery import DeliveryError
from conformance.matrix.cast import directories_of
from conformance.matrix.sent import DECLARED_BY, algorithms_in, declared, with_format
from conformance.profiles.schema import Profile
from conformance.results import UNDELIVERED, Verdict
from conformance.scenarios.compare import entity_differences
from conformance.status import ErrorCode
from conformance.vectors.common import (
    check_function,
    mime_problem,
    shipped_cast,
    shipped_profile,
    shipped_profiles,
)
from conformance.vectors.manifest import (
    MANIFEST_FILE,
    Message,
    VerifyEntries,
    load_verify_manifest,
)
from conformance.vectors.validator import Validation, validate

SERVICE_LETTERS = {
    "authentication": "A",
    "integrity": "I",
    "non_repudiation": "N",
    "confidentiality": "C",
}


@dataclass
class Reading:
    """One receiver's reading of one message, judged."""

    receiver: str
    verdict: Verdict
    reason: str | None = None
    services: dict[str, bool] = field(default_factory=dict)
    signed: bool = False
    encrypted: bool = False
    decrypted: bool = False
    content: bool = False  # recovered some content
    missing: str | None = None  # the receiver's engine not installed here: what is missing


@dataclass
class Checked:
    """One message of the manifest, with what the validator and the receivers found."""

    index: int
    entry: Message
    function: Function
    path: Path
    recipient: Party
    validation: Validation
    plaintext: Path | None = None
    crls: tuple[Path, ...] = ()  # the manifest's, given beside the identities' CRLs
    readings: list[Reading] = field(default_factory=list)
    input_error: str | None = None  # the manifest lies about the function: no verdict
    # What the message really used, read from it (digest, signature, cipher, key transport),
    # and where that differs from what the --as profile declares.
    sent: dict[str, list[str]] = field(default_factory=dict)
    undeclared: list[str] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"{MANIFEST_FILE} messages[{self.index}] ({self.entry.file})"


@dataclass
class VerifyReport:
    product: str
    directory: Path
    receivers: list[str]
    messages: list[Checked]
    trust: tuple[Path, ...]
    crls: tuple[Path, ...]

    @property
    def input_errors(self) -> list[str]:
        return [f"{m.where}: {m.input_error}" for m in self.messages if m.input_error]

    @property
    def harness_errors(self) -> list[str]:
        """The readings the suite failed to make (a receiver broke: `internal`), as `run`
        counts its `error` cells; a receiver not installed here is skipped, not one."""
        return [
            f"{m.where}: {r.receiver}: {r.reason}"
            for m in self.messages
            for r in m.readings
            if r.verdict == "error" and r.missing is None
        ]

    @property
    def unavailable(self) -> dict[str, str]:
        """The receivers whose engine is not installed here, with why."""
        readings = (r for m in self.messages for r in m.readings)
        return {r.receiver: r.reason or "" for r in readings if r.missing is not None}


@dataclass
class _Inputs:
    identities: Path
    trust: tuple[Path, ...]
    crls: tuple[Path, ...]


def verify_messages(
    directory: Path,
    product: str,
    *,
    receivers: Sequence[str] | None = None,
    identities: Path | None = None,
    trust: Sequence[Path] = (),
    crls: Sequence[Path] = (),
) -> VerifyReport:
    """Read every message of `directory`'s manifest with the validator and the receivers.

    `identities` (default: the test PKI's export) holds `<recipient id>/`
    directories in the export layout; `trust` and `crls` default to its CA.
    """
    profiles = shipped_profiles()
    shipped_profile(product, profiles)
    chosen = list(dict.fromkeys(receivers)) if receivers else list(profiles)
    for receiver in chosen:
        shipped_profile(receiver, profiles)
    inputs = _inputs(identities, trust, crls)
    manifest = load_verify_manifest(directory)
    checked = _precheck(directory, manifest, inputs)
    report = VerifyReport(product, directory, chosen, checked, inputs.trust, inputs.crls)
    with tempfile.TemporaryDirectory(prefix="osm-verify-") as work:
        agents: dict[str, Agent | MissingComponent] = {}
        try:
            for receiver in chosen:
                try:
                    agents[receiver] = make_agent(profiles[receiver], workdir=Path(work))
                except MissingComponent as exc:
                    agents[receiver] = exc
            for item in checked:
                message = item.path.read_bytes()
                item.validation = validate(
                    message,
                    identity_dir=item.recipient.identity_dir,
                    trust=inputs.trust,
                    crls=(*inputs.crls, *item.crls),
                    expected_sender=_sender_email(item, inputs),
                    expected_recipient=item.recipient.email,
                )
                for receiver in chosen:
                    item.readings.append(
                        _read(message, item, profiles[receiver], agents[receiver], inputs)
                    )
                item.input_error = _function_mismatch(item, message)
                layers = item.validation.layers
                item.sent = with_format(message, algorithms_in(layers), layers)
                item.undeclared = undeclared(item.sent, profiles[product])
        finally:
            for agent in agents.values():
                if not isinstance(agent, MissingComponent):
                    close_agent(agent)
    return report


def undeclared(sent: dict[str, list[str]], profile: Profile) -> list[str]:
    """Where the message used something else than the profile declares, one line per kind."""
    says = declared(profile)
    return [
        f"{kind}: the message uses {', '.join(names)}; the profile {profile.id} declares "
        f"{says[kind]} ({DECLARED_BY[kind]})"
        for kind, names in sent.items()
        if kind in says and names != [says[kind]]
    ]


def _inputs(identities: Path | None, trust: Sequence[Path], crls: Sequence[Path]) -> _Inputs:
    if identities is None or not trust:
        export = shipped_cast().export
        identities = identities or export / "identities"
        if not trust:
            trust = [export / "ca" / "root.pem"]
            crls = crls or [export / "ca" / "root.crl.pem", export / "ca" / "intermediate.crl.pem"]
    if not identities.is_dir():
        raise UserError(f"{identities}: no such identities directory")
    for path in (*trust, *crls):
        if not path.is_file():
            raise UserError(f"{path}: no such file")
    for path in trust:  # the agent contract (and the openssl agent) take PEM anchors
        if b"-----BEGIN CERTIFICATE-----" not in path.read_bytes():
            raise UserError(f"{path}: not a PEM certificate (convert it: openssl x509 -inform DER)")
    return _Inputs(identities, tuple(trust), tuple(crls))


def _precheck(directory: Path, manifest: VerifyEntries, inputs: _Inputs) -> list[Checked]:
    """Every problem of the manifest at once, entry by entry (an entry with a field missing
    or of the wrong type: its shape's only); the entries to read when there is none."""
    problems: list[str] = list(manifest.problems)
    checked: list[Checked] = []
    seen: dict[tuple[str, str], int] = {}
    for index, shaped in enumerate(manifest.messages):
        problems += shaped.problems
        entry = shaped.message
        if entry is None:
            continue
        where = f"{directory / MANIFEST_FILE}: messages[{index}]"
        before = len(problems)  # after an unknown key's line: the message is still read
        try:
            function = check_function(entry.function, f"{where}.function")
        except UserError as exc:
            problems.append(str(exc))
            function = "sign"
        path = directory / entry.file
        wrong = _not_a_file_inside(directory, entry.file)
        if wrong is not None:
            problems.append(f"{where}.file: {wrong}")
        else:
            why = mime_problem(path.read_bytes())
            if why is not None:
                problems.append(f"{path}: {why}")
        key = (os.path.normpath(entry.file), entry.recipient)
        if key in seen:
            problems.append(
                f"{where}: {entry.file!r} to {entry.recipient} is already messages[{seen[key]}] "
                "(list each message once per recipient)"
            )
        seen.setdefault(key, index)
        wrong = None if entry.plaintext is None else _not_a_file_inside(directory, entry.plaintext)
        if wrong is not None:
            problems.append(f"{where}.plaintext: {wrong}")
        crls = _crls(directory, entry.crls, f"{where}.crls", problems)
        recipient = _party(inputs.identities, entry.recipient, f"{where}.recipient", problems)
        if entry.sender is not None:
            _party(inputs.identities, entry.sender, f"{where}.sender", problems)
        if len(problems) == before and recipient is not None:
            addressed = _addressees(path.read_bytes())
            # A To: without any full address (RFC 4134's "To: User2") cannot be checked.
            checkable = any("@" in a for a in addressed)
            if checkable and recipient.email.lower() not in addressed:
                problems.append(
                    f"{path}: not addressed to {entry.recipient} <{recipient.email}> "
                    f"(To/Cc: {', '.join(sorted(addressed)) or 'none'}): "
                    f"{where}.recipient does not match the message"
                )
        if len(problems) == before and recipient is not None:
            plaintext = directory / entry.plaintext if entry.plaintext is not None else None
            checked.append(
                Checked(
                    index,
                    entry,
                    function,
                    path,
                    recipient,
                    Validation(available=False),
                    plaintext=plaintext,
                    crls=crls,
                )
            )
    if problems:
        raise UserError("\n".join(problems))
    return checked


def _crls(
    directory: Path, names: Sequence[str], where: str, problems: list[str]
) -> tuple[Path, ...]:
    """The manifest's CRL files of one message, each inside DIR and a CRL (PEM or DER);
    absolute, as an agent's tool may run in another directory."""
    paths = []
    for index, name in enumerate(names):
        path = (directory / name).absolute()
        wrong = _not_a_file_inside(directory, name)
        if wrong is not None:
            problems.append(f"{where}[{index}]: {wrong}")
        else:
            try:
                pem_files.crls(path)
            except UserError as exc:
                problems.append(f"{where}[{index}]: {exc}")
            paths.append(path)
    return tuple(paths)


def _not_a_file_inside(directory: Path, name: str) -> str | None:
    """What is wrong with a manifest's path (None: a regular file inside DIR). A symbolic
    link is followed only inside DIR: the suite reads, quotes and copies these files, and a
    link to /dev/zero, a FIFO or a file elsewhere must not be read."""
    if _outside(name):
        return f"{name!r} is not a path inside {directory}"
    path = directory / name
    if not path.exists():
        return f"{name!r} does not exist in {directory}"
    if not path.resolve().is_relative_to(directory.resolve()):
        return f"{name!r} is a link to {path.resolve()}, outside {directory}"
    if not path.is_file():
        kind = "a directory" if path.is_dir() else "a device, a FIFO or the like"
        return f"{name!r} is {kind}, not a regular file"
    return None


def _outside(name: str) -> bool:
    """A manifest path that is absolute or climbs out of DIR: the messages are DIR's, and
    their evidence copies (OUT/evidence/<row>/<file>) must stay under OUT."""
    path = PurePosixPath(os.path.normpath(name))
    return path.is_absolute() or path.parts[:1] == ("..",)


def _party(root: Path, identity_id: str, where: str, problems: list[str]) -> Party | None:
    directory = root / identity_id
    if "/" in identity_id or not (directory / "identity.json").is_file():
        problems.append(f"{where}: unknown identity {identity_id!r} (no {directory}/identity.json)")
        return None
    if not (directory / "encrypt.pem").is_file():
        problems.append(f"{where}: {directory} has no encrypt.pem")
        return None
    try:
        data = files.identity_json(directory.resolve())
    except UserError as exc:
        problems.append(f"{where}: {exc}")
        return None
    return Party(directory.resolve(), str(data.get("email", "")), str(data.get("name", "")))


def _addressees(message: bytes) -> set[str]:
    head = header_fields(message)
    fields = [str(v) for name in ("To", "Cc", RECIPIENTS_HEADER) for v in head.get_all(name, [])]
    return {addr.lower() for _, addr in getaddresses(fields) if addr}


def _sender_email(item: Checked, inputs: _Inputs) -> str | None:
    if item.entry.sender is None:
        return None
    data = files.identity_json((inputs.identities / item.entry.sender).resolve())
    return str(data.get("email", "")) or None


def _read(
    message: bytes,
    item: Checked,
    profile: Profile,
    agent: Agent | MissingComponent,
    inputs: _Inputs,
) -> Reading:
    if isinstance(agent, MissingComponent):
        return Reading(profile.id, "error", f"receiver unavailable: {agent}", missing=str(agent))
    if item.function not in agent.capabilities().receive:
        return Reading(profile.id, "unsupported", f"{profile.id} does not receive {item.function}")
    party = Party(
        item.recipient.identity_dir,
        item.recipient.email,
        item.recipient.name,
        directories_of(profile),
    )
    try:
        delivered = transport(message, party.email)
    except DeliveryError as exc:
        return Reading(profile.id, "fail", f"{UNDELIVERED}{exc}")
    crls = (*inputs.crls, *item.crls)
    reception = agent.receive(ReceiveRequest(delivered, party, inputs.trust, crls))
    expected = item.plaintext.read_bytes() if item.plaintext is not None else None
    return judge(profile.id, item.function, reception, expected)


def judge(
    receiver: str, function: Function, reception: Reception, plaintext: bytes | None
) -> Reading:
    """The matrix's judgement (matrix.exchange) of one reception; `plaintext` optional."""
    status = reception.status
    services = services_held(status.services)
    reading = Reading(
        receiver,
        "fail",
        services=services,
        signed=status.signed,
        encrypted=status.encrypted,
        decrypted=status.decrypted,
        content=reception.content is not None,
    )
    primary = status.primary_error()
    if primary is not None:
        reading.verdict = "error" if primary.code is ErrorCode.INTERNAL else "fail"
        reading.reason = f"{primary.code.value}: {primary.message}"
        return reading
    reading.reason = shortfall(function, services, reception.content)
    if reading.reason is not None or reception.content is None:
        return reading
    if plaintext is not None:
        differences = entity_differences(plaintext, reception.content)
        if differences:
            reading.reason = "content differs: " + "; ".join(differences[:3])
            return reading
    reading.verdict = "pass"
    return reading


def _function_mismatch(item: Checked, message: bytes) -> str | None:
    """Why the message plainly is not what the manifest's function sends (None: it may be)."""
    operation = OPERATION[item.function]
    readings = item.readings
    head = header_fields(message)
    top = head.get_content_type()
    smime_type = str(head.get_param("smime-type", "") or "").lower()
    encrypted = any(r.encrypted for r in readings) or "enveloped" in smime_type
    read_fully = [r for r in readings if r.content]
    if operation == "sign" and encrypted:
        return f"the manifest says {item.function}, but the message is encrypted ({top})"
    if operation != "sign" and not encrypted and read_fully:
        return f"the manifest says {item.function}, but the message is not encrypted ({top})"
    if (
        operation == "sign-encrypt"
        and any(r.decrypted for r in readings)
        and not any(r.signed for r in readings)
    ):
        return f"the manifest says {item.function}, but the message is not signed"
    return None


def copy_evidence(report: VerifyReport, out: Path, subdir: str) -> dict[int, list[str]]:
    """Copy each message and its validator report under out/evidence/; paths per message."""
    paths: dict[int, list[str]] = {}
    base = out / "evidence" / subdir
    for item in report.messages:
        target = base / item.entry.file
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(item.path, target)
        found = [str(target.relative_to(out))]
        checks = target.with_name(target.name + ".checks.txt")
        checks.write_text(item.validation.text + "\n", encoding="utf-8")
        found.append(str(checks.relative_to(out)))
        for name, crl in zip(item.entry.crls, item.crls, strict=True):  # given with it
            kept = base / name
            kept.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(crl, kept)
            found.append(str(kept.relative_to(out)))
        paths[item.index] = found
    return paths
