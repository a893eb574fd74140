"""`osm-conformance check` as a tester uses it, on messages made by openssl: the verdict
line first (French by default, English with --lang en), the exit status, the trust
anchors of the test PKI by default (fail-closed), --no-default-trust, and the CRLF form of
a file saved with LF."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.x509.oid import NameOID
from smime_read_support import openssl, openssl_signed_by

from conformance.check.endings import saved_form
from conformance.check.render import text_table
from conformance.check.runner import check_saved_file, default_trust
from conformance.cli import main
from conformance.core.mime import canonicalize
from conformance.pki.model import Identity, load_pki
from conformance.smime.compose import Headers, build_message
from conformance.smime.options import SendOptions
from conformance.token.software import SoftwareKey

PKI = load_pki()
RECIPIENT = PKI.identity("pro02").email
CONTENT = b"Content-Type: text/plain; charset=utf-8\n\nCompte rendu: normal.\n"


def saved_by_openssl(who: Identity, *options: str) -> bytes:
    """`openssl cms -sign` as a tester runs it on Unix, its output saved to a file: LF line
    ends, but for the signed content, which openssl writes in the canonical CRLF it signed.
    A Date and a Message-ID are added, as the mail client that sends it does."""
    signed = openssl(
        "cms",
        "-sign",
        *options,
        *("-signer", str(who.certificate_path("sign")), "-inkey", str(who.key_path("sign"))),
        *("-certfile", str(who.directory / "chain.pem")),
        *("-from", who.email, "-to", RECIPIENT, "-subject", "Compte rendu"),
        data=CONTENT,
    )
    stamp = b"Date: Sat, 01 Mar 2025 12:00:00 +0100\nMessage-ID: <cr-1@osm-test.example>\n"
    return stamp + signed


def tampered(message: bytes) -> bytes:
    changed = message.replace(b"Compte rendu: normal.", b"Compte rendu: grave..")
    assert changed != message
    return changed


def _check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], message: bytes, *args: str
) -> tuple[int, str]:
    path = tmp_path / "message.eml"
    path.write_bytes(message)
    code = main(["check", str(path), *args])
    return code, capsys.readouterr().out


def _verdict(out: str) -> str:
    """The verdict line, unwrapped (the report wraps at the terminal's width, its
    continuation lines indented)."""
    first, *rest = out.splitlines()
    more = [
        line.strip()
        for line in rest[
            : next((i for i, x in enumerate(rest) if not x.startswith(" ")), len(rest))
        ]
    ]
    return " ".join([first, *more])


@pytest.mark.parametrize(
    ("case", "code", "french", "english"),
    [
        ("good", 0, "Verdict : conforme (1 avertissement)", "Verdict: conformant (1 warning)"),
        ("revoked", 1, "Verdict : 1 erreur, 1 avertissement", "Verdict: 1 error, 1 warning"),
        (
            "unknown-root",
            1,
            "Verdict : 1 erreur, 1 avertissement ; non vérifié : CERT-003",
            "Verdict: 1 error, 1 warning; not checked: CERT-003",
        ),
        ("tampered", 1, "Verdict : 1 erreur, 1 avertissement", "Verdict: 1 error, 1 warning"),
    ],
)
def test_openssl_messages_get_a_one_line_verdict(
    case: str,
    code: int,
    french: str,
    english: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The one warning is MIME-001: the file is saved with LF; the rest is the verdict."""
    who = {"revoked": "defect-revoked", "unknown-root": "defect-unknown-root"}.get(case, "pro01")
    message = saved_by_openssl(PKI.identity(who))
    if case == "tampered":
        message = tampered(message)
    found, out = _check(tmp_path, capsys, message)
    assert (found, _verdict(out)) == (code, french)
    assert out.rstrip().splitlines()[-1] == french  # said again after the checks
    found, out = _check(tmp_path, capsys, message, "--lang", "en")
    assert (found, _verdict(out)) == (code, english)
    errors = [line for line in out.splitlines() if line.startswith("ERROR")]
    expected_rule = {"revoked": "CERT-003", "unknown-root": "CERT-001", "tampered": "CMS-004"}
    assert [line.split()[1] for line in errors] == (
        [expected_rule[case]] if case in expected_rule else []
    )


def test_the_key_facts_are_printed_whole_even_in_a_narrow_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    _, out = _check(tmp_path, capsys, saved_by_openssl(PKI.defective("revoked")), "--lang", "en")
    flat = " ".join(out.split())
    assert "revoked on 20" in flat
    assert "RFC 5280 5.3 / 6.3" in flat
    assert "…" not in out
    for line in out.splitlines():  # wrapped: only a word longer than a line overflows
        assert len(line) <= 60 or max(len(w) for w in line.split()) > 40, line
    _, out = _check(
        tmp_path, capsys, saved_by_openssl(PKI.defective("unknown-root")), "--lang", "en"
    )
    assert "no path to a trust anchor" in " ".join(out.split())


def test_errors_come_first_then_warnings_then_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out = _check(tmp_path, capsys, saved_by_openssl(PKI.defective("revoked")), "--lang", "en")
    statuses = [
        line.split()[0]
        for line in out.splitlines()
        if line.split() and line.split()[0] in ("ERROR", "WARNING", "INFO", "SUCCESS")
    ]
    rank = {"ERROR": 0, "WARNING": 1, "INFO": 2, "SUCCESS": 2}
    assert statuses[0] == "ERROR"
    assert [rank[s] for s in statuses] == sorted(rank[s] for s in statuses)


def test_the_default_trust_is_the_test_pki_and_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    anchors, crls = default_trust()
    assert anchors == PKI.trust_paths() and crls == PKI.crl_paths()
    _, out = _check(tmp_path, capsys, saved_by_openssl(PKI.identity("pro01")), "--json")
    trust = json.loads(out)["trust"]
    assert trust["origin"] == "test-pki"
    assert [a["path"] for a in trust["anchors"]] == [str(p) for p in anchors]
    root_name = PKI.root.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert trust["anchors"][0]["subject"] == root_name
    assert [c["path"] for c in trust["crls"]] == [str(p) for p in crls]
    _, out = _check(tmp_path, capsys, saved_by_openssl(PKI.identity("pro01")), "--lang", "en")
    head = " ".join(out.split("\n\n")[0].split())
    assert "Trust anchors: the shipped test PKI" in head
    assert str(anchors[0]) in head and all(str(p) in head for p in crls)


def test_given_trust_replaces_the_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The unknown root given as the only anchor: the usual signer has no path to it."""
    unknown = tmp_path / "unknown-root.pem"
    unknown.write_bytes((PKI.directory / "ca-unknown" / "root.pem").read_bytes())
    code, out = _check(
        tmp_path,
        capsys,
        saved_by_openssl(PKI.identity("pro01")),
        "--trust",
        str(unknown),
        "--json",
    )
    data = json.loads(out)
    assert code == 1
    assert data["trust"]["origin"] == "given" and data["trust"]["crls"] == []
    assert [c["id"] for c in data["checks"] if c["status"] == "ERROR"] == ["CERT-001"]


def test_without_default_trust_the_verdict_is_incomplete(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    message = saved_by_openssl(PKI.defective("revoked"))
    code, out = _check(tmp_path, capsys, message, "--no-default-trust")
    assert code == 3
    assert _verdict(out) == (
        "Verdict : incomplet (non vérifié : CERT-001, CERT-003, CERT-013 ; 1 avertissement)"
    )
    assert "Ancres de confiance : aucune" in out
    code, out = _check(tmp_path, capsys, message, "--no-default-trust", "--json")
    data = json.loads(out)
    assert code == 3
    assert data["verdict"] == {
        "status": "incomplete",
        "errors": 0,
        "warnings": 1,
        "not_checked": ["CERT-001", "CERT-003", "CERT-013"],
    }
    assert data["trust"] == {"origin": "none", "anchors": [], "crls": []}
    assert {c["status"] for c in data["checks"] if c["id"] in ("CERT-001", "CERT-003")} == {"INFO"}


def test_a_file_saved_with_lf_is_checked_in_its_crlf_form() -> None:
    """openssl's own saved output (LF, signed content in CRLF) verifies in both forms; the
    same message wholly in LF (dos2unix) verifies only in its CRLF form; mixed endings stay
    an ERROR, openssl -crlfeol's (CRLF headers, LF base64) among them."""
    anchors, crls = default_trust()
    options = {"trust": anchors, "crls": crls, "trust_origin": "test-pki"}
    saved = saved_by_openssl(PKI.identity("pro01"))
    assert saved_form(saved).endings == "LF"
    report = check_saved_file(saved, **options)
    assert report.line_endings == {"saved": "LF", "checked": "CRLF", "verifies": "both"}
    (warning,) = report.by_id("MIME-001")
    assert warning.status == "WARNING" and "verifies in both forms" in warning.found
    assert report.verdict().status == "conformant"

    # Wholly in LF (dos2unix): the validator hashes the signed part in canonical form
    # (RFC 8551 3.1.1), so it still verifies in both forms.
    all_lf = canonicalize(saved).replace(b"\r\n", b"\n")
    assert saved_form(all_lf).endings == "LF"
    report = check_saved_file(all_lf, **options)
    assert report.line_endings is not None and report.line_endings["verifies"] == "both"
    assert report.verdict().status == "conformant"
    french = text_table(report, width=100, lang="fr")
    assert "Fins de ligne : fichier enregistré en LF" in french
    assert "la signature se vérifie sous les deux formes" in " ".join(french.split())

    unsigned = b"From: a@osm.test\nTo: b@osm.test\nSubject: x\n\n" + CONTENT
    report = check_saved_file(unsigned, **options)
    assert report.line_endings is not None
    assert report.line_endings["verifies"] == "no-signature"
    assert "no signature to verify" in report.by_id("MIME-001")[0].found

    crlf = canonicalize(saved)
    assert saved_form(crlf).endings == "CRLF"
    report = check_saved_file(crlf, **options)
    assert report.line_endings is None and report.verdict().status == "conformant"
    assert {c.status for c in report.by_id("MIME-001")} == {"SUCCESS"}

    mixed = crlf.replace(b"\r\nSubject:", b"\nSubject:", 1)
    assert saved_form(mixed).endings == "mixed"
    report = check_saved_file(mixed, **options)
    assert report.line_endings is None
    errors = [c for c in report.errors if c.id == "MIME-001"]
    assert errors and "no single CRLF form" in errors[0].found
    assert report.verdict().status == "non-conformant"

    crlfeol = openssl_signed_by(PKI.identity("pro01"), RECIPIENT, CONTENT)
    assert saved_form(crlfeol).endings == "mixed"
    assert [c.part for c in check_saved_file(crlfeol, **options).errors if c.id == "MIME-001"]


def test_a_signature_over_lf_content_verifies_in_neither_form() -> None:
    """openssl -binary signs the LF bytes themselves, not the canonical CRLF form every
    verifier hashes (RFC 8551 3.1.1): an ERROR, and the warning says neither form verified."""
    anchors, crls = default_trust()
    saved = saved_by_openssl(PKI.identity("pro01"), "-binary")
    assert saved_form(saved).endings == "LF"
    report = check_saved_file(saved, trust=anchors, crls=crls)
    assert report.line_endings is not None and report.line_endings["verifies"] == "neither"
    assert "CMS-004" in {c.id for c in report.errors}
    assert "verifies in neither form" in report.by_id("MIME-001")[0].found


def test_html_has_a_verdict_banner_and_the_trust_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "report.html"
    code, _ = _check(
        tmp_path, capsys, saved_by_openssl(PKI.defective("revoked")), "--html", str(page)
    )
    html = page.read_text(encoding="utf-8")
    assert code == 1
    assert '<html lang="fr">' in html
    banner = html.index('class="verdict non-conformant"')
    assert banner < html.index("<h1>")
    assert "Verdict : 1 erreur, 1 avertissement" in html
    assert "PKI de test livrée" in html and str(PKI.trust_paths()[0]) in html
    assert all(str(p) in html for p in PKI.crl_paths())
    assert "osm-2008" in html
    assert "Fins de ligne" in html
    assert html.index("CERT-003") < html.index("HDR-001")  # errors first
    _check(
        tmp_path,
        capsys,
        saved_by_openssl(PKI.identity("pro01")),
        "--html",
        str(page),
        "--lang",
        "en",
    )
    html = page.read_text(encoding="utf-8")
    assert '<html lang="en">' in html and 'class="verdict conformant"' in html
    assert "Verdict: conformant (1 warning)" in html


def test_an_encrypted_message_without_its_identity_is_incomplete(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without --identity the inner layers cannot be read: not conformant, incomplete, and
    the rules that could not judge are named; with the identity it is conformant."""
    monkeypatch.setenv("OSM_CONFORMANCE_TOKEN", "software")
    anchors, crls = default_trust()
    who, to = PKI.identity("pro01"), PKI.identity("pro02")
    message = build_message(
        CONTENT.replace(b"\n", b"\r\n"),
        "sign-encrypt",
        SendOptions(),
        SoftwareKey(who.private_key("sign"), who.certificate("sign"), who.id),
        [PKI.intermediate],
        [to.certificate("encrypt")],
        Headers(
            from_addr=who.email, to=[to.email], subject="CR", date=datetime(2025, 3, 1, tzinfo=UTC)
        ),
        rng=random.Random(3).randbytes,
    )
    blind = check_saved_file(message, trust=anchors, crls=crls)
    verdict = blind.verdict()
    assert verdict.status == "incomplete" and verdict.exit_code == 3
    assert {"ENC-003", "ENC-004"} <= set(verdict.unchecked)
    seeing = check_saved_file(message, trust=anchors, crls=crls, identity_dir=to.directory)
    assert seeing.verdict().status == "conformant", [c.to_json() for c in seeing.errors]


def test_no_test_pki_for_the_default_trust_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An installation without the test PKI: the default trust cannot be had, so `check`
    refuses (exit 2) rather than passing the chain unchecked; it says what to give."""
    import conformance.pki.model as model

    def absent(directory: Path = tmp_path / "no-pki") -> object:
        return model._read_pki(directory)  # the real reader, on a directory without a PKI

    monkeypatch.setattr(model, "load_pki", absent)
    path = tmp_path / "m.eml"
    path.write_bytes(saved_by_openssl(PKI.identity("pro01")))
    code = main(["check", str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert "--no-default-trust" in err and "--trust" in err
    assert main(["check", str(path), "--no-default-trust"]) == 3


def test_smime_009_says_why_a_part_is_not_seven_bit() -> None:
    """It said "8-bit parts: 1.1 (7bit)", which reads as a contradiction: the part is
    declared 7bit but holds 8-bit octets (MIME-006 is the error for the mislabel)."""
    anchors, crls = default_trust()
    who = PKI.identity("pro01")
    letter = "Content-Type: text/plain; charset=utf-8\n\nCompte rendu: fébrile.\n".encode()
    signed = openssl(
        "cms",
        "-sign",
        *("-signer", str(who.certificate_path("sign")), "-inkey", str(who.key_path("sign"))),
        data=letter,
    )
    report = check_saved_file(signed, trust=anchors, crls=crls)
    (finding,) = report.by_id("SMIME-009")
    assert finding.status == "WARNING"
    assert finding.found == "part 1.1 holds 8-bit octets though declared 7bit"
    assert [c.part for c in report.errors if c.id == "MIME-006"] == ["1.1"]
