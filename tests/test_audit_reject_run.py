"""Audit of the rejection search: a false accept found among drawn variants is what the
case reports, even when shrinking it passes variants the receiver breaks on."""

from __future__ import annotations

import re

import pytest

from conformance.agents.base import ReceiveRequest, Reception
from conformance.core.vocabulary import Capabilities
from conformance.pki import TestPKI, load_pki
from conformance.rejections import run as run_module
from conformance.rejections.hostile import Hostile, make_control, make_hostile
from conformance.rejections.model import load_cases
from conformance.rejections.run import Receiver, RejectionSettings, run_case
from conformance.status import ErrorCode, Status

SENDER, RECIPIENT = "pro01", "pro02"


class _Scripted:
    """Reads the valid message; of a signature value flipped at byte N: claims
    authentication for 20 <= N < 100, breaks (internal) for 5 <= N < 15, else refuses."""

    id = "scripted"

    def __init__(self, control: bytes, flipped: list[int]) -> None:
        self.control, self.flipped = control, flipped

    def capabilities(self) -> Capabilities:
        return Capabilities(send=frozenset(), receive=frozenset({"sign"}))

    def version(self) -> str:
        return "0"

    def receive(self, request: ReceiveRequest) -> Reception:
        status = Status()
        if request.message == self.control:
            status.services.integrity = status.services.authentication = True
            return Reception(b"", status)
        at = self.flipped[-1]
        if 20 <= at < 100:
            status.services.integrity = status.services.authentication = True
        elif 5 <= at < 15:
            status.add_error(ErrorCode.INTERNAL, "scripted crash")
        else:
            status.add_error(ErrorCode.BAD_SIGNATURE, "scripted refusal")
        return Reception(None, status)


def test_shrinking_a_false_accept_never_turns_it_into_a_harness_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pki: TestPKI = load_pki()
    case = next(c for c in load_cases() if c.id == "altered-signature-value")
    flipped: list[int] = []
    real = make_hostile

    def spied(*args: object, **kwargs: object) -> Hostile:
        made = real(*args, **kwargs)  # type: ignore[arg-type]
        flipped.append(int(re.search(r"byte (\d+) of", made.variant).group(1)))  # type: ignore[union-attr]
        return made

    monkeypatch.setattr("conformance.rejections.run.make_hostile", spied)
    control = make_control(case, producer="reference", pki=pki, sender=SENDER, recipient=RECIPIENT)
    receiver = Receiver(
        _Scripted(control.message, flipped),  # type: ignore[arg-type]
        pki.identity(RECIPIENT).party(),
        pki.identity(SENDER).party(),
        tuple(pki.trust_paths()),
        tuple(pki.crl_paths()),
    )
    settings = RejectionSettings(variants=30, seed=2)  # draws an accepted byte (58) first
    result = run_case(
        case, "reference", receiver, pki, settings, run_module._Evidence(None, "x", "y"), {}
    )
    assert any(20 <= at < 100 for at in flipped) and any(5 <= at < 15 for at in flipped)
    assert result.outcome == "accepts", result.reason
    assert result.variant == "signature value, byte 20 of 256 xor 0x01"  # shrunk, still accepted
    assert result.claimed == ["integrity", "authentication"]
