"""The rejection matrix runner: one receiver against every case of one class.

A cell sends the receiver hostile messages it must refuse. Per case and producer:
the valid message they are made from first (read once per control key: a receiver
that does not read it proves nothing by refusing the hostile ones, and the judge
calls the case not-applicable; an envelope the receiver lacks an algorithm for is
tried again with RSA-OAEP, and when that one is read the case's hostile envelopes
use it, the variant line and the case's `key_transport` saying so), then the
deterministic basic variant, then hypothesis draws variants (positions, bytes,
which certificate) looking for one the receiver accepts; the first false accept
is shrunk and kept with its seed, which replays it. An accepted basic variant is
replayed once too: an acceptance that does not happen again still stands, its
reason saying so and the case's `repeated` false (the cell is then `intermittent`,
which diff and the regression gate do not count as the product's change). A
hostile message signed under an issuer its case made comes with that issuer's CRL
(`Hostile.crls`), given beside the receiver's own and kept in the evidence, so that
a receiver that checks revocation refuses it for its path, not for a missing CRL;
the valid message gets the receiver's alone. The cell's verdict:

- any case accepted                 -> accepts (naming the case and the services claimed)
- the harness broke on a case       -> error (never accepts, never refuses)
- every case refused                -> refuses (the receiver may skip a case it does not do)
- the receiver does not do the class -> not-applicable

The receiver and its professionals come from the caller (the interop matrix's cast),
so this layer never builds agents itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from hypothesis import Phase, given
from hypothesis import strategies as st

from conformance.agents.base import Agent, ReceiveRequest, Reception
from conformance.core.vocabulary import KeyTransport, Party
from conformance.pki.model import TestPKI
from conformance.rejections.hostile import (
    KEY_TRANSPORT,
    Hostile,
    control_key,
    make_control,
    make_hostile,
)
from conformance.rejections.judge import Judgement, Outcome, judge
from conformance.rejections.model import Policy, RejectionCase, RejectionClass, load_cases
from conformance.replay_note import as_observed
from conformance.results import (
    KeyTransportChange,
    RejectionCaseInfo,
    RejectionCaseResult,
    RejectionCell,
)
from conformance.search import searched
from conformance.status import ErrorCode, Status


@dataclass(frozen=True)
class Receiver:
    """A receiving agent with the professional who uses it, the one who (seemingly) writes
    to them, and the trust anchors and CRLs the receiver is given."""

    agent: Agent
    recipient: Party
    sender: Party
    trust: tuple[Path, ...]
    crls: tuple[Path, ...]


@dataclass(frozen=True)
class RejectionSettings:
    policy: Policy = "osm-2008"
    variants: int = 1  # per case and producer, the basic variant included
    seed: int = 0
    out_dir: Path | None = None
    # Shrinking a false accept runs many receptions; past this many, the best one is kept.
    shrink_budget: int = 30


def rejection_seed(run_seed: int, receiver: str, case_id: str, producer: str) -> int:
    """Each case draws from its own seed, so a cell replays in any order or worker."""
    text = f"{run_seed}/rejection/{receiver}/{case_id}/{producer}"
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


def identity_id(party: Party) -> str:
    """The test-PKI identity a party stands for (its directory in the PKI export)."""
    return party.identity_dir.name


class _Evidence:
    """The hostile message (and the CRLs given with it), what the receiver said, and the
    judgement, under evidence/rejections/<receiver>/<class>/ (paths relative to the run's
    directory)."""

    def __init__(self, out_dir: Path | None, receiver: str, cls: str) -> None:
        self.out_dir = out_dir
        self.rel = Path("evidence") / "rejections" / _safe(receiver) / _safe(cls)

    def write(self, name: str, data: bytes, paths: list[str]) -> None:
        if self.out_dir is None:
            return
        path = self.out_dir / self.rel / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        paths.append(str(self.rel / name))

    def attempt(self, prefix: str, attempt: _Attempt, expected: str, note: str = "") -> list[str]:
        paths: list[str] = []
        crls: list[str] = []
        if attempt.hostile is not None:
            self.write(f"{prefix}.hostile.eml", attempt.hostile.message, paths)
            for name, crl in attempt.hostile.crl_files(prefix):
                self.write(name, crl, paths)
                issuer = x509.load_pem_x509_crl(crl).issuer.rfc4514_string()
                crls.append(f"{name} (issuer {issuer}; as {_crl_name(crl)})")
        reception = attempt.reception
        if reception is not None:
            status = json.dumps(reception.status.to_json(), indent=2).encode("utf-8")
            self.write(f"{prefix}.status.json", status, paths)
            ev = reception.evidence
            if ev.command or ev.stdout or ev.stderr or ev.notes:
                log = [f"$ {' '.join(ev.command)}" if ev.command else "", *ev.notes]
                if ev.stderr:
                    log.append("--- stderr ---\n" + ev.stderr.decode("utf-8", "replace"))
                if ev.stdout and len(ev.stdout) < 65536:
                    log.append("--- stdout ---\n" + ev.stdout.decode("utf-8", "replace"))
                self.write(f"{prefix}.receive.log", "\n".join(log).encode("utf-8"), paths)
        variant = attempt.hostile.variant if attempt.hostile is not None else ""
        j = attempt.judgement
        text = (
            f"variant: {variant}\nexpected: {expected}\noutcome: {j.outcome}\n"
            f"claimed: {', '.join(j.claimed) or '-'}\nreason: {j.reason}\n"
        )
        if note:
            text += f"control: {note}\n"
        if crls:
            text += f"crls given: the receiver's own and {', '.join(crls)}\n"
        self.write(f"{prefix}.txt", text.encode("utf-8"), paths)
        return paths


@dataclass
class _Attempt:
    hostile: Hostile | None
    reception: Reception | None
    judgement: Judgement


def _receive(receiver: Receiver, message: bytes, crls: tuple[bytes, ...] = ()) -> Reception:
    """The receiver's answer to `message`, given its CRLs and `crls` (PEM: those of the
    issuers a hostile message's case made, `Hostile.crls`)."""
    with _crl_files(crls) as given:
        return receiver.agent.receive(
            ReceiveRequest(
                message=message,
                recipient=receiver.recipient,
                trust=receiver.trust,
                crls=(*receiver.crls, *given),
            )
        )


@contextlib.contextmanager
def _crl_files(crls: tuple[bytes, ...]) -> Iterator[tuple[Path, ...]]:
    """`crls` as files of a temporary directory, removed once the receiver has answered;
    each named by its digest, the name its receive log and the case's evidence cite."""
    if not crls:
        yield ()
        return
    with tempfile.TemporaryDirectory(prefix="osm-case-crls-") as tmp:
        paths = tuple(Path(tmp) / _crl_name(crl) for crl in crls)
        for path, crl in zip(paths, crls, strict=True):
            path.write_bytes(crl)
        yield paths


def _crl_name(crl: bytes) -> str:
    """The file name a case's CRL is given under (a receive log names it)."""
    return f"{hashlib.sha256(crl).hexdigest()[:16]}.crl.pem"


# What a receiver said of the valid message the hostile ones are made from (its
# status), or why it could not be had (the harness broke); per control_key.
Controls = dict[str, Status | str]

# The key transport an envelope's valid message is tried with again when the receiver
# lacks an algorithm for the usual one (hostile.KEY_TRANSPORT): RSA-OAEP with SHA-256,
# which reference sends and WebCrypto decrypts.
FALLBACK_TRANSPORT: KeyTransport = "rsa-oaep-sha256"


@dataclass(frozen=True)
class Control:
    """The receiver's answer to a case's valid message (`status`) and the key transport
    of that message's envelope, which the hostile ones then use. `change` says why when
    it is not the usual key transport: the case result carries it as a field, the
    evidence as its `control:` line (never inside the receiver's answer)."""

    status: Status
    change: KeyTransportChange | None = None

    @property
    def key_transport(self) -> KeyTransport:
        return KEY_TRANSPORT if self.change is None else self.change.used


def _read_control(
    case: RejectionCase,
    producer: str,
    receiver: Receiver,
    pki: TestPKI,
    controls: Controls,
    key_transport: KeyTransport,
) -> Status | str:
    key = control_key(case, producer, key_transport)
    if key not in controls:
        try:
            valid = make_control(
                case,
                producer=producer,
                pki=pki,
                sender=identity_id(receiver.sender),
                recipient=identity_id(receiver.recipient),
                key_transport=key_transport,
            )
            controls[key] = _receive(receiver, valid.message).status
        except Exception as exc:  # the harness's error, not the receiver's
            controls[key] = f"valid message ({key}): {type(exc).__name__}: {exc}"
    return controls[key]


def control_status(
    case: RejectionCase, producer: str, receiver: Receiver, pki: TestPKI, controls: Controls
) -> Control | str:
    """The receiver's answer to the case's valid message, read once per control key: a
    receiver that does not read the valid message proves nothing by refusing the hostile one.

    An envelope is made with PKCS#1 v1.5 key transport. A receiver that answers that it
    lacks an algorithm (WebCrypto has no PKCS#1 v1.5 decryption) is given the same valid
    message with RSA-OAEP: if it reads that one, the key transport was what it lacked,
    and the case is measured with OAEP envelopes. Chosen by what the receiver answers,
    not by its name; a receiver that reads v1.5 gets exactly the v1.5 messages."""
    usual = _read_control(case, producer, receiver, pki, controls, KEY_TRANSPORT)
    if isinstance(usual, str) or case.function == "sign" or not _lacks_algorithm(usual):
        return usual if isinstance(usual, str) else Control(usual)
    other = _read_control(case, producer, receiver, pki, controls, FALLBACK_TRANSPORT)
    if isinstance(other, str):
        return other
    if other.ok or other.broke:  # read, or its harness broke on it (the case is an error)
        lacked = ErrorCode.UNSUPPORTED_ALGORITHM.value
        change = KeyTransportChange(
            used=FALLBACK_TRANSPORT, usual=KEY_TRANSPORT, usual_status=lacked, read=other.ok
        )
        return Control(other, change)
    # Not the key transport (AES-GCM the receiver lacks, say): judged on the usual
    # message, as a receiver that reads PKCS#1 v1.5 is.
    return Control(usual)


def _lacks_algorithm(status: Status) -> bool:
    primary = status.primary_error()
    return primary is not None and primary.code == ErrorCode.UNSUPPORTED_ALGORITHM


def _control_line(change: KeyTransportChange | None) -> str:
    """The evidence's `control:` line (English): the key transport the envelopes took and
    why, or "" for the usual one."""
    if change is None:
        return ""
    tried = (
        f"envelopes with {change.used}: the valid message with {change.usual} is not read "
        f"({change.usual_status}), "
    )
    if not change.read:
        broke = "(an internal error, not its answer)"
        return f"{tried}and the receiver's harness broke on the one with {change.used} {broke}"
    return f"{tried}with {change.used} it is"


def attempt(
    case: RejectionCase,
    producer: str,
    receiver: Receiver,
    pki: TestPKI,
    policy: Policy,
    control: Control,
    data: Any = None,
) -> _Attempt:
    """Make one hostile message, its envelope with `control`'s key transport, hand it to
    the receiver, judge what it said (beside what it said of the valid message)."""
    made = _made(case, producer, receiver, pki, control, data)
    if isinstance(made, str):
        return _Attempt(None, None, judge(case, None, policy, receives=True, exception=made))
    return _received(case, receiver, policy, control, made)


def _made(
    case: RejectionCase,
    producer: str,
    receiver: Receiver,
    pki: TestPKI,
    control: Control,
    data: Any,
) -> Hostile | str:
    """The hostile message `data` draws, or why making it broke (the harness's error)."""
    try:
        return make_hostile(
            case,
            producer=producer,
            pki=pki,
            sender=identity_id(receiver.sender),
            recipient=identity_id(receiver.recipient),
            data=data,
            key_transport=control.key_transport,
        )
    except Exception as exc:
        if _is_hypothesis_control(exc):
            raise
        return f"hostile message: {type(exc).__name__}: {exc}"


def _received(
    case: RejectionCase, receiver: Receiver, policy: Policy, control: Control, hostile: Hostile
) -> _Attempt:
    try:
        reception = _receive(receiver, hostile.message, hostile.crls)
    except Exception as exc:  # the agent broke: the harness's error, not the receiver's
        broke = f"receiver: {type(exc).__name__}: {exc}"
        return _Attempt(hostile, None, judge(case, None, policy, receives=True, exception=broke))
    judged = judge(case, reception.status, policy, receives=True, control=control.status)
    return _Attempt(hostile, reception, judged)


def _is_hypothesis_control(exc: BaseException) -> bool:
    """Hypothesis stops a test with exceptions of its own; they must pass through."""
    return type(exc).__module__.startswith("hypothesis")


class _Stop(Exception):
    pass


def _search(
    case: RejectionCase,
    producer: str,
    receiver: Receiver,
    pki: TestPKI,
    settings: RejectionSettings,
    seed: int,
    control: Control,
) -> tuple[int, _Attempt | None, bool]:
    """Drawn variants until one is accepted (or breaks the harness); the shrunk one, and
    whether it was accepted again when replayed."""
    tried = 0
    best: _Attempt | None = None
    failures = 0

    def check(data: st.DataObject) -> None:
        nonlocal tried, best, failures
        if best is not None and failures >= settings.shrink_budget:
            # Budget spent: no other variant is received, so shrinking stops at the best
            # so far; hypothesis's replay of that one is received for real, so that
            # whether it happened again is measured, not assumed.
            made = _made(case, producer, receiver, pki, control, data)
            if isinstance(made, str) and best.hostile is None:  # making it broke again
                broke = judge(case, None, settings.policy, receives=True, exception=made)
                found = _Attempt(None, None, broke)
            elif isinstance(made, str) or made != best.hostile:
                return
            else:
                found = _received(case, receiver, settings.policy, control, made)
            fails = found.judgement.outcome == best.judgement.outcome
        else:
            if best is None:
                tried += 1
            found = attempt(case, producer, receiver, pki, settings.policy, control, data)
            outcome = found.judgement.outcome
            # A false accept outranks a broken harness: once one is found, shrinking keeps
            # to accepted variants (a smaller one the receiver breaks on would turn it into
            # error).
            keeps = best is None or best.judgement.outcome == "error"
            fails = outcome == "accepts" or (outcome == "error" and keeps)
            if fails:
                failures += 1
                best = found
        if fails:  # one line: hypothesis compares where a failure and its replay come from
            raise _Stop(found.judgement.reason)

    search = searched(
        given(st.data())(check),
        examples=settings.variants - 1,
        phases=[Phase.generate, Phase.shrink],
        seed=seed,
    )
    repeated = True
    with contextlib.suppress(_Stop):
        repeated = search()
    return tried, best, repeated


def run_case(
    case: RejectionCase,
    producer: str,
    receiver: Receiver,
    pki: TestPKI,
    settings: RejectionSettings,
    evidence: _Evidence,
    controls: Controls,
) -> RejectionCaseResult:
    expected = case.expectation(settings.policy)
    seed = rejection_seed(settings.seed, receiver.agent.id, case.id, producer)
    prefix = f"{_safe(case.id)}.{_safe(producer)}"
    control = control_status(case, producer, receiver, pki, controls)
    if isinstance(control, str):
        broke = judge(case, None, settings.policy, receives=True, exception=control)
        return RejectionCaseResult(
            case=case.id, producer=producer, outcome=broke.outcome, expected=expected,
            reason=broke.reason,
        )  # fmt: skip
    basic = attempt(case, producer, receiver, pki, settings.policy, control)
    result = RejectionCaseResult(
        case=case.id,
        producer=producer,
        outcome=basic.judgement.outcome,
        expected=expected,
        variant=basic.hostile.wording.en if basic.hostile is not None else "",
        variant_fr=basic.hostile.wording.fr if basic.hostile is not None else None,
        claimed=list(basic.judgement.claimed),
        reason=basic.judgement.reason,
        passed=basic.judgement.passed,
        evidence=evidence.attempt(prefix, basic, expected, _control_line(control.change)),
        examples=1,
        key_transport=control.change,
    )
    if basic.judgement.outcome == "accepts":
        # Replayed once, as the search replays what it finds: an acceptance that does not
        # happen again (openssl decrypting with a random key) stands, and says so.
        again = attempt(case, producer, receiver, pki, settings.policy, control)
        result.repeated = again.judgement.outcome != "refuses"
        result.reason = as_observed(basic.judgement.reason, result.repeated)
        return result
    if basic.judgement.outcome != "refuses" or settings.variants <= 1:
        return result
    tried, found, repeated = _search(case, producer, receiver, pki, settings, seed, control)
    result.examples += tried
    if found is not None:
        result.outcome = found.judgement.outcome
        result.variant = found.hostile.wording.en if found.hostile is not None else ""
        result.variant_fr = found.hostile.wording.fr if found.hostile is not None else None
        result.claimed = list(found.judgement.claimed)
        result.reason = as_observed(found.judgement.reason, repeated)
        result.passed = found.judgement.passed
        result.repeated = repeated if found.judgement.outcome == "accepts" else None
        result.seed = seed
        shrunk = evidence.attempt(
            f"{prefix}.shrunk", found, expected, _control_line(control.change)
        )
        result.evidence += shrunk
    return result


def cell_verdict(outcomes: list[Outcome]) -> Outcome:
    if "accepts" in outcomes:
        return "accepts"
    if "error" in outcomes:
        return "error"
    if outcomes and all(o == "not-applicable" for o in outcomes):
        return "not-applicable"
    return "refuses" if outcomes else "not-applicable"


def run_rejection_cell(
    receiver: Receiver,
    cls: RejectionClass,
    pki: TestPKI,
    settings: RejectionSettings,
    cases: tuple[RejectionCase, ...] | None = None,
) -> RejectionCell:
    """Every case of `cls` against one receiver (never raises: a broken harness is `error`)."""
    started = time.perf_counter()
    agent_id = receiver.agent.id
    cell = RejectionCell(receiver=agent_id, cls=cls, verdict="error")
    try:
        mine = [c for c in (cases if cases is not None else load_cases()) if c.cls == cls]
        receives = receiver.agent.capabilities().receive
        evidence = _Evidence(settings.out_dir, agent_id, cls)
        controls: Controls = {}
        for case in mine:
            if case.function not in receives:
                judged = judge(case, None, settings.policy, receives=False)
                cell.cases.append(
                    RejectionCaseResult(
                        case=case.id,
                        producer="-",
                        outcome=judged.outcome,
                        expected=case.expectation(settings.policy),
                        reason=f"{agent_id}: {judged.reason}",
                    )
                )
                continue
            for producer in case.producers:
                found = run_case(case, producer, receiver, pki, settings, evidence, controls)
                cell.cases.append(found)
        cell.verdict = cell_verdict([c.outcome for c in cell.cases])
        cell.reason = _reason(cell)
    except Exception as exc:  # a bug anywhere in the harness is an error, not a verdict
        cell.verdict, cell.reason = "error", f"harness error: {type(exc).__name__}: {exc}"
    cell.duration_s = round(time.perf_counter() - started, 4)
    return cell


def _reason(cell: RejectionCell) -> str | None:
    for outcome in ("accepts", "error"):
        for case in cell.cases:
            if case.outcome == outcome:
                claimed = f" (claims {', '.join(case.claimed)})" if case.claimed else ""
                return f"{case.case} [{case.producer}]{claimed}: {case.reason}"
    if cell.verdict == "not-applicable":
        return cell.cases[0].reason if cell.cases else f"no case of class {cell.cls}"
    return None


def case_infos(
    policy: Policy, cases: tuple[RejectionCase, ...] | None = None
) -> list[RejectionCaseInfo]:
    """The cases as results.json carries them for the report, expectations under `policy`."""
    return [
        RejectionCaseInfo(
            id=case.id,
            cls=case.cls,
            function=case.function,
            title={lang: text for lang, text in case.title.items()},
            explanation={lang: text for lang, text in case.explanation.items()},
            spec=case.spec,
            spec_fr=case.spec_fr,
            expected=case.expectation(policy),
        )
        for case in (cases if cases is not None else load_cases())
    ]
