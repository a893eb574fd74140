"""`check` and the strict receiver agree on every message the suite has.

Both judge the same bytes with the same trust anchors, CRLs and recipient
identity: the golden corpus (vectors/golden), the RFC 4134 examples, messages
sent by the real engines (openssl, NSS cmsutil, gpgsm) and messages signed by
`openssl cms` with the test PKI's defective identities. They must give the same
signature verdict, chain verdict, revocation verdict and decryption.

How the validator's rules are read as one verdict (`checked`): the signature is
valid when every CMS-009 check succeeds; the chain is valid when the signer's
path (CERT-001), validity (CERT-002), revocation (CERT-003), extended key usage
(CERT-006) and key size (CERT-010) all succeed on the signed parts, which is
what the receiver's chain covers (smime/validate.py); revoked means a CERT-003
failure saying so; decrypted means every ENC-004 check succeeds. Policy grades
(SHA-1 certificates tolerated or not) are the policy's business, not compared.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from agents_support import missing_tools
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, rsa
from smime_read_support import multipart_signed, openssl_signed_by

from conformance.agents.base import SendRequest
from conformance.agents.gpgsm import GpgsmAgent
from conformance.agents.nss import NssAgent
from conformance.agents.openssl import OpenSSLAgent
from conformance.agents.tool_agent import ToolAgent
from conformance.check.model import Check, CheckReport
from conformance.check.runner import run_checks
from conformance.core.vocabulary import Function, Party
from conformance.paths import RFC4134_DIR, VECTORS_DIR
from conformance.pki import certs
from conformance.pki.export import export_pki
from conformance.pki.model import load_pki, read_certificates, read_crl, read_private_key
from conformance.smime.options import EncryptOptions, ReceiveOptions, SendOptions
from conformance.smime.receive import read_message
from conformance.status import ErrorCode
from conformance.token.software import SoftwareKey

pytestmark = pytest.mark.engines

PKI = load_pki()
GOLDEN = sorted((VECTORS_DIR / "golden").glob("*/*.eml"))
ENGINE_FUNCTIONS: tuple[Function, ...] = ("sign", "encrypt", "sign-encrypt")
DEFECTS = ("revoked", "unknown-root", "expired", "not-yet-valid", "weak-key", "sha1")
CONTENT = b"Content-Type: text/plain; charset=utf-8\r\n\r\nCompte rendu: normal.\r\n"


def rfc4134(name: str) -> bytes:
    """One file of the RFC 4134 examples: the one place that knows where they are kept."""
    return (RFC4134_DIR / name).read_bytes()


@dataclass(frozen=True)
class Setting:
    """What both sides are given: anchors, CRLs, and the recipient (directory and key)."""

    trust: tuple[Path, ...]
    crls: tuple[Path, ...]
    identity: Path
    key: SoftwareKey


@dataclass(frozen=True)
class Reading:
    signature_valid: bool | None
    chain_valid: bool | None
    revoked: bool
    decrypted: bool


def received(message: bytes, setting: Setting) -> Reading:
    _, status = read_message(
        message,
        keys=[setting.key],
        trust=[c for p in setting.trust for c in read_certificates(p)],
        crls=[read_crl(p) for p in setting.crls],
        directory=None,
        options=ReceiveOptions(),
    )
    return Reading(
        status.signature_valid,
        status.chain_valid,
        any(e.code == ErrorCode.REVOKED_SIGNER for e in status.errors),
        status.decrypted,
    )


def _all_succeed(checks: list[Check]) -> bool:
    return all(c.status == "SUCCESS" for c in checks)


def verdict(report: CheckReport) -> Reading:
    signatures = report.by_id("CMS-009")
    signed_parts = {c.part for c in signatures}

    def on_signed(rule_id: str) -> list[Check]:
        return [c for c in report.by_id(rule_id) if c.part in signed_parts]

    signature_valid = _all_succeed(signatures) if signatures else None
    chain_valid: bool | None = None
    if signature_valid and report.by_id("CERT-001"):
        rules = ("CERT-001", "CERT-002", "CERT-003", "CERT-006", "CERT-010")
        chain_valid = all(_all_succeed(on_signed(r)) for r in rules)
    revoked = any(
        c.status not in ("SUCCESS", "INFO") and " revoked " in c.found
        for c in on_signed("CERT-003")
    )
    decryptions = report.by_id("ENC-004")
    return Reading(
        signature_valid, chain_valid, revoked, bool(decryptions) and _all_succeed(decryptions)
    )


def checked(message: bytes, setting: Setting) -> Reading:
    report = run_checks(
        message, identity_dir=setting.identity, trust=setting.trust, crls=setting.crls
    )
    broken = [c for c in report.checks if c.found.startswith("the validator failed")]
    assert not broken, broken  # every rule gives a verdict, none breaks on the message
    return verdict(report)


def _agree(message: bytes, setting: Setting) -> Reading:
    receiver, validator = received(message, setting), checked(message, setting)
    assert validator == receiver, f"check says {validator}, receive says {receiver}"
    return receiver


@pytest.fixture(autouse=True)
def _software_token(monkeypatch: pytest.MonkeyPatch) -> None:
    """`check --identity` opens the key from the files, as the receiver's SoftwareKey does."""
    monkeypatch.setenv("OSM_CONFORMANCE_TOKEN", "software")


def _pki_setting(root: Path) -> Setting:
    """The test PKI as users install it: the CA bundle trusted, both CRLs, pro02 receiving."""
    me = PKI.identity("pro02")
    return Setting(
        (root / "ca" / "ca-bundle.pem",),
        (root / "ca" / "root.crl.pem", root / "ca" / "intermediate.crl.pem"),
        root / "identities" / "pro02",
        SoftwareKey(me.private_key("encrypt"), me.certificate("encrypt"), "pro02"),
    )


# --- the golden corpus ---------------------------------------------------------------


@pytest.mark.parametrize("path", GOLDEN, ids=[f"{p.parent.name}/{p.stem}" for p in GOLDEN])
def test_golden_corpus(path: Path) -> None:
    reading = _agree(path.read_bytes(), _pki_setting(PKI.directory))
    if "apicrypt" not in path.parent.name:  # the Apicrypt model is not S/MIME: nothing to judge
        assert reading.signature_valid is not False and reading.chain_valid is not False


# --- the RFC 4134 examples -------------------------------------------------------------


@pytest.fixture(scope="module")
def rfc4134_setting(tmp_path_factory: pytest.TempPathFactory) -> Setting:
    """Carl's two roots trusted, a current CRL of each, Bob receiving."""
    directory = tmp_path_factory.mktemp("rfc4134")
    bob = x509.load_der_x509_certificate(rfc4134("BobRSASignByCarl.cer"))
    key = serialization.load_der_private_key(rfc4134("BobPrivRSAEncrypt.pri"), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    (directory / "encrypt.pem").write_bytes(bob.public_bytes(serialization.Encoding.PEM))
    (directory / "encrypt.key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    trust = []
    for name in ("CarlRSASelf.cer", "CarlDSSSelf.cer"):
        pem = x509.load_der_x509_certificate(rfc4134(name)).public_bytes(serialization.Encoding.PEM)
        (directory / f"{name}.pem").write_bytes(pem)
        trust.append(directory / f"{name}.pem")
    # The corpus CRLs (1999, no nextUpdate) are never current: both sides would only say
    # "unknown" (test_only_a_current_crl_... covers that); fresh empty CRLs signed by Carl's
    # keys let the chains be judged in full.
    now = dt.datetime.now(dt.UTC)
    crls = []
    for ca, ca_key in (
        ("CarlRSASelf.cer", "CarlPrivRSASign.pri"),
        ("CarlDSSSelf.cer", "CarlPrivDSSSign.pri"),
    ):
        issuer = x509.load_der_x509_certificate(rfc4134(ca))
        signing_key = serialization.load_der_private_key(rfc4134(ca_key), None)
        assert isinstance(signing_key, (rsa.RSAPrivateKey, dsa.DSAPrivateKey))
        crl = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(issuer.subject)
            .last_update(now - dt.timedelta(days=1))
            .next_update(now + dt.timedelta(days=30))
            .sign(signing_key, hashes.SHA256())
        )
        (directory / f"{ca}.crl.pem").write_bytes(crl.public_bytes(serialization.Encoding.PEM))
        crls.append(directory / f"{ca}.crl.pem")
    return Setting(tuple(trust), tuple(crls), directory, SoftwareKey(key, bob, "bob"))


def _wrapped(name: str) -> bytes:
    """A CMS object of the corpus as the body of an application/pkcs7-mime message."""
    return (
        b"From: AliceDSS@example.com\r\nTo: User2@examples.com\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: application/pkcs7-mime\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    ) + base64.encodebytes(rfc4134(name)).replace(b"\n", b"\r\n")


RFC4134_MESSAGES: dict[str, Callable[[], bytes]] = {
    **{name: functools.partial(rfc4134, name) for name in ("4.8.eml", "4.9.eml", "5.3.eml")},
    **{
        name: functools.partial(_wrapped, name)
        for name in (
            *("3.1.bin", "3.2.bin", "4.1.bin", "4.2.bin", "4.4.bin", "4.5.bin", "4.6.bin"),
            *("4.7.bin", "4.10.bin", "4.11.bin", "5.1.bin", "5.2.bin"),
        )
    },
    "4.3.bin": lambda: multipart_signed(
        rfc4134("ExContent.bin"), rfc4134("4.3.bin"), micalg="sha1"
    ),
}
SIGNED_4134 = {"4.1", "4.2", "4.3", "4.4", "4.5", "4.6", "4.7", "4.8", "4.9", "4.10"}


@pytest.mark.parametrize("name", list(RFC4134_MESSAGES))
def test_rfc4134_examples(name: str, rfc4134_setting: Setting) -> None:
    reading = _agree(RFC4134_MESSAGES[name](), rfc4134_setting)
    number = name.rsplit(".", 1)[0]
    assert reading.signature_valid is (True if number in SIGNED_4134 else None)
    assert reading.decrypted is (number in {"5.1", "5.2", "5.3"})


# --- the real engines ------------------------------------------------------------------


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test PKI exported as products get it (PKCS#12 files for NSS and gpgsm)."""
    out = tmp_path_factory.mktemp("export")
    export_pki(PKI, out, ["pro01", "pro02"])
    return out


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ToolAgent]]:
    """The installed real engines (a missing one's tests are skipped with the reason)."""
    # PKCS#1 v1.5 key transport from openssl: what every engine reads (as test_real_engines).
    options = SendOptions(encrypt=EncryptOptions(key_transport="rsa-pkcs1v15"))
    makers: dict[str, Callable[[Path], ToolAgent]] = {
        "openssl": lambda work: OpenSSLAgent(options, work),
        "nss": lambda work: NssAgent(workdir=work),
        "gpgsm": lambda work: GpgsmAgent(workdir=work),
    }
    made = {
        name: make(tmp_path_factory.mktemp(name))
        for name, make in makers.items()
        if not missing_tools(name)
    }
    yield made
    for agent in made.values():
        agent.close()


@pytest.mark.parametrize("function", ENGINE_FUNCTIONS)
@pytest.mark.parametrize("engine", ["openssl", "nss", "gpgsm"])
def test_real_engine_messages(
    engines: dict[str, ToolAgent], export: Path, engine: str, function: Function
) -> None:
    if engine not in engines:
        pytest.skip(f"{engine} engine: missing {', '.join(missing_tools(engine))}")
    sender, recipient = PKI.identity("pro01"), PKI.identity("pro02")
    result = engines[engine].send(
        SendRequest(
            function,
            CONTENT,
            Party(export / "identities" / "pro01", sender.email, "pro01"),
            (recipient.certificate("encrypt"),),
            (recipient.email,),
            subject="Compte rendu",
        )
    )
    if result.message is None:
        pytest.skip(f"{engine} cannot send here: {result.error} {result.reason}")
    reading = _agree(result.message, _pki_setting(export))
    assert reading.decrypted is (function != "sign")
    if function != "encrypt":
        assert reading.signature_valid and reading.chain_valid


@pytest.mark.parametrize("defect", DEFECTS)
def test_openssl_signed_by_defective_identities(defect: str) -> None:
    """The negative twins: both sides must refuse the same signers for the same reason."""
    reading = _agree(
        openssl_signed_by(PKI.defective(defect), PKI.identity("pro02").email, CONTENT),
        _pki_setting(PKI.directory),
    )
    assert reading.signature_valid is True
    assert reading.revoked is (defect == "revoked")
    if defect != "sha1":  # SHA-1 certificate signatures: the receiver's policy takes them
        assert reading.chain_valid is False


@pytest.mark.parametrize("crl_kind", ["out-of-date", "current"])
@pytest.mark.parametrize("signer", ["pro01", "defect-revoked"])
def test_only_a_current_crl_signed_by_the_issuer_tells_the_status(
    signer: str, crl_kind: str, tmp_path: Path
) -> None:
    """RFC 5280 6.3.3: a CRL past its next update says nothing (both sides: status
    unknown, not revoked), even of a certificate it lists; a current one does."""
    who = PKI.identity(signer)
    now = dt.datetime.now(dt.UTC)
    revoked = [
        (PKI.defective("revoked").certificate("sign").serial_number, now - dt.timedelta(days=30))
    ]
    key = read_private_key(PKI.directory / "ca-keys" / "intermediate.key.pem")
    this_update = now - dt.timedelta(days=(20 if crl_kind == "out-of-date" else 1))
    next_update = (
        now - dt.timedelta(days=10) if crl_kind == "out-of-date" else now + dt.timedelta(days=10)
    )
    crl = certs.crl(PKI.intermediate, key, 2, this_update, next_update, revoked)
    path = tmp_path / "intermediate.crl.pem"
    path.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    setting = _pki_setting(PKI.directory)
    setting = Setting(
        setting.trust, (PKI.directory / "ca" / "root.crl.pem", path), setting.identity, setting.key
    )
    reading = _agree(openssl_signed_by(who, PKI.identity("pro02").email, CONTENT), setting)
    assert reading.revoked is (crl_kind == "current" and signer == "defect-revoked")
    assert reading.chain_valid is (crl_kind == "current" and signer == "pro01")
