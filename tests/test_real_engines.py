"""The three real engines (openssl, NSS cmsutil, gpgsm) exchanging real messages.

Every engine sends sign / encrypt / sign-encrypt to every engine; OpenSSL's
OAEP and AES-GCM messages are refused by NSS and gpgsm with the tool's own
words kept; a tampered signature and an untrusted signer are told apart by
all three. Timings per exchange are printed at the end (run with -s).
"""

from __future__ import annotations

import email
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from email.policy import compat32
from pathlib import Path

import pytest
from cryptography import x509
from pki_support import export_layout_pki

from conformance.agents.base import Agent, Evidence, ReceiveRequest, SendRequest
from conformance.agents.gpgsm import GpgsmAgent
from conformance.agents.nss import NssAgent
from conformance.agents.openssl import OpenSSLAgent
from conformance.agents.tool_agent import ToolAgent, sha1_hex
from conformance.agents.tools import ToolRun
from conformance.core.cms import from_asn1crypto, walk
from conformance.core.vocabulary import Function, Party
from conformance.smime.options import EncryptOptions, SendOptions
from conformance.status import ErrorCode

TOOLS = {
    "openssl": ("openssl",),
    "nss": ("cmsutil", "certutil", "pk12util", "crlutil"),
    "gpgsm": ("gpgsm", "gpg-agent", "gpg-connect-agent"),
}
MISSING = {name: [t for t in tools if shutil.which(t) is None] for name, tools in TOOLS.items()}
ENGINES = tuple(TOOLS)
FUNCTIONS: tuple[Function, ...] = ("sign", "encrypt", "sign-encrypt")
CONTENT = (
    b"Content-Type: text/plain; charset=iso-8859-1\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n\r\n"
    b"Cher confr\xe8re,\r\nH|^~\\&|||LABO\r\nOBX|1|NM|GLU^Glyc\xe9mie||5.2|mmol/l\r\n"
)
TIMINGS: list[tuple[str, str, str, float, float]] = []

pytestmark = pytest.mark.engines


def need(*names: str) -> None:
    for name in names:
        if MISSING[name]:
            pytest.skip(
                f"{name} engine: missing {', '.join(MISSING[name])} "
                "(install openssl, libnss3-tools, gpgsm)"
            )


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_layout_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def agents(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ToolAgent]]:
    made: dict[str, ToolAgent] = {}
    # PKCS#1 v1.5 key transport: what NSS and gpgsm can read (OAEP is tested apart).
    options = SendOptions(encrypt=EncryptOptions(key_transport="rsa-pkcs1v15"))
    if not MISSING["openssl"]:
        made["openssl"] = OpenSSLAgent(options, tmp_path_factory.mktemp("openssl"))
    if not MISSING["nss"]:
        made["nss"] = NssAgent(workdir=tmp_path_factory.mktemp("nss"))
    if not MISSING["gpgsm"]:
        made["gpgsm"] = GpgsmAgent(workdir=tmp_path_factory.mktemp("gpgsm"))
    yield made
    for agent in made.values():
        agent.close()
    if TIMINGS:
        print("\nreal engines: timings per exchange (send s, receive s)")
        for s, r, f, ts, tr in TIMINGS:
            print(f"  {s:>7} -> {r:<7} {f:<14} {ts:6.2f} {tr:6.2f}")


def party(pki: Path, ident: str) -> Party:
    return Party(pki / "identities" / ident, f"{ident}@osm.test", ident)


def cert(pki: Path, ident: str, role: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate((pki / "identities" / ident / f"{role}.pem").read_bytes())


def send(agent: Agent, pki: Path, function: Function, sender: str = "alice") -> bytes:
    result = agent.send(
        SendRequest(
            function,
            CONTENT,
            party(pki, sender),
            (cert(pki, "bob", "encrypt"),),
            ("bob@osm.test",),
            subject="Résultats",
        )
    )
    assert result.message is not None, (result.error, result.reason, result.evidence.stderr)
    return result.message


def receive(agent: Agent, pki: Path, message: bytes) -> ReceiveRequest:
    return ReceiveRequest(
        message,
        party(pki, "bob"),
        (pki / "ca" / "root.pem",),
        # Both CAs' CRLs: gpgsm checks every certificate of the chain against its CRL.
        (pki / "ca" / "root.crl.pem", pki / "ca" / "intermediate.crl.pem"),
    )


@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("receiver", ENGINES)
@pytest.mark.parametrize("sender", ENGINES)
def test_exchange(
    agents: dict[str, ToolAgent], pki: Path, sender: str, receiver: str, function: Function
) -> None:
    need(sender, receiver)
    t0 = time.monotonic()
    message = send(agents[sender], pki, function)
    t1 = time.monotonic()
    reception = agents[receiver].receive(receive(agents[receiver], pki, message))
    t2 = time.monotonic()
    TIMINGS.append((sender, receiver, function, t1 - t0, t2 - t1))
    status = reception.status
    assert status.errors == [], reception.evidence.stderr.decode(errors="replace")
    assert reception.content == CONTENT
    signed, encrypted = function != "encrypt", function != "sign"
    expected = ({"authentication", "integrity", "non_repudiation"} if signed else set()) | (
        {"confidentiality"} if encrypted else set()
    )
    assert status.services.as_set() == expected
    assert status.signed is signed and status.encrypted is encrypted
    if signed:
        assert status.signer is not None and status.signer.email == "alice@osm.test"
        assert status.algorithms.digest == ["sha256"]
    if encrypted:
        assert status.algorithms.key_transport == ["rsa-pkcs1v15"]
        assert status.algorithms.content_encryption


# The S/MIME parts holding a CMS object, opaque or detached.
CMS_TYPES = {f"application/{x}pkcs7-{y}" for x in ("", "x-") for y in ("mime", "signature")}


@pytest.mark.parametrize("function", ["sign", "encrypt"])
@pytest.mark.parametrize("sender", ENGINES)
def test_the_fast_walk_reads_what_each_engine_writes(
    agents: dict[str, ToolAgent], pki: Path, sender: str, function: Function
) -> None:
    """NSS and gpgsm write BER (indefinite lengths down the content path): the one
    reader's walk takes it, into the parts asn1crypto reads, so no engine's message is
    left to the slow reading."""
    need(sender)
    message = email.message_from_bytes(send(agents[sender], pki, function), policy=compat32)
    part = next(p for p in message.walk() if p.get_content_type() in CMS_TYPES)
    der = part.get_payload(decode=True)
    assert isinstance(der, bytes)
    read = walk(der)
    assert read is not None, f"{sender}'s {function} message went to asn1crypto"
    assert read == from_asn1crypto(der)


@pytest.mark.parametrize(
    ("options", "expected_alg"),
    [
        (EncryptOptions(key_transport="rsa-oaep-sha256"), "rsa-oaep-sha256"),
        (EncryptOptions(key_transport="rsa-oaep-sha1"), "rsa-oaep-sha1"),
        (EncryptOptions(content="aes256-gcm", key_transport="rsa-pkcs1v15"), "aes256-gcm"),
    ],
    ids=["oaep-sha256", "oaep-sha1", "aes256-gcm"],
)
@pytest.mark.parametrize("receiver", ["nss", "gpgsm"])
def test_oaep_and_gcm_refused_with_tool_error(
    agents: dict[str, ToolAgent],
    pki: Path,
    tmp_path: Path,
    receiver: str,
    options: EncryptOptions,
    expected_alg: str,
) -> None:
    need("openssl", receiver)
    with OpenSSLAgent(SendOptions(encrypt=options), tmp_path) as openssl:
        message = send(openssl, pki, "encrypt")
        # OpenSSL itself reads what it wrote: the refusal is the receiver's limit.
        assert openssl.receive(receive(openssl, pki, message)).content == CONTENT
    reception = agents[receiver].receive(receive(agents[receiver], pki, message))
    status = reception.status
    assert reception.content is None
    assert not status.decrypted and not status.services.confidentiality
    err = status.primary_error()
    assert err is not None
    assert err.code in (ErrorCode.UNSUPPORTED_ALGORITHM, ErrorCode.CANNOT_DECRYPT)
    tool = "cmsutil" if receiver == "nss" else "gpgsm"
    assert err.message.startswith(tool) and len(err.message) > len(tool) + 5
    assert reception.evidence.stderr  # the tool's own words are kept
    algs = status.algorithms.key_transport + status.algorithms.content_encryption
    assert expected_alg in algs


def _tamper(message: bytes) -> bytes:
    assert b"Glyc" in message
    return message.replace(b"5.2|mmol", b"9.2|mmol", 1)


@pytest.mark.parametrize("receiver", ENGINES)
@pytest.mark.parametrize("sender", ENGINES)
def test_tampered_signature_is_bad(
    agents: dict[str, ToolAgent], pki: Path, sender: str, receiver: str
) -> None:
    need(sender, receiver)
    message = _tamper(send(agents[sender], pki, "sign"))
    status = agents[receiver].receive(receive(agents[receiver], pki, message)).status
    err = status.primary_error()
    assert err is not None and err.code == ErrorCode.BAD_SIGNATURE, status.errors
    assert status.signature_valid is False
    assert not status.services.integrity and not status.services.authentication


@pytest.mark.parametrize("receiver", ENGINES)
def test_untrusted_signer(agents: dict[str, ToolAgent], pki: Path, receiver: str) -> None:
    need("openssl", receiver)
    message = send(agents["openssl"], pki, "sign", sender="mallory")
    reception = agents[receiver].receive(receive(agents[receiver], pki, message))
    status = reception.status
    err = status.primary_error()
    assert err is not None and err.code == ErrorCode.UNTRUSTED_SIGNER, status.errors
    assert status.chain_valid is False
    assert not status.services.authentication and not status.services.non_repudiation
    assert status.signer is not None and status.signer.email == "mallory@osm.test"


@pytest.mark.parametrize("engine", ENGINES)
def test_version_and_evidence(agents: dict[str, ToolAgent], pki: Path, engine: str) -> None:
    need(engine)
    version = agents[engine].version()
    assert version and version != "unknown"
    result = agents[engine].send(
        SendRequest("sign", CONTENT, party(pki, "alice"), (), ("bob@osm.test",))
    )
    assert result.evidence.command and result.evidence.notes
    assert any(n.startswith("$ ") for n in result.evidence.notes)


def test_malformed_message_is_malformed(agents: dict[str, ToolAgent], pki: Path) -> None:
    for name, agent in agents.items():
        bad = (
            b"Content-Type: application/pkcs7-mime; smime-type=enveloped-data\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64!!!\r\n"
        )
        status = agent.receive(receive(agent, pki, bad)).status
        err = status.primary_error()
        assert err is not None and err.code == ErrorCode.MALFORMED, (name, status.errors)


def test_nss_reads_again_only_the_nicknames_a_change_may_touch(pki: Path, tmp_path: Path) -> None:
    """Each certificate added makes the NSS agent read the database's nicknames again, to
    learn under which NSS filed it. Only the new nicknames, and those a certificate of the
    same subject joined, are read again; what it knows then is what reading all gives."""
    need("nss")
    people = ("alice", "bob", "mallory")
    with NssAgent(workdir=tmp_path) as nss:
        reads: list[str] = []
        tool = nss._tool

        def counted(args: list[str | Path], ev: Evidence, must: bool = False) -> ToolRun:
            if "-L" in args and "-n" in args:
                reads.append(str(args[args.index("-n") + 1]))
            return tool(args, ev, must)

        nss._tool = counted  # type: ignore[method-assign]
        for ident in people:
            nss.prepare(party(pki, ident))
        nss._add_cert(cert(pki, "bob", "encrypt"), ",,", nss.setup_evidence)  # known: no read
        known, signers = dict(nss._known), dict(nss._sign_nick)
        # Each person's nickname twice (the PKCS#12 with the signing key, then the
        # encryption certificate of the same subject joining it), each CA's once.
        assert max(Counter(reads).values()) == 2
        assert len(reads) == 2 * len(people) + 3
        users = nss._refresh(nss.setup_evidence)  # every nickname read again
        assert nss._known == known
        for ident in people:
            fingerprints = {sha1_hex(cert(pki, ident, role)) for role in ("sign", "encrypt")}
            assert fingerprints <= users
            assert (
                signers[(pki / "identities" / ident).resolve()]
                == known[sha1_hex(cert(pki, ident, "sign"))]
            )
