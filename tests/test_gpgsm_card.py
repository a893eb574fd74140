"""gpgsm with its keys on the CPS card (profile gpgsm-cps): gpg-agent reaches them through
gnupg-pkcs11-scd and the token's PKCS#11 module, and what it writes is measured.

Measured here (gpgsm 2.2.40, gnupg-pkcs11-scd 0.10.0, SoftHSM 2.6): gpgsm signs and
decrypts on the card, and no private key is in gpg-agent's store; about one signature in
two is 257 octets for a 2048-bit key, a leading zero octet before the value, which gpgsm
itself reads and RFC 8017 8.2.2 (step 1) refuses. The reference reader refuses exactly
those, naming the length.
"""

from __future__ import annotations

import base64
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from asn1crypto import cms

from conformance.agents.base import Agent, ReceiveRequest, SendRequest
from conformance.agents.factory import close_agent, make_agent
from conformance.agents.gpgsm import GpgsmAgent
from conformance.pki import TestPKI, load_pki
from conformance.profiles.loader import load_profiles
from conformance.status import ErrorCode
from conformance.token import softhsm

pytestmark = [
    pytest.mark.engines,
    pytest.mark.skipif(
        any(shutil.which(t) is None for t in ("gpgsm", "gpg-agent", "gnupg-pkcs11-scd")),
        reason="gpgsm or gnupg-pkcs11-scd is not installed (Debian gpgsm, gnupg-pkcs11-scd)",
    ),
    pytest.mark.skipif(not softhsm.available(), reason="SoftHSM2 is not installed (softhsm2)"),
]

LETTER = b"Content-Type: text/plain; charset=utf-8\r\n\r\nCompte rendu %d : normal.\r\n"
SIGNATURES = 16


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return load_pki()


@pytest.fixture(scope="module")
def card(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GpgsmAgent]:
    agent = GpgsmAgent(workdir=tmp_path_factory.mktemp("gpgsm-cps"), keys="card")
    try:
        yield agent
    finally:
        agent.close()


@pytest.fixture(scope="module")
def reference() -> Iterator[Agent]:
    agent = make_agent(load_profiles()["reference"])
    try:
        yield agent
    finally:
        close_agent(agent)


def _signature(message: bytes) -> bytes:
    """The signature value of the message's detached CMS signature (its last base64 part)."""
    body = message.rsplit(b"\r\n\r\n", 1)[0].rsplit(b"\r\n\r\n", 1)[1]
    info = cms.ContentInfo.load(base64.b64decode(b"".join(body.split())))
    signer = info["content"]["signer_infos"][0]
    value: bytes = signer["signature"].native
    return value


def test_the_keys_stay_on_the_card(card: GpgsmAgent, pki: TestPKI) -> None:
    card.prepare(pki.identity("pro01").party())
    keys = list((card.home / "private-keys-v1.d").iterdir())
    assert keys, "gpgsm --learn-card gave gpg-agent no key"
    for key in keys:  # a stub naming the card, no key material
        assert b"shadowed-private-key" in key.read_bytes(), key.name


def test_a_signature_on_the_card_is_read_as_its_length_says(
    card: GpgsmAgent, reference: Agent, pki: TestPKI
) -> None:
    sender, reader = pki.identity("pro01"), pki.identity("pro02")
    lengths: list[int] = []
    for n in range(SIGNATURES):
        sent = card.send(SendRequest("sign", LETTER % n, sender.party(), (), (reader.email,)))
        assert sent.message is not None, sent.reason
        length = len(_signature(sent.message))
        lengths.append(length)
        status = reference.receive(
            ReceiveRequest(sent.message, reader.party(), pki.trust_paths(), pki.crl_paths())
        ).status
        if length == 256:
            assert status.signature_valid, [e.message for e in status.errors]
        else:
            assert length == 257
            assert [e.code for e in status.errors] == [ErrorCode.BAD_SIGNATURE]
            said = status.errors[0].message
            assert "257 octets with a leading zero octet, not the 256" in said, said
    print(f"\ngpgsm-cps signature lengths over {SIGNATURES} letters: {sorted(lengths)}")


def test_the_card_decrypts_and_a_second_user_joins_it(card: GpgsmAgent, pki: TestPKI) -> None:
    """pro03 comes after pro01's card is in use: gpg-agent, its card daemon and the
    harness's servers start again with both cards, and pro01's still signs."""
    sender, reader = pki.identity("pro01"), pki.identity("pro03")
    card.prepare(sender.party())
    card.send(SendRequest("sign", LETTER % 0, sender.party(), (), ("x@y.example",)))
    sent = card.send(
        SendRequest(
            "encrypt",
            LETTER % 1,
            sender.party(),
            (reader.certificate("encrypt"),),
            (reader.email,),
        )
    )
    assert sent.message is not None, sent.reason
    card.prepare(reader.party())
    request = ReceiveRequest(sent.message, reader.party(), pki.trust_paths(), pki.crl_paths())
    received = card.receive(request)
    assert received.status.decrypted, [e.message for e in received.status.errors]
    assert received.content is not None and b"Compte rendu 1" in received.content
    again = card.send(SendRequest("sign", LETTER % 2, sender.party(), (), ("x@y.example",)))
    assert again.message is not None, again.reason


def test_closing_stops_the_daemons_and_removes_the_card(tmp_path: Path, pki: TestPKI) -> None:
    agent = GpgsmAgent(workdir=tmp_path, keys="card")
    agent.prepare(pki.identity("pro01").party())
    home = str(agent.home)
    (tokens,) = [t.resolve() for t in agent.home.glob("proc-gpgsm-*/tokens")]
    assert _processes_of(home), "no gpg-agent or card daemon ran"
    agent.close()
    assert _processes_of(home) == []
    assert tokens.name.startswith("proc-gpgsm-")  # so the next process removes it if killed
    assert not tokens.exists() and not Path(home).exists()


def _processes_of(home: str) -> list[str]:
    """The command lines of the running processes that name `home`."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            line = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if home in line:
            found.append(line)
    return found
