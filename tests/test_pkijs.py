"""PKI.js (harnesses/pkijs) as a real engine, against OpenSSL and itself.

Exchanges both ways with OAEP (what WebCrypto has); the classic PKCS#1 v1.5 key
transport and AuthEnvelopedData refused with PKI.js's own words (findings, not
worked around); tampered, untrusted and revoked signers told apart by PKI.js's
SignedData.verify and CertificateChainValidationEngine; the send options reach
the CMS it writes; the harness and the command line give the same answers.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from asn1crypto import cms
from cryptography import x509

from conformance.agents import mime_wrap
from conformance.agents.base import ReceiveRequest, SendRequest
from conformance.agents.harness import Harness
from conformance.agents.openssl import OpenSSLAgent
from conformance.agents.pkijs import SCRIPT, PkijsAgent, modules_dir
from conformance.agents.tools import ENGINE_MODE_ENV, harness_command
from conformance.cli import main as cli_main
from conformance.core.vocabulary import Function, Party
from conformance.errors import MissingComponent
from conformance.paths import VECTORS_DIR
from conformance.results import load_results
from conformance.smime.options import EncryptOptions, SendOptions, SignOptions
from conformance.status import ErrorCode

PKI = VECTORS_DIR / "pki"
CONTENT = (
    b"Content-Type: text/plain; charset=iso-8859-1\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n\r\n"
    b"Cher confr\xe8re,\r\nH|^~\\&|||LABO\r\nOBX|1|NM|GLU^Glyc\xe9mie||5.2|mmol/l\r\n"
)
OAEP = SendOptions(encrypt=EncryptOptions(key_transport="rsa-oaep-sha256"))
FUNCTIONS: tuple[Function, ...] = ("sign", "encrypt", "sign-encrypt")

pytestmark = [
    pytest.mark.engines,
    pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed (nodejs)"),
    pytest.mark.skipif(
        not (modules_dir() / "pkijs" / "package.json").is_file(),
        reason=f"PKI.js is not installed in {modules_dir()} (make -C harnesses/pkijs)",
    ),
]


@pytest.fixture(scope="module")
def pkijs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PkijsAgent]:
    with PkijsAgent(workdir=tmp_path_factory.mktemp("pkijs")) as agent:
        yield agent


@pytest.fixture(scope="module")
def openssl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenSSLAgent]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    with OpenSSLAgent(OAEP, tmp_path_factory.mktemp("openssl")) as agent:
        yield agent


def party(ident: str) -> Party:
    directory = PKI / "identities" / ident
    return Party(directory, json.loads((directory / "identity.json").read_text())["email"], ident)


def encryption_cert(ident: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate((PKI / "identities" / ident / "encrypt.pem").read_bytes())


def send(agent: PkijsAgent | OpenSSLAgent, function: Function, sender: str = "pro01") -> bytes:
    result = agent.send(
        SendRequest(
            function, CONTENT, party(sender), (encryption_cert("pro02"),), (party("pro02").email,)
        )
    )
    assert result.message is not None, (result.error, result.reason, result.evidence.stderr)
    return result.message


def request(message: bytes) -> ReceiveRequest:
    return ReceiveRequest(
        message,
        party("pro02"),
        (PKI / "ca" / "root.pem",),
        (PKI / "ca" / "root.crl.pem", PKI / "ca" / "intermediate.crl.pem"),
    )


def body(entity: bytes | None) -> bytes:
    assert entity is not None
    return entity.split(b"\r\n\r\n", 1)[1]


def outer_cms(message: bytes) -> cms.ContentInfo:
    layer = mime_wrap.classify(_entity(message))
    assert layer.cms is not None
    return cms.ContentInfo.load(layer.cms)


def _entity(message: bytes) -> bytes:
    """The S/MIME entity under the mail headers the agent wrote (From, To, ...)."""
    headers, rest = message.split(b"\r\n\r\n", 1)
    kept = [h for h in headers.split(b"\r\n") if h.lower().startswith((b"content-", b"mime-"))]
    return b"\r\n".join(kept) + b"\r\n\r\n" + rest


@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("direction", ["pkijs->openssl", "openssl->pkijs", "pkijs->pkijs"])
def test_exchange(
    pkijs: PkijsAgent, openssl: OpenSSLAgent, direction: str, function: Function
) -> None:
    agents: dict[str, PkijsAgent | OpenSSLAgent] = {"pkijs": pkijs, "openssl": openssl}
    sender, receiver = (agents[name] for name in direction.split("->"))
    message = send(sender, function)
    reception = receiver.receive(request(message))
    status = reception.status
    assert status.primary_error() is None, status.errors
    assert body(reception.content) == body(CONTENT)
    if function != "encrypt":
        assert status.services.authentication and status.services.integrity
        assert status.signer is not None and status.signer.email == party("pro01").email
    if function != "sign":
        assert status.services.confidentiality


def test_classic_key_transport_is_a_finding(pkijs: PkijsAgent, tmp_path: Path) -> None:
    """WebCrypto has no RSAES-PKCS1-v1_5: PKI.js reads none of the 2008 products' messages."""
    pkcs1 = SendOptions(encrypt=EncryptOptions(key_transport="rsa-pkcs1v15"))
    with OpenSSLAgent(pkcs1, tmp_path) as classic:
        message = send(classic, "encrypt")
    status = pkijs.receive(request(message)).status
    err = status.primary_error()
    assert err is not None and err.code == ErrorCode.UNSUPPORTED_ALGORITHM, status.errors
    assert "RSAES-PKCS1-v1_5" in err.message and "Unrecognized algorithm name" in err.message
    assert status.decrypted is False


def test_classic_key_transport_cannot_be_sent(tmp_path: Path) -> None:
    options = SendOptions(encrypt=EncryptOptions(key_transport="rsa-pkcs1v15"))
    with PkijsAgent(options, tmp_path) as agent:
        result = agent.send(
            SendRequest("encrypt", CONTENT, party("pro01"), (encryption_cert("pro02"),), ())
        )
    assert result.message is None and result.error == ErrorCode.UNSUPPORTED_ALGORITHM
    assert result.reason is not None and "Unrecognized algorithm name" in result.reason


def test_auth_enveloped_data_is_unsupported(pkijs: PkijsAgent, tmp_path: Path) -> None:
    gcm = SendOptions(encrypt=EncryptOptions(content="aes128-gcm", key_transport="rsa-oaep-sha1"))
    with OpenSSLAgent(gcm, tmp_path) as agent:
        message = send(agent, "encrypt")
    err = pkijs.receive(request(message)).status.primary_error()
    assert err is not None and err.code == ErrorCode.UNSUPPORTED_ALGORITHM
    assert "AuthEnvelopedData" in err.message


def test_gcm_is_sent_inside_enveloped_data(tmp_path: Path) -> None:
    """PKI.js puts AES-GCM in an EnvelopedData (not RFC 5083's AuthEnvelopedData)."""
    gcm = SendOptions(encrypt=EncryptOptions(content="aes256-gcm", key_transport="rsa-oaep-sha1"))
    with PkijsAgent(gcm, tmp_path) as agent:
        message = send(agent, "encrypt")
        info = outer_cms(message)
        assert info["content_type"].native == "enveloped_data"
        algorithm = info["content"]["encrypted_content_info"]["content_encryption_algorithm"]
        assert algorithm["algorithm"].native == "aes256_gcm"
        # and it reads its own
        assert agent.receive(request(message)).status.primary_error() is None


def test_tampered_signature_is_bad(pkijs: PkijsAgent, openssl: OpenSSLAgent) -> None:
    for sender in (pkijs, openssl):
        message = send(sender, "sign").replace(b"5.2|mmol", b"9.2|mmol", 1)
        status = pkijs.receive(request(message)).status
        err = status.primary_error()
        assert err is not None and err.code == ErrorCode.BAD_SIGNATURE, status.errors
        assert "Message digest doesn't match" in err.message
        assert status.signature_valid is False and not status.services.integrity


@pytest.mark.parametrize(
    ("sender", "code", "words"),
    [
        ("defect-unknown-root", ErrorCode.UNTRUSTED_SIGNER, "CertificateChainValidationEngine"),
        ("defect-revoked", ErrorCode.REVOKED_SIGNER, "revoked"),
        ("defect-expired", ErrorCode.UNTRUSTED_SIGNER, "expired"),
    ],
)
def test_chain_failures(
    pkijs: PkijsAgent, openssl: OpenSSLAgent, sender: str, code: ErrorCode, words: str
) -> None:
    message = send(openssl, "sign", sender=sender)
    status = pkijs.receive(request(message)).status
    err = status.primary_error()
    assert err is not None and err.code == code, status.errors
    assert words in err.message
    assert status.signature_valid is True and status.chain_valid is False
    assert not status.services.authentication


@pytest.mark.parametrize(
    "sign",
    [
        SignOptions(format="opaque"),
        SignOptions(algorithm="rsa-pss", digest="sha512"),
        SignOptions(signer_identifier="ski"),
        SignOptions(signed_attributes=frozenset()),
        SignOptions(
            signed_attributes=frozenset(
                {"content-type", "message-digest", "smime-capabilities", "signing-certificate-v2"}
            )
        ),
    ],
    ids=["opaque", "pss-sha512", "ski", "no-attributes", "capabilities-esscertid"],
)
def test_sign_options_reach_the_cms(
    sign: SignOptions, openssl: OpenSSLAgent, tmp_path: Path
) -> None:
    with PkijsAgent(SendOptions(sign=sign), tmp_path) as agent:
        message = send(agent, "sign")
    signed = outer_cms(message)["content"]
    signer = signed["signer_infos"][0]
    assert signer["digest_algorithm"]["algorithm"].native == sign.digest
    assert (signed["encap_content_info"]["content"].native is None) == (
        sign.format == "multipart-signed"
    )
    sid = signer["sid"].name
    assert sid == (
        "subject_key_identifier" if sign.signer_identifier == "ski" else "issuer_and_serial_number"
    )
    certs = signed["certificates"].native or []
    assert len(certs) == (1 if sign.certificates == "signer" else 2)
    attrs = signer["signed_attrs"].native or []
    assert len(attrs) == len(sign.signed_attributes)
    if sign.algorithm == "rsa-pss":
        assert signer["signature_algorithm"]["algorithm"].native == "rsassa_pss"
    status = openssl.receive(request(message)).status
    assert status.primary_error() is None, status.errors


def test_no_certificates_is_untrusted(pkijs: PkijsAgent, tmp_path: Path) -> None:
    with PkijsAgent(SendOptions(sign=SignOptions(certificates="none")), tmp_path) as agent:
        message = send(agent, "sign")
    status = pkijs.receive(request(message)).status
    err = status.primary_error()
    assert err is not None and err.code == ErrorCode.UNTRUSTED_SIGNER
    assert "No certificates attached" in err.message


def test_malformed_cms_is_malformed(pkijs: PkijsAgent) -> None:
    junk = base64.encodebytes(b"\x30\x03\x02\x01\x01 not CMS").replace(b"\n", b"\r\n")
    for kind in ("enveloped-data", "signed-data"):
        message = (
            f"Content-Type: application/pkcs7-mime; smime-type={kind}\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n"
        ).encode() + junk
        err = pkijs.receive(request(message)).status.primary_error()
        assert err is not None and err.code == ErrorCode.MALFORMED, (kind, err)
        assert "PKI.js" in err.message


def test_harness_and_command_line_agree(
    openssl: OpenSSLAgent, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = [send(openssl, f) for f in FUNCTIONS]
    corpus.append(corpus[0].replace(b"5.2|mmol", b"9.2|mmol", 1))
    seen: dict[str, list[tuple[object, ...]]] = {}
    for mode in ("harness", "cli"):
        monkeypatch.setenv(ENGINE_MODE_ENV, mode)
        with PkijsAgent(workdir=tmp_path / mode) as agent:
            outcomes: list[tuple[object, ...]] = []
            for message in corpus:
                reception = agent.receive(request(message))
                notes = [n for n in reception.evidence.notes if n.startswith("$ ")]
                assert notes and all(n.endswith(f"[{mode}]") for n in notes), notes
                err = reception.status.primary_error()
                outcomes.append(
                    (reception.content, err.code if err else None, reception.status.chain_valid)
                )
            seen[mode] = outcomes
    assert seen["harness"] == seen["cli"]


def test_harness_speaks_the_protocol_and_declines_other_scripts(tmp_path: Path) -> None:
    command = harness_command([shutil.which("node") or "node", str(SCRIPT), "version"])
    assert command is not None and command[-1] == "--serve"
    harness = Harness(command)
    try:
        assert harness.hello["protocol"] == "osm-harness/1"
        assert re.match(r"PKI\.js \d", harness.hello["version"])
        reply = harness.call([str(SCRIPT), "version"], cwd=str(tmp_path))
        assert reply.exit == 0 and reply.stdout.startswith(b"PKI.js")
        other = tmp_path / "other.mjs"
        other.write_text("")
        reply = harness.call([str(other), "version"], cwd=str(tmp_path))
        assert reply.exit == 2 and reply.stderr.startswith(b"osm-harness: not implemented here")
        reply = harness.call([str(SCRIPT), "sign", "--bogus"], cwd=str(tmp_path))
        assert reply.exit == 2 and b"unknown option --bogus" in reply.stderr
    finally:
        harness.close()


def test_missing_library_skips_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OSM_CONFORMANCE_CACHE", str(tmp_path))
    with pytest.raises(MissingComponent, match=r"make -C \S*harnesses/pkijs "):
        PkijsAgent(workdir=tmp_path / "w")


def test_a_run_without_the_library_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PKI.js not fetched (offline set-up): its cells say so, with no traceback."""
    monkeypatch.setenv("OSM_CONFORMANCE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("OSM_CONFORMANCE_TOKEN", "software")
    out = tmp_path / "run"
    args = ["run", "--out", str(out), "--sender", "pkijs", "--receiver", "reference"]
    args += ["--function", "sign", "--examples", "1", "--no-rejections", "-q", "-j", "1"]
    assert cli_main(args) == 0  # skipped with the reason: not a verdict on PKI.js
    results = load_results(out / "results.json")
    [cell] = results.cells
    assert cell.verdict == "unsupported" and cell.reason is not None
    assert cell.reason.startswith("not installed here: PKI.js is not installed")
    assert f"make -C {SCRIPT.parent} " in cell.reason and "Traceback" not in cell.reason
