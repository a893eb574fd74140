"""The vendor kit's negative vectors carry the CRLs their case gives: the three cases whose
signer's issuer is a certificate of the case's own (conformance/rejections/hostile.py,
`Hostile.crls`) export that issuer's CRL beside the message, the manifest names it, and
`vectors verify` gives a message's listed CRLs to the receivers beside the identities'.
Without them a product that checks revocation refuses for a missing CRL, not for the
path rule the case tests."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from rejections_support import RecordingAgent, carried

from conformance.agents.factory import make_agent
from conformance.errors import UserError
from conformance.profiles.schema import Profile
from conformance.vectors import export as export_module
from conformance.vectors import verify as verify_module
from conformance.vectors.export import export_vectors
from conformance.vectors.manifest import ExportManifest, NegativeVector, load_export_manifest
from conformance.vectors.verify import copy_evidence, verify_messages

PRODUCT = "docteur-net-cps"
SENDER = "sermentis-mms"
CASES = {
    "wrong-signer-issued-by-end-entity",
    "defective-path-length-exceeded",
    "defective-ca-without-key-cert-sign",
}
# What reference says of each case's path when it has every CRL (RFC 5280 6.1.4).
PATH_RULE = {
    "wrong-signer-issued-by-end-entity": "is not a CA",
    "defective-path-length-exceeded": "exceeds the maximum path length",
    "defective-ca-without-key-cert-sign": "is not allowed to sign certificates",
}


@pytest.fixture(autouse=True)
def _software_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OSM_CONFORMANCE_TOKEN", "software")


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    out = tmp_path_factory.mktemp("export")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OSM_CONFORMANCE_TOKEN", "software")
        export_vectors(PRODUCT, out, senders=[SENDER], functions=["sign"])
    yield out


def _with_crls(manifest: ExportManifest) -> list[NegativeVector]:
    return [n for n in manifest.negatives if n.crls]


def test_the_three_cases_export_their_issuer_s_crl(exported: Path) -> None:
    """Each of the three cases, per producer, has one CRL file beside its message, named as
    the run's evidence names it, listed by the manifest, in the name of the certificate
    that issued the message's signer and signed with that certificate's key."""
    manifest = load_export_manifest(exported)
    carrying = _with_crls(manifest)
    assert {n.case for n in carrying} == CASES
    assert {(n.case, n.producer) for n in carrying} == {
        (n.case, n.producer) for n in manifest.negatives if n.case in CASES
    }
    for negative in carrying:
        stem = negative.file.removesuffix(".eml")
        assert negative.crls == [f"{stem}.crl1.pem"]
        crl = x509.load_pem_x509_crl((exported / negative.crls[0]).read_bytes())
        signer, others = carried((exported / negative.file).read_bytes())
        (issuer,) = [c for c in others if c.subject == signer.issuer]
        public = issuer.public_key()
        assert isinstance(public, rsa.RSAPublicKey)
        assert crl.issuer == signer.issuer and crl.is_signature_valid(public)
    raw = json.loads((exported / "manifest.json").read_text(encoding="utf-8"))
    listed = {c for n in raw["negatives"] for c in n["crls"]}
    on_disk = {str(p.relative_to(exported)) for p in (exported / "negative").rglob("*.crl*.pem")}
    assert listed == on_disk and len(listed) == len(carrying)
    readme = (exported / "README.md").read_text(encoding="utf-8")
    assert f"`{carrying[0].crls[0]}`" in readme


def test_an_earlier_export_s_crls_are_removed_first(exported: Path, tmp_path: Path) -> None:
    """Over an earlier export, the CRLs its manifest listed go with its messages."""
    earlier = tmp_path / "earlier"
    shutil.copytree(exported, earlier)
    listed = [c for n in load_export_manifest(earlier).negatives for c in n.crls]
    mine = earlier / "negative" / "my-notes.txt"
    mine.write_text("the vendor's own file", encoding="utf-8")
    export_module._forget_earlier_export(earlier)
    assert listed and not any((earlier / c).exists() for c in listed)
    assert mine.exists()


@pytest.fixture
def recording(monkeypatch: pytest.MonkeyPatch) -> list[RecordingAgent]:
    """verify's receivers, each wrapped in a recording agent."""
    made: list[RecordingAgent] = []
    real = make_agent

    def make(profile: Profile, *, workdir: Path | None = None) -> RecordingAgent:
        agent = RecordingAgent(real(profile, workdir=workdir))
        made.append(agent)
        return agent

    monkeypatch.setattr(verify_module, "make_agent", make)
    return made


def _negative_manifest(exported: Path, work: Path, *, crls: bool) -> Path:
    """The negative corpus as `vectors verify` reads it (DIR: a copy of the export's
    negative/), with each negative's CRLs or, as a manifest written before them, without."""
    manifest = load_export_manifest(exported)
    entries = []
    for negative in _with_crls(manifest):
        entry: dict[str, object] = {
            "file": negative.file.removeprefix("negative/"),
            "recipient": manifest.recipient,
            "function": negative.function,
        }
        if crls:
            entry["crls"] = [c.removeprefix("negative/") for c in negative.crls]
        entries.append(entry)
    directory = work / "negative"
    shutil.copytree(exported / "negative", directory)
    (directory / "manifest.json").write_text(json.dumps({"messages": entries}), encoding="utf-8")
    return directory


def test_verify_gives_a_message_s_crls_beside_the_identities(
    exported: Path, recording: list[RecordingAgent], tmp_path: Path
) -> None:
    """The receiver is given the identities' CRLs and the message's own; reference refuses
    each for its path rule; the evidence keeps the CRLs given."""
    directory = _negative_manifest(exported, tmp_path, crls=True)
    report = verify_messages(directory, PRODUCT, receivers=["reference"])
    (agent,) = recording
    manifest = load_export_manifest(exported)
    carrying = _with_crls(manifest)
    assert len(agent.seen) == len(carrying) == len(report.messages)
    for negative, (request, given), item in zip(carrying, agent.seen, report.messages, strict=True):
        own = [(exported / c).read_bytes() for c in negative.crls]
        assert request.crls[: -len(own)] == report.crls  # the identities' CRLs first
        assert given[-len(own) :] == own
        (reading,) = item.readings
        assert reading.verdict == "fail" and reading.reason is not None
        assert PATH_RULE[negative.case] in reading.reason, reading.reason
        assert "CRL" not in reading.reason and "revocation" not in reading.reason
    out = tmp_path / "out"
    evidence = copy_evidence(report, out, "row")
    for negative, item in zip(carrying, report.messages, strict=True):
        (crl,) = negative.crls
        kept = f"evidence/row/{crl.removeprefix('negative/')}"
        assert kept in evidence[item.index]
        assert (out / kept).read_bytes() == (exported / crl).read_bytes()


def test_a_manifest_without_crls_still_loads_and_verifies(
    exported: Path, recording: list[RecordingAgent], tmp_path: Path
) -> None:
    """An export manifest written before `crls` loads (none listed); a verify manifest
    without them gives the receivers the identities' CRLs alone."""
    raw = json.loads((exported / "manifest.json").read_text(encoding="utf-8"))
    for negative in raw["negatives"]:
        del negative["crls"]
    old = tmp_path / "manifest.json"
    old.write_text(json.dumps(raw), encoding="utf-8")
    assert all(n.crls == [] for n in load_export_manifest(old).negatives)
    report = verify_messages(
        _negative_manifest(exported, tmp_path, crls=False), PRODUCT, receivers=["reference"]
    )
    (agent,) = recording
    assert [r.crls for r, _ in agent.seen] == [report.crls] * len(report.messages)
    assert all(item.readings[0].verdict == "fail" for item in report.messages)


def test_bad_crls_in_a_verify_manifest_are_named(exported: Path, tmp_path: Path) -> None:
    """A listed CRL outside DIR, missing or not a CRL is refused before anything is read,
    naming the entry."""
    manifest = load_export_manifest(exported)
    negative = _with_crls(manifest)[0]
    directory = tmp_path / "dir"
    directory.mkdir()
    shutil.copyfile(exported / negative.file, directory / "m.eml")
    (directory / "not-a-crl.pem").write_text("hello", encoding="utf-8")
    entry = {"file": "m.eml", "recipient": manifest.recipient, "function": "sign"}
    entry["crls"] = ["../x.crl.pem", "gone.crl.pem", "not-a-crl.pem"]  # type: ignore[assignment]
    (directory / "manifest.json").write_text(json.dumps({"messages": [entry]}), encoding="utf-8")
    with pytest.raises(UserError) as error:
        verify_messages(directory, PRODUCT, receivers=["reference"])
    text = str(error.value)
    assert "messages[0].crls[0]: '../x.crl.pem' is not a path inside" in text
    assert "messages[0].crls[1]: 'gone.crl.pem' does not exist" in text
    assert "messages[0].crls[2]: " in text and "not a PEM CRL, nor a DER one" in text
