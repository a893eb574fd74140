"""The BouncyCastle engine (harnesses/bouncycastle, agents/bouncycastle.py) against itself
and the other real engines, in both engine modes.

BouncyCastle exchanges sign / encrypt / sign-encrypt with itself and with openssl in
both directions for each key transport and cipher family (PKCS#1 v1.5, OAEP SHA-1 and
SHA-256, AES-CBC, AES-GCM AuthEnvelopedData, 3DES) and both signature formats; a
tampered signature, an unknown signer, a revoked signer (the intermediate CA's CRL)
and an unreadable message get their own codes with BouncyCastle's words; the harness
answers a broken request by the protocol; cli mode gives the same verdicts.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from pki_support import export_layout_pki

from conformance.agents.base import ReceiveRequest, SendRequest
from conformance.agents.bouncycastle import PROGRAM, BouncyCastleAgent
from conformance.agents.factory import make_agent
from conformance.agents.identity_files import identity_json
from conformance.agents.openssl import OpenSSLAgent
from conformance.agents.tool_agent import ToolAgent
from conformance.agents.tools import ENGINE_MODE_ENV, harness_command
from conformance.core.vocabulary import Function, Party
from conformance.matrix.cast import exported_pki
from conformance.pki.model import load_pki
from conformance.profiles import load_profile
from conformance.smime.options import EncryptOptions, SendOptions, SignOptions
from conformance.status import ErrorCode

pytestmark = pytest.mark.engines
built = pytest.mark.skipif(
    shutil.which("java") is None or not os.access(PROGRAM, os.X_OK),
    reason="the BouncyCastle harness is not built: make -C harnesses/bouncycastle "
    "(default-jdk-headless, libbcprov-java, libbcpkix-java, libbcmail-java)",
)

CONTENT = (
    b"Content-Type: text/plain; charset=iso-8859-1\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n\r\n"
    b"Cher confr\xe8re,\r\nH|^~\\&|||LABO\r\nOBX|1|NM|GLU^Glyc\xe9mie||5.2|mmol/l\r\n"
)
FUNCTIONS: tuple[Function, ...] = ("sign", "encrypt", "sign-encrypt")
OPTIONS = {
    "pkcs1-aes256": SendOptions(encrypt=EncryptOptions(key_transport="rsa-pkcs1v15")),
    "oaep256-aes128": SendOptions(encrypt=EncryptOptions(content="aes128-cbc")),
    "oaep1-3des": SendOptions(
        encrypt=EncryptOptions(content="des-ede3-cbc", key_transport="rsa-oaep-sha1")
    ),
    "gcm-opaque": SendOptions(
        sign=SignOptions(format="opaque", signer_identifier="ski"),
        encrypt=EncryptOptions(content="aes256-gcm", recipient_identifier="ski"),
    ),
}


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_layout_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def bc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BouncyCastleAgent]:
    agent = BouncyCastleAgent(workdir=tmp_path_factory.mktemp("bc"))
    yield agent
    agent.close()


def party(pki: Path, ident: str) -> Party:
    return Party(pki / "identities" / ident, f"{ident}@osm.test", ident)


def send(agent: ToolAgent, pki: Path, function: Function, sender: str = "alice") -> bytes:
    bob = x509.load_pem_x509_certificate((pki / "identities/bob/encrypt.pem").read_bytes())
    result = agent.send(
        SendRequest(function, CONTENT, party(pki, sender), (bob,), ("bob@osm.test",), subject="R")
    )
    assert result.message is not None, (result.error, result.reason, result.evidence.stderr)
    return result.message


def request(pki: Path, message: bytes) -> ReceiveRequest:
    ca = pki / "ca"
    return ReceiveRequest(
        message,
        party(pki, "bob"),
        (ca / "root.pem",),
        (ca / "root.crl.pem", ca / "intermediate.crl.pem"),
    )


@built
@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("options", list(OPTIONS), ids=list(OPTIONS))
@pytest.mark.parametrize("direction", ["bc->bc", "bc->openssl", "openssl->bc"])
def test_exchange(
    pki: Path, tmp_path: Path, direction: str, options: str, function: Function
) -> None:
    if "openssl" in direction and shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    made = {
        "bc": BouncyCastleAgent(OPTIONS[options], tmp_path / "bc"),
        "openssl": OpenSSLAgent(OPTIONS[options], tmp_path / "openssl")
        if "openssl" in direction
        else None,
    }
    sender_name, receiver_name = direction.split("->")
    sender, receiver = made[sender_name], made[receiver_name]
    assert sender is not None and receiver is not None
    reception = receiver.receive(request(pki, send(sender, pki, function)))
    status = reception.status
    assert status.errors == [], reception.evidence.stderr.decode(errors="replace")
    assert reception.content == CONTENT
    signed, encrypted = function != "encrypt", function != "sign"
    expected = ({"authentication", "integrity", "non_repudiation"} if signed else set()) | (
        {"confidentiality"} if encrypted else set()
    )
    assert status.services.as_set() == expected
    if encrypted:
        transport = OPTIONS[options].encrypt.key_transport
        assert status.algorithms.key_transport == [transport]
        assert status.algorithms.content_encryption == [OPTIONS[options].encrypt.content]
    if signed:
        assert status.signer is not None and status.signer.email == "alice@osm.test"


OTHERS = {
    "nss": ("cmsutil", "certutil", "pk12util", "crlutil"),
    "gpgsm": ("gpgsm", "gpg-agent", "gpg-connect-agent"),
}


@built
@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("other", sorted(OTHERS))
def test_exchange_with_nss_and_gpgsm(
    pki: Path, tmp_path: Path, other: str, function: Function
) -> None:
    """Both ways with NSS and gpgsm, in PKCS#1 v1.5 and AES-CBC: what those two read."""
    missing = [t for t in OTHERS[other] if shutil.which(t) is None]
    if missing:
        pytest.skip(f"{other}: {', '.join(missing)} not installed")
    from conformance.agents.gpgsm import GpgsmAgent
    from conformance.agents.nss import NssAgent

    kind = NssAgent if other == "nss" else GpgsmAgent
    options = OPTIONS["pkcs1-aes256"]
    with (
        BouncyCastleAgent(options, tmp_path / "bc") as bc,
        kind(workdir=tmp_path / other) as peer,
    ):
        for sender, receiver in ((bc, peer), (peer, bc)):
            reception = receiver.receive(request(pki, send(sender, pki, function)))
            assert reception.status.errors == [], (sender.id, receiver.id, reception.status.errors)
            assert reception.content == CONTENT, (sender.id, receiver.id)


@built
def test_sent_by_bcmail(bc: BouncyCastleAgent, pki: Path) -> None:
    """bcmail writes the S/MIME entity: multipart/signed, one MIME-Version, no Date of its own."""
    message = send(bc, pki, "sign")
    head = message.split(b"\r\n\r\n", 1)[0]
    assert head.count(b"MIME-Version:") == 1 and head.count(b"Date:") <= 1
    assert b"multipart/signed" in head and b"micalg=sha-256" in head
    assert b'protocol="application/pkcs7-signature"' in head
    enveloped = send(bc, pki, "encrypt")
    assert b"smime-type=enveloped-data" in enveloped.split(b"\r\n\r\n", 1)[0]


@built
def test_tampered_signature_is_bad(bc: BouncyCastleAgent, pki: Path) -> None:
    message = send(bc, pki, "sign").replace(b"5.2|mmol", b"9.2|mmol", 1)
    status = bc.receive(request(pki, message)).status
    err = status.primary_error()
    assert err is not None and err.code == ErrorCode.BAD_SIGNATURE, status.errors
    assert "CMSSignerDigestMismatchException" in err.message
    assert status.signature_valid is False and not status.services.integrity


@built
def test_unknown_signer_is_untrusted(bc: BouncyCastleAgent, pki: Path) -> None:
    status = bc.receive(request(pki, send(bc, pki, "sign", sender="mallory"))).status
    err = status.primary_error()
    assert err is not None and err.code == ErrorCode.UNTRUSTED_SIGNER, status.errors
    assert "CertPathBuilderException" in err.message
    assert status.signature_valid is True and status.chain_valid is False
    assert status.services.integrity and not status.services.authentication
    assert status.signer is not None and status.signer.email == "mallory@osm.test"


@built
def test_malformed_message_is_malformed(bc: BouncyCastleAgent, pki: Path) -> None:
    # Valid base64 that is no CMS: the suite's MIME walk passes it on, BouncyCastle refuses it.
    bad = (
        b"Content-Type: application/pkcs7-mime; smime-type=enveloped-data\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        + base64.b64encode(b"\x30\x03\x02\x01\x05 not a CMS ContentInfo")
        + b"\r\n"
    )
    err = bc.receive(request(pki, bad)).status.primary_error()
    assert err is not None and err.code == ErrorCode.MALFORMED, err
    assert err.message.startswith("bouncycastle: ")


@built
def test_what_bouncycastle_cannot_verify_is_not_a_bad_signature(bc: BouncyCastleAgent) -> None:
    """RFC 4134 4.6 (a DSA signer whose key inherits its parameters): BouncyCastle throws
    while verifying; the cell says it could not check it, with its words, not that the
    signature is bad and not a harness error."""
    from conformance.fuzz.corpus import rfc4134_seeds
    from conformance.paths import PKI_DIR

    seed = next(s for s in rfc4134_seeds() if s.name == "rfc4134/4.6")
    directory = PKI_DIR / "identities" / "pro02"
    recipient = Party(directory, str(identity_json(directory)["email"]), "pro02")
    status = bc.receive(ReceiveRequest(seed.message, recipient, (PKI_DIR / "ca/root.pem",))).status
    err = status.primary_error()
    assert err is not None and err.code != ErrorCode.INTERNAL, status.errors
    assert err.code != ErrorCode.BAD_SIGNATURE and status.signature_valid is not False
    assert err.message.startswith("bouncycastle: osm-bc verify: ")


@built
def test_not_a_recipient_cannot_decrypt(bc: BouncyCastleAgent, pki: Path) -> None:
    alice = x509.load_pem_x509_certificate((pki / "identities/alice/encrypt.pem").read_bytes())
    with BouncyCastleAgent(SendOptions(encrypt=EncryptOptions(encrypt_to_self=False))) as only:
        sent = only.send(SendRequest("encrypt", CONTENT, party(pki, "alice"), (alice,), ("a@x",)))
    assert sent.message is not None
    err = bc.receive(request(pki, sent.message)).status.primary_error()
    assert err is not None and err.code == ErrorCode.CANNOT_DECRYPT, err
    assert "no recipient matches" in err.message


@built
def test_revoked_signer_with_the_crls(bc: BouncyCastleAgent, tmp_path: Path) -> None:
    """BouncyCastle's PKIX builder refuses the signer the intermediate CA's CRL revokes,
    and builds the path for it when given no CRL (so the CRL is what refuses it)."""
    export = exported_pki(load_pki())
    directory = export / "identities" / "defect-revoked"
    sender = Party(directory, str(identity_json(directory)["email"]), "revoked")
    message = bc.send(SendRequest("sign", CONTENT, sender, (), ("x@osm.test",))).message
    assert message is not None
    ca = export / "ca"
    recipient_dir = export / "identities" / "pro02"
    recipient = Party(recipient_dir, str(identity_json(recipient_dir)["email"]), "pro02")
    crls = (ca / "root.crl.pem", ca / "intermediate.crl.pem")
    status = bc.receive(ReceiveRequest(message, recipient, (ca / "root.pem",), crls)).status
    err = status.primary_error()
    assert err is not None and err.code == ErrorCode.REVOKED_SIGNER, status.errors
    assert "revocation" in err.message.lower() or "revoked" in err.message.lower()
    assert status.signature_valid is True and status.chain_valid is False
    without = bc.receive(ReceiveRequest(message, recipient, (ca / "root.pem",), ())).status
    assert without.errors == [], without.errors


@built
def test_cli_mode_gives_the_same_verdicts(
    pki: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One JVM per call (`--engine-mode cli`): the same message verdicts, marked [cli]."""
    monkeypatch.setenv(ENGINE_MODE_ENV, "cli")
    with BouncyCastleAgent(workdir=tmp_path / "cli") as agent:
        message = send(agent, pki, "sign-encrypt")
        reception = agent.receive(request(pki, message))
        assert reception.status.errors == [] and reception.content == CONTENT
        assert any(n.endswith("[cli]") for n in reception.evidence.notes)
        tampered = send(agent, pki, "sign").replace(b"5.2|mmol", b"9.2|mmol", 1)
        err = agent.receive(request(pki, tampered)).status.primary_error()
        assert err is not None and err.code == ErrorCode.BAD_SIGNATURE


@built
def test_harness_mode_is_the_default(bc: BouncyCastleAgent, pki: Path) -> None:
    assert harness_command([str(PROGRAM), "version"]) == [str(PROGRAM), "--serve"]
    reception = bc.receive(request(pki, send(bc, pki, "sign")))
    assert any(n.endswith("[harness]") for n in reception.evidence.notes)
    assert any(str(PROGRAM) in n and " verify " in n for n in reception.evidence.notes)


@built
def test_protocol_answers_a_broken_request() -> None:
    lines = [
        "not json",
        json.dumps({"id": 1, "argv": ["frobnicate"], "stdin": "", "cwd": None}),
        json.dumps({"id": 2, "argv": ["sign", "--bogus"], "stdin": "", "cwd": None}),
        json.dumps({"id": 3, "argv": ["version"], "stdin": "", "cwd": None}),
    ]
    proc = subprocess.run(
        [str(PROGRAM), "--serve"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    replies = [json.loads(line) for line in proc.stdout.splitlines()]
    assert (
        replies[0]["protocol"] == "osm-harness/1" and "BouncyCastle 1.72" in replies[0]["version"]
    )
    bad, unknown, option, version = replies[1:]
    assert bad["id"] is None and bad["exit"] == 2
    assert unknown["id"] == 1 and unknown["exit"] == 1
    assert b"unknown command frobnicate" in base64.b64decode(unknown["stderr"])
    assert option["exit"] == 1 and b"unknown option --bogus" in base64.b64decode(option["stderr"])
    assert version["exit"] == 0 and base64.b64decode(version["stdout"]).startswith(b"BouncyCastle")


@built
def test_profile_makes_a_real_engine(tmp_path: Path) -> None:
    agent = make_agent(load_profile("bouncycastle"), workdir=tmp_path)
    try:
        assert agent.id == "bouncycastle"
        assert agent.version().startswith("BouncyCastle 1.72")
    finally:
        close = getattr(agent, "close", None)
        if close is not None:
            close()


@built
def test_legacy_media_types_are_refused_with_the_reason(pki: Path, tmp_path: Path) -> None:
    from conformance.smime.options import MimeOptions

    options = SendOptions(mime=MimeOptions(media_types="legacy"))
    with BouncyCastleAgent(options, tmp_path) as agent:
        result = agent.send(SendRequest("sign", CONTENT, party(pki, "alice"), (), ("b@x",)))
    assert result.message is None and result.error == ErrorCode.UNSUPPORTED_ALGORITHM
    assert "application/pkcs7-*" in result.reason


def test_unbuilt_harness_is_a_missing_component(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the built launcher the agent cannot be made, and says how to build it:
    the matrix then skips its cells with that reason."""
    from conformance.agents import bouncycastle
    from conformance.errors import MissingComponent

    monkeypatch.setattr(bouncycastle, "PROGRAM", tmp_path / "osm-bc-harness")
    monkeypatch.setattr(bouncycastle, "require", lambda tool, package: tool)
    with pytest.raises(MissingComponent, match=f"make -C {tmp_path}`"):
        make_agent(load_profile("bouncycastle"), workdir=tmp_path)
