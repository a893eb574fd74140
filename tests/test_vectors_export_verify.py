"""vectors export and verify: the round trip, the RFC 4134 corpus, bad input."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from agents_support import software_keys
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from conformance.agents import identity_files as files
from conformance.agents.base import ReceiveRequest, SendRequest
from conformance.agents.profiled import ProfileAgent
from conformance.apicrypt.relay import transport
from conformance.cli import main
from conformance.errors import MissingComponent, UserError
from conformance.functions import MESSAGE_FUNCTIONS as FUNCTIONS
from conformance.paths import RFC4134_DIR
from conformance.results import load_results
from conformance.scenarios import basic_scenario, build_entity
from conformance.vectors.common import seeded_rng, shipped_cast
from conformance.vectors.export import export_vectors
from conformance.vectors.export import software_keys as keys_in_software
from conformance.vectors.manifest import load_export_manifest
from conformance.vectors.verify import judge, verify_messages

# Keys in software for this module's tests and fixtures only.
pytestmark = pytest.mark.usefixtures("software_keys")
__all__ = ["software_keys"]

PRODUCT = "docteur-net-cps"
SENDERS = ["sermentis-mms", "apimail-apicrypt"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("export")
    export_vectors(PRODUCT, out, senders=SENDERS)
    return out


def _manifest(directory: Path, entries: list[dict[str, str]]) -> None:
    (directory / "manifest.json").write_text(json.dumps({"messages": entries}))


def _verify_cli(messages: Path, out: Path, *receivers: str) -> int:
    """`vectors verify` as a user runs it: the product's messages, read by `receivers`."""
    argv = ["vectors", "verify", str(messages), "--as", PRODUCT, "--out", str(out)]
    for receiver in receivers:
        argv += ["--receiver", receiver]
    return main(argv)


def test_export_layout_and_manifest(exported: Path) -> None:
    manifest = load_export_manifest(exported)
    sender_id, receiver_id = shipped_cast().users(PRODUCT)
    assert (manifest.recipient, manifest.sender_identity) == (receiver_id, sender_id)
    for identity in (sender_id, receiver_id):
        assert (exported / "identities" / identity / "identity.p12").is_file()
        assert (exported / "identities" / identity / "encrypt.key.pem").is_file()
    assert (exported / "ca" / "root.pem").is_file()
    assert (exported / "ca" / "intermediate.crl.pem").is_file()
    got = {(v.sender, v.function): v for v in manifest.vectors}
    # sermentis-mms sends every function docteur-net-cps reads; the Apicrypt model has no HPRIM-Net
    assert set(got) == {("sermentis-mms", f) for f in FUNCTIONS} | {
        ("apimail-apicrypt", f) for f in FUNCTIONS if f != "hprim-net"
    }
    assert all(got[("sermentis-mms", f)].expected == "pass" for f in FUNCTIONS)
    apicrypt = got[("apimail-apicrypt", "sign")]
    assert apicrypt.expected == "fail"
    assert apicrypt.expected_reason is not None
    assert apicrypt.expected_reason.startswith("unsupported-format")
    assert apicrypt.claim is not None and apicrypt.claim.value == "fail"  # the 2008 document
    for vector in manifest.vectors:
        data = (exported / vector.file).read_bytes()
        assert vector.sha256 == hashlib.sha256(data).hexdigest()
        assert (exported / vector.plaintext).read_bytes() == build_entity(
            basic_scenario(vector.function)  # type: ignore[arg-type]
        )
    readme = (exported / "README.md").read_text(encoding="utf-8")
    assert "`test`" in readme and receiver_id in readme and "record.csv" in readme
    # which results.json to import into: a run of the same senders towards the product
    run = (
        f"osm-conformance run --receiver {PRODUCT} --sender sermentis-mms --sender apimail-apicrypt"
    )
    assert run in readme and f"vectors import run-{PRODUCT}/results.json record.csv" in readme
    assert "reads `negative.csv`" in readme and "--observed machine" in readme
    record = (exported / "record.csv").read_text(encoding="utf-8").splitlines()
    assert record[0] == "file,opened,signature,decrypted,content_ok,notes"
    assert len(record) == 1 + len(manifest.vectors)


def test_expected_is_a_standard_readers_reading(exported: Path) -> None:
    """Re-reading each exported file with the reference agent (software keys) gives
    `expected`, with the product's own profile agent `profile_expected`; an Apicrypt-model
    message has no standard reader but the product's profile."""
    manifest = load_export_manifest(exported)
    cast = shipped_cast()
    vendor = cast.profiles[PRODUCT]
    party = cast.party(manifest.recipient, vendor)
    world = cast.world()
    standard = ProfileAgent(keys_in_software(cast.profiles["reference"]))
    own = ProfileAgent(keys_in_software(vendor))
    for vector in manifest.vectors:
        message = (exported / vector.file).read_bytes()
        plaintext = (exported / vector.plaintext).read_bytes()
        function = vector.function
        apicrypt = vector.sender == "apimail-apicrypt"
        for agent, verdict in ((standard, vector.expected), (own, vector.profile_expected)):
            if agent is standard and apicrypt:
                assert vector.expected_reader == PRODUCT
                agent = own
            reception = agent.receive(ReceiveRequest(message, party, world.trust, world.crls))
            reading = judge(PRODUCT, function, reception, plaintext)  # type: ignore[arg-type]
            assert reading.verdict == verdict, (vector.file, agent.id, reading.reason)
        if not apicrypt:
            assert vector.expected_reader == "reference (software keys)"


def test_expectations_owe_nothing_to_the_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With SoftHSM standing in for the CPS card (as in the matrix), no expectation of the
    export names the token: both readers hold their keys in software."""
    from conformance.token import softhsm

    if not softhsm.available():
        pytest.skip("SoftHSM2 is not installed (Debian package softhsm2)")
    monkeypatch.setenv("OSM_CONFORMANCE_TOKEN", "softhsm")
    manifest = export_vectors(PRODUCT, tmp_path, senders=["reference"], functions=["encrypt"])
    (vector,) = manifest.vectors
    assert vector.expected == "pass"  # RSA-OAEP with SHA-256: standard, read in software
    assert vector.profile_expected == "fail"  # docteur-net-cps's profile does not list it
    assert vector.profile_reason is not None and "rsa-oaep-sha256" in vector.profile_reason
    text = json.dumps(manifest.model_dump())
    assert "CKR_" not in text and "stand-in" not in text


def test_reexport_gives_the_same_bytes(exported: Path, tmp_path: Path) -> None:
    export_vectors(PRODUCT, tmp_path, senders=SENDERS, functions=["sign-encrypt"])
    for sender in SENDERS:
        rel = f"messages/{sender}/sign-encrypt.eml"
        assert (tmp_path / rel).read_bytes() == (exported / rel).read_bytes()


def test_exported_vectors_verify_as_the_manifest_expects(exported: Path, tmp_path: Path) -> None:
    """Export then verify: the vectors themselves, read back by the product's profile."""
    manifest = load_export_manifest(exported)
    chosen = [v for v in manifest.vectors if v.function in ("sign", "encrypt")]
    entries = [
        {
            "file": v.file,
            "recipient": manifest.recipient,
            "function": v.function,
            "plaintext": v.plaintext,
        }
        for v in chosen
    ]
    (exported / "manifest.json").rename(tmp_path / "export-manifest.json")
    try:
        _manifest(exported, entries)
        report = verify_messages(exported, PRODUCT, receivers=[PRODUCT])
    finally:
        (tmp_path / "export-manifest.json").replace(exported / "manifest.json")
    assert [m.readings[0].verdict for m in report.messages] == [v.expected for v in chosen]
    assert report.input_errors == []


def _product_messages(directory: Path, functions: tuple[str, ...] = FUNCTIONS) -> dict[str, str]:
    """Messages the "real" product writes: here its own profile agent, seeded."""
    cast = shipped_cast()
    profile = cast.profiles[PRODUCT]
    sender_id, receiver_id = cast.users(PRODUCT)
    sender, recipient = cast.party(sender_id, profile), cast.party(receiver_id, profile)
    agent = ProfileAgent(profile, rng=seeded_rng("test-product"))
    entries = []
    for function in functions:
        scenario = basic_scenario(function)  # type: ignore[arg-type]
        entity = build_entity(scenario)
        sent = agent.send(
            SendRequest(
                function=scenario.function,
                content=entity,
                sender=sender,
                recipients=(files.role_certificate(recipient.identity_dir, "encrypt"),),
                recipient_emails=(recipient.email,),
                recipient_parties=(recipient,),
                subject=scenario.subject,
                date=cast.world().date,
            )
        )
        assert sent.message is not None, sent.reason
        (directory / f"{function}.eml").write_bytes(sent.message)
        (directory / f"{function}.mime").write_bytes(entity)
        entries.append(
            {
                "file": f"{function}.eml",
                "recipient": receiver_id,
                "function": function,
                "plaintext": f"{function}.mime",
                "sender": sender_id,
            }
        )
    (directory / "manifest.json").write_text(json.dumps({"messages": entries}, indent=1))
    return {"sender": sender_id, "recipient": receiver_id}


def test_round_trip_product_row(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    messages = tmp_path / "product"
    messages.mkdir()
    _product_messages(messages)
    out = tmp_path / "verified"
    code = _verify_cli(messages, out, "sermentis-mms", "easycrypt-net", "apimail-apicrypt")
    assert code == 0
    printed = capsys.readouterr().out
    assert "read with AIN: sermentis-mms, easycrypt-net" in printed
    assert "apimail-apicrypt: unsupported-format" in printed
    results = load_results(out / "results.json")
    real = next(a for a in results.agents if a.id == f"{PRODUCT}-real")
    # read by the suite's receivers: machine-observed, not by hand
    assert real.observed == ["machine"] and not real.observed_by_hand
    verdicts = {(c.receiver, c.function): c.verdict for c in results.cells}
    for function in FUNCTIONS:
        assert verdicts[("sermentis-mms", function)] == "pass"
        assert verdicts[("easycrypt-net", function)] == "pass"
    assert verdicts[("apimail-apicrypt", "sign")] == "fail"
    assert verdicts[("apimail-apicrypt", "hprim-net")] == "unsupported"
    assert all(c.sender == f"{PRODUCT}-real" for c in results.cells)
    sign = results.cell(f"{PRODUCT}-real", "sermentis-mms", "sign")
    assert sign is not None and sign.services["non_repudiation"] and sign.evidence
    assert (out / sign.evidence[0]).is_file()
    pairs = {(p.sender, p.receiver): p.interop for p in results.pairs}
    assert pairs[(f"{PRODUCT}-real", "sermentis-mms")] == "full"
    assert pairs[(f"{PRODUCT}-real", "apimail-apicrypt")] == "none"
    # the report renders it
    assert main(["report", str(out / "results.json"), "--out", str(tmp_path / "html")]) == 0


def test_content_that_differs_is_a_fail(tmp_path: Path) -> None:
    _product_messages(tmp_path, ("sign",))
    (tmp_path / "sign.mime").write_bytes(b"Content-Type: text/plain\r\n\r\nAutre texte\r\n")
    report = verify_messages(tmp_path, PRODUCT, receivers=["sermentis-mms"])
    reading = report.messages[0].readings[0]
    assert reading.verdict == "fail"
    # The matrix's own comparison: where the letter differs, not only that it does.
    assert reading.reason == (
        "content differs: letter: line 1 differs from column 1: "
        "expected 'Autre texte', got 'Cher confrère,'"
    )


# --- bad input ------------------------------------------------------------------------


def test_missing_file_unknown_function_unknown_recipient(tmp_path: Path) -> None:
    ids = _product_messages(tmp_path, ("sign",))
    _manifest(
        tmp_path,
        [
            {"file": "absent.eml", "recipient": ids["recipient"], "function": "sign"},
            {"file": "sign.eml", "recipient": ids["recipient"], "function": "fax"},
            {"file": "sign.eml", "recipient": "pro99", "function": "sign"},
        ],
    )
    with pytest.raises(UserError) as caught:
        verify_messages(tmp_path, PRODUCT, receivers=["sermentis-mms"])
    text = str(caught.value)
    assert "messages[0].file: 'absent.eml' does not exist" in text
    assert "messages[1].function: unknown function 'fax'" in text
    assert "messages[2].recipient: unknown identity 'pro99'" in text


def test_recipient_the_message_is_not_addressed_to(tmp_path: Path) -> None:
    _product_messages(tmp_path, ("sign",))
    _manifest(tmp_path, [{"file": "sign.eml", "recipient": "pro30", "function": "sign"}])
    with pytest.raises(UserError, match=r"sign.eml: not addressed to pro30"):
        verify_messages(tmp_path, PRODUCT, receivers=["sermentis-mms"])


def test_non_mime_file(tmp_path: Path) -> None:
    ids = _product_messages(tmp_path, ("sign",))
    (tmp_path / "photo.eml").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary")
    (tmp_path / "empty.eml").write_bytes(b"")
    _manifest(
        tmp_path,
        [
            {"file": "photo.eml", "recipient": ids["recipient"], "function": "sign"},
            {"file": "empty.eml", "recipient": ids["recipient"], "function": "sign"},
        ],
    )
    with pytest.raises(UserError) as caught:
        verify_messages(tmp_path, PRODUCT, receivers=["sermentis-mms"])
    assert "photo.eml: not a mail message" in str(caught.value)
    assert "empty.eml: empty file" in str(caught.value)


def test_manifest_lying_about_the_function_gets_no_verdict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = _product_messages(tmp_path, ("sign-encrypt", "sign"))
    _manifest(
        tmp_path,
        [
            {"file": "sign-encrypt.eml", "recipient": ids["recipient"], "function": "sign"},
            {"file": "sign.eml", "recipient": ids["recipient"], "function": "encrypt"},
        ],
    )
    out = tmp_path / "out"
    code = _verify_cli(tmp_path, out, "sermentis-mms")
    assert code == 2
    err = capsys.readouterr().err
    assert (
        "messages[0] (sign-encrypt.eml): the manifest says sign, but the message is encrypted"
        in err
    )
    assert (
        "messages[1] (sign.eml): the manifest says encrypt, but the message is not encrypted" in err
    )
    results = load_results(out / "results.json")
    assert {c.verdict for c in results.cells} == {"error"}  # never pass or fail


def test_bad_manifest_json_and_unknown_profile(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text('{"messages": [\n  {"file": "a.eml",}\n]}')
    with pytest.raises(UserError, match=r"manifest.json:2:\d+: not JSON"):
        verify_messages(tmp_path, PRODUCT, receivers=["sermentis-mms"])
    (tmp_path / "manifest.json").write_text('{"messages": [{"file": "a.eml"}]}')
    with pytest.raises(UserError, match=r"messages\[0\]\.recipient: missing required field"):
        verify_messages(tmp_path, PRODUCT, receivers=["sermentis-mms"])
    with pytest.raises(UserError, match="unknown profile 'no-such-product'"):
        verify_messages(tmp_path, "no-such-product")
    with pytest.raises(UserError, match="unknown profile 'no-such-sender'"):
        export_vectors(PRODUCT, tmp_path / "x", senders=["no-such-sender"])
    assert main(["vectors", "export", "--for", "nope", "--out", str(tmp_path / "y")]) == 2
    assert not (tmp_path / "y").exists()


# --- RFC 4134 -------------------------------------------------------------------------


def _pem_certificate(name: str, target: Path) -> Path:
    cert = x509.load_der_x509_certificate((RFC4134_DIR / name).read_bytes())
    target.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return target


def test_rfc4134_through_verify(tmp_path: Path) -> None:
    """4.8.eml (DSA-signed by Alice) and 5.3.eml (enveloped to Bob, 3DES) through verify.

    What it reports: no profile accepts 4.8's DSA signature (unsupported-algorithm,
    a finding: the OSM profiles sign and verify RSA only); every profile decrypts
    5.3 with Bob's key and holds confidentiality.
    """
    user2 = tmp_path / "ids" / "user2"  # RFC 4134 writes "To: User2@examples.com" / "User2"
    user2.mkdir(parents=True)
    _pem_certificate("BobRSASignByCarl.cer", user2 / "encrypt.pem")
    key = serialization.load_der_private_key(
        (RFC4134_DIR / "BobPrivRSAEncrypt.pri").read_bytes(), None
    )
    (user2 / "encrypt.key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (user2 / "identity.json").write_text(
        json.dumps({"id": "user2", "name": "User2 (Bob)", "email": "User2@examples.com"})
    )
    messages = tmp_path / "msgs"
    messages.mkdir()
    for name in ("4.8.eml", "5.3.eml"):
        shutil.copyfile(RFC4134_DIR / name, messages / name)
    _manifest(
        messages,
        [
            {"file": "4.8.eml", "recipient": "user2", "function": "sign"},
            {"file": "5.3.eml", "recipient": "user2", "function": "encrypt"},
        ],
    )
    trust = [
        _pem_certificate(n, tmp_path / (n + ".pem")) for n in ("CarlRSASelf.cer", "CarlDSSSelf.cer")
    ]
    report = verify_messages(
        messages,
        PRODUCT,
        receivers=["reference", PRODUCT],
        identities=tmp_path / "ids",
        trust=trust,
    )
    signed, enveloped = report.messages
    for reading in signed.readings:
        assert reading.verdict == "fail"
        assert reading.reason is not None
        assert reading.reason.startswith("unsupported-algorithm")
        assert "1.2.840.10040.4.3" in reading.reason  # dsa-with-sha1
    for reading in enveloped.readings:
        assert reading.verdict == "pass", reading.reason
        assert reading.services["confidentiality"]
    assert report.input_errors == []
    with pytest.raises(UserError, match="not a PEM certificate"):
        verify_messages(
            messages,
            PRODUCT,
            receivers=["reference"],
            identities=tmp_path / "ids",
            trust=[RFC4134_DIR / "CarlRSASelf.cer"],
        )


def test_cli_help_lists_the_actions() -> None:
    done = subprocess.run(
        [str(Path(__file__).parents[1] / ".venv" / "bin" / "osm-conformance"), "vectors", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0
    for action in ("export", "verify", "import", "golden"):
        assert action in done.stdout


def test_transport_is_the_relay_for_apicrypt(exported: Path) -> None:
    """The exported Apicrypt vectors are what the relay delivers (addressed to the product)."""
    manifest = load_export_manifest(exported)
    vector = next(v for v in manifest.vectors if v.sender == "apimail-apicrypt")
    data = (exported / vector.file).read_bytes()
    assert data.startswith(b"Received: by relais-apicrypt")
    assert manifest.recipient_email.encode() in data
    assert transport(data, manifest.recipient_email) == data  # not addressed to the relay again


def test_verify_compares_with_the_declared_profile(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """docteur-net-cps's messages (SHA-1, 3DES, PKCS#1 v1.5, opaque) verified as if the
    product claimed the reference profile (SHA-256, AES-256, OAEP-SHA256, multipart)."""
    messages = tmp_path / "product"
    messages.mkdir()
    _product_messages(messages, ("sign", "sign-encrypt"))
    out = tmp_path / "verified"
    argv = ["vectors", "verify", str(messages), "--as", "reference", "--out", str(out)]
    assert main([*argv, "--receiver", "sermentis-mms"]) == 0
    printed = capsys.readouterr().out
    assert (
        "not as declared: digest: the message uses sha1; the profile reference declares sha256 "
        "(send.signature.digest)" in printed
    )
    assert "content_cipher: the message uses des-ede3-cbc" in printed
    assert "validator, by rule id" in printed
    results = load_results(out / "results.json")
    found = {(c.sender, c.expected, c.observed) for c in results.contradictions}
    assert ("reference-real", "digest sha256", "digest sha1") in found
    assert ("reference-real", "content_cipher aes256-cbc", "content_cipher des-ede3-cbc") in found
    cell = results.cell("reference-real", "sermentis-mms", "sign")
    assert cell is not None and cell.sent["digest"] == ["sha1"]
    # as its own profile: nothing to say
    assert main(["vectors", "verify", str(messages), "--as", PRODUCT, "--receiver", "smm"]) == 0
    assert "not as declared" not in capsys.readouterr().out


def test_an_export_over_an_earlier_one_holds_only_its_own_messages(tmp_path: Path) -> None:
    """The folder says what the new manifest says: the earlier export's messages and
    plaintexts go, the vendor's own files stay."""
    first = export_vectors(PRODUCT, tmp_path, senders=["reference"], functions=["sign"])
    mine = tmp_path / "messages" / "notes.txt"
    mine.write_text("mine")
    second = export_vectors(PRODUCT, tmp_path, senders=["sermentis-mms"], functions=["encrypt"])
    written = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    old = {v.file for v in first.vectors} | {n.file for n in first.negatives}
    new = {v.file for v in second.vectors} | {n.file for n in second.negatives}
    assert new <= written
    assert not (old - new) & written
    assert "plaintext/sign.mime" not in written and "plaintext/encrypt.mime" in written
    assert mine.read_text() == "mine"


def test_a_receiver_that_breaks_is_a_harness_error_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A reading the suite failed to make (`internal`) is said and exits 1, as `run` does;
    before, the table showed `!` and the command exited 0."""
    import conformance.vectors.verify as verify
    from conformance.agents.base import Reception
    from conformance.status import ErrorCode, Status

    messages = tmp_path / "product"
    messages.mkdir()
    _product_messages(messages, ("sign",))
    broken = Status()
    broken.add_error(ErrorCode.INTERNAL, "the engine hung")
    monkeypatch.setattr(
        ProfileAgent, "receive", lambda self, request: Reception(status=broken, content=None)
    )
    assert _verify_cli(messages, tmp_path / "out", "smm") == 1
    err = capsys.readouterr().err
    assert "harness error: " in err and "smm: internal: the engine hung" in err
    # a receiver not installed here is skipped with its reason, not a harness error

    def missing(profile: object, workdir: Path) -> None:
        raise MissingComponent("openssl is not installed")

    monkeypatch.setattr(verify, "make_agent", missing)
    assert _verify_cli(messages, tmp_path / "out2") == 0
    assert "smm: receiver unavailable: openssl is not installed" in capsys.readouterr().out
    # ... its cells not observed, as `run` makes them: no verdict on the receiver
    skipped = load_results(tmp_path / "out2" / "results.json").cell(
        f"{PRODUCT}-real", "smm", "sign"
    )
    assert skipped is not None and skipped.verdict == "unsupported" and not skipped.observed
    assert skipped.not_observed is not None and skipped.not_observed.kind == "engine-missing"
    assert skipped.not_observed.detail == "openssl is not installed"
    # ... unless asked for by name: a required component missing, as for `run`
    assert _verify_cli(messages, tmp_path / "out3", "smm") == 3
    assert "error: --receiver smm: receiver unavailable: openssl is not installed" in (
        capsys.readouterr().err
    )
