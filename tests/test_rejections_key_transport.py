"""The envelopes' key transport, chosen by measurement: a receiver that lacks PKCS#1 v1.5
decryption (WebCrypto, hence PKI.js) is measured with RSA-OAEP envelopes when it reads
the OAEP valid message, and says so; a receiver that reads v1.5 gets exactly the v1.5
messages, with no extra reception.

The receivers are `reference` itself and `reference` answering as a WebCrypto receiver
does (unsupported-algorithm for a key transport it lacks), so the only difference is
the key transport.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from asn1crypto import cms as asn1_cms
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers import Cipher, modes

from conformance.agents.base import Agent, ReceiveRequest, Reception
from conformance.agents.factory import close_agent, make_agent
from conformance.core.vocabulary import Capabilities, KeyTransport
from conformance.pki import TestPKI, load_pki
from conformance.profiles.loader import load_profile
from conformance.rejections.hostile import (
    KEY_TRANSPORT,
    LETTER,
    Hostile,
    _cms_of,
    control_key,
    make_control,
    make_hostile,
)
from conformance.rejections.model import RejectionCase, load_cases
from conformance.rejections.run import (
    FALLBACK_TRANSPORT,
    Controls,
    Receiver,
    RejectionSettings,
    _Evidence,
    run_case,
    run_rejection_cell,
)
from conformance.results import KeyTransportChange
from conformance.status import ErrorCode, Status

SENDER, RECIPIENT = "pro01", "pro02"
CASES = {c.id: c for c in load_cases()}
ENVELOPED = [c for c in load_cases() if c.function != "sign"]
OAEP = "key transport rsa-oaep-sha256"


class _Lacking:
    """Reference, answering unsupported-algorithm (as the pkijs agent does) to an envelope
    whose key transport is one of `lacks`; it keeps every message it is given."""

    id = "lacking"

    def __init__(self, inner: Agent, lacks: frozenset[str]) -> None:
        self.inner, self.lacks = inner, lacks
        self.received: list[bytes] = []

    def capabilities(self) -> Capabilities:
        return self.inner.capabilities()

    def version(self) -> str:
        return "0"

    def receive(self, request: ReceiveRequest) -> Reception:
        self.received.append(request.message)
        reception = self.inner.receive(request)
        if self.lacks & set(reception.status.algorithms.key_transport):
            status = Status(encrypted=True)
            status.add_error(ErrorCode.UNSUPPORTED_ALGORITHM, "NotSupportedError: no such key")
            return Reception(None, status)
        return reception


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return load_pki()


@pytest.fixture(scope="module")
def reference() -> Iterator[Agent]:
    agent = make_agent(load_profile("reference"))
    yield agent
    close_agent(agent)


def _made(
    make: Callable[..., Hostile],
    pki: TestPKI,
    case: RejectionCase,
    key_transport: KeyTransport = KEY_TRANSPORT,
) -> Hostile:
    """The case's valid message (`make_control`) or hostile one (`make_hostile`)."""
    return make(
        case,
        producer="reference",
        pki=pki,
        sender=SENDER,
        recipient=RECIPIENT,
        key_transport=key_transport,
    )


def _control(pki: TestPKI, case: RejectionCase, kt: KeyTransport = KEY_TRANSPORT) -> Hostile:
    return _made(make_control, pki, case, kt)


def _hostile(pki: TestPKI, case: RejectionCase, kt: KeyTransport = KEY_TRANSPORT) -> Hostile:
    return _made(make_hostile, pki, case, kt)


def _receiver(pki: TestPKI, agent: object) -> Receiver:
    return Receiver(
        agent,  # type: ignore[arg-type]
        pki.identity(RECIPIENT).party(),
        pki.identity(SENDER).party(),
        tuple(pki.trust_paths()),
        tuple(pki.crl_paths()),
    )


def test_a_receiver_without_pkcs1_v15_is_measured_with_oaep(
    pki: TestPKI, reference: Agent, tmp_path: Path
) -> None:
    """Before, every encryption case was not-applicable for it: its refusals never measured."""
    lacking = _Lacking(reference, frozenset({"rsa-pkcs1v15"}))
    settings = RejectionSettings(variants=1, out_dir=tmp_path)
    cells = [
        run_rejection_cell(_receiver(pki, lacking), cls, pki, settings)
        for cls in ("encrypt-malleability", "not-for-me", "downgrade")
    ]
    measured = [c for cell in cells for c in cell.cases if CASES[c.case].function != "sign"]
    assert {c.case for c in measured} == {c.id for c in ENVELOPED}
    for case in measured:
        assert case.outcome == "refuses", (case.case, case.reason)
        assert case.variant.endswith(OAEP) and case.variant_fr, case.variant
        assert case.variant_fr.endswith("transport de clé rsa-oaep-sha256"), case.variant_fr
        # The suite's choice is a field of the case, never appended to what the receiver said.
        assert case.key_transport == KeyTransportChange(
            used="rsa-oaep-sha256",
            usual="rsa-pkcs1v15",
            usual_status="unsupported-algorithm",
            read=True,
        )
        assert case.reason and "rsa-oaep" not in case.reason and "envelopes" not in case.reason
    # The evidence names the key transport and why it was chosen.
    (written,) = [tmp_path / p for p in measured[0].evidence if p.endswith(".txt")]
    content = written.read_text(encoding="utf-8")
    assert OAEP in content and "control: envelopes with rsa-oaep-sha256" in content


def test_the_hostile_messages_are_the_oaep_valid_message_changed(
    pki: TestPKI, reference: Agent
) -> None:
    """Each valid message is read once per key transport; the hostile ones are made with
    the key transport the receiver read."""
    lacking = _Lacking(reference, frozenset({"rsa-pkcs1v15"}))
    case = CASES["efail-cbc-encrypt-only"]
    controls: Controls = {}
    result = run_case(
        case,
        "reference",
        _receiver(pki, lacking),
        pki,
        RejectionSettings(variants=1),
        _Evidence(None, "x", "y"),
        controls,
    )
    assert result.outcome == "refuses", result.reason
    assert set(controls) == {
        control_key(case, "reference"),
        control_key(case, "reference", FALLBACK_TRANSPORT),
    }
    v15, oaep = _control(pki, case), _control(pki, case, FALLBACK_TRANSPORT)
    hostile = _hostile(pki, case, FALLBACK_TRANSPORT)
    assert lacking.received == [v15.message, oaep.message, hostile.message]


def test_a_receiver_that_reads_pkcs1_v15_gets_the_v15_messages_only(
    pki: TestPKI, reference: Agent
) -> None:
    spy = _Lacking(reference, frozenset())
    cell = run_rejection_cell(_receiver(pki, spy), "not-for-me", pki, RejectionSettings(variants=1))
    assert cell.verdict == "refuses", cell.reason
    hostile = [_hostile(pki, CASES[c.case]).message for c in cell.cases]
    control = _control(pki, CASES["not-for-me-wrong-key"])
    assert spy.received == [control.message, *hostile]  # no OAEP control was tried
    for case in cell.cases:
        assert "key transport" not in case.variant and "rsa-oaep" not in (case.reason or "")
        assert case.key_transport is None


def test_a_receiver_that_reads_neither_is_judged_on_the_usual_message(
    pki: TestPKI, reference: Agent
) -> None:
    """What it lacks is not the key transport (as a receiver without AES-GCM): the OAEP
    valid message is tried, and the case stays not-applicable on the v1.5 one, its
    reason as before."""
    neither = _Lacking(reference, frozenset({"rsa-pkcs1v15", FALLBACK_TRANSPORT}))
    case = CASES["not-for-me-wrong-key"]
    cell = run_rejection_cell(
        _receiver(pki, neither), "not-for-me", pki, RejectionSettings(variants=1)
    )
    assert cell.verdict == "not-applicable", cell.reason
    tried = [_control(pki, case).message, _control(pki, case, FALLBACK_TRANSPORT).message]
    assert neither.received[:2] == tried
    for result in cell.cases:
        assert result.reason == (
            "the receiver does not read the valid message: unsupported-algorithm: "
            "NotSupportedError: no such key"
        )
        assert "key transport" not in result.variant and result.key_transport is None


@pytest.mark.parametrize("case_id", [c.id for c in ENVELOPED])
def test_every_envelope_case_holds_under_oaep(case_id: str, pki: TestPKI, reference: Agent) -> None:
    """Reference reads the OAEP valid message and refuses the OAEP hostile one, whose
    envelope carries RSA-OAEP (no maker assumes the PKCS#1 v1.5 block)."""
    case = CASES[case_id]
    control = _control(pki, case, FALLBACK_TRANSPORT)
    hostile = _hostile(pki, case, FALLBACK_TRANSPORT)
    party = pki.identity(RECIPIENT).party()
    trust, crls = pki.trust_paths(), pki.crl_paths()
    read = reference.receive(ReceiveRequest(control.message, party, trust, crls)).status
    assert read.ok and read.algorithms.key_transport == [FALLBACK_TRANSPORT], read.errors
    got = reference.receive(ReceiveRequest(hostile.message, party, trust, crls)).status
    assert FALLBACK_TRANSPORT in got.algorithms.key_transport or not got.ok
    assert hostile.variant.endswith(OAEP) and "rsa-oaep-sha256" in control.variant


def test_single_des_under_oaep_is_a_readable_single_des_envelope(pki: TestPKI) -> None:
    """The hand-made DES envelope encrypts its key with the RecipientInfo's own key
    transport: OAEP opens it, and the content is the letter under a 56-bit key."""
    hostile = _hostile(pki, CASES["downgrade-des"], FALLBACK_TRANSPORT)
    _, data = _cms_of(hostile.message)
    envelope = asn1_cms.ContentInfo.load(data)["content"]
    ktri = envelope["recipient_infos"][0].chosen
    assert ktri["key_encryption_algorithm"]["algorithm"].native == "rsaes_oaep"
    oaep = padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None)
    key = pki.identity(RECIPIENT).private_key("encrypt").decrypt(ktri["encrypted_key"].native, oaep)
    content = envelope["encrypted_content_info"]
    iv = content["content_encryption_algorithm"]["parameters"].native
    decryptor = Cipher(TripleDES(key * 3), modes.CBC(iv)).decryptor()
    plain = decryptor.update(content["encrypted_content"].native) + decryptor.finalize()
    assert len(key) == 8 and plain.startswith(LETTER.split(b"\r\n", 1)[0])


def test_the_control_key_names_the_envelopes_key_transport() -> None:
    encrypt, signed = CASES["not-for-me-wrong-key"], CASES["altered-content"]
    assert control_key(encrypt, "reference") != control_key(
        encrypt, "reference", FALLBACK_TRANSPORT
    )
    assert control_key(encrypt, "reference").endswith("rsa-pkcs1v15")
    assert control_key(signed, "reference") == control_key(signed, "reference", FALLBACK_TRANSPORT)
