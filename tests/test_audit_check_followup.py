"""`check` as a homologation tester runs it: the reference encrypted message with its
recipient's identity, the reader's bounds, and usage errors for arguments it cannot use."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import pytest
from check_support import HEADER, checked, data_part

from conformance.check import CheckReport
from conformance.check.render import catalogue_markdown
from conformance.check.tree import MAX_DEPTH, MAX_PARTS
from conformance.cli import main
from conformance.paths import PKI_DIR, REPO_DIR
from conformance.pki.model import load_pki
from conformance.smime.compose import Headers, build_message
from conformance.smime.options import SendOptions

ENCRYPTED = REPO_DIR / "vectors" / "golden" / "reference" / "encrypt.eml"
IDENTITIES = PKI_DIR / "identities"
TEXT = b"Content-Type: text/plain\r\n\r\np\r\n"


def _run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main(["check", *map(str, args)])
    out = capsys.readouterr()
    return code, out.out, out.err


def _statuses(report: CheckReport, rule_id: str) -> list[tuple[str, str]]:
    return [(c.part, c.status) for c in report.by_id(rule_id)]


# --- the recipient's chain.pem verifies its issuer's CRL --------------------------------


def test_the_reference_encrypted_message_is_conformant_for_its_recipient(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An encrypted-only message carries no certificate: the CRL of the CA that issued the
    recipient's certificate is verified with the identity's chain.pem."""
    code, out, _ = _run(capsys, "--identity", IDENTITIES / "pro02", "--lang", "en", ENCRYPTED)
    assert out.splitlines()[0] == "Verdict: conformant (1 warning)", out
    assert code == 0
    assert any(line.split()[:2] == ["SUCCESS", "CERT-003"] for line in out.splitlines())


def test_a_revoked_recipient_certificate_is_an_error_not_unchecked() -> None:
    pki = load_pki()
    recipient = pki.identities["defect-revoked"]
    headers = Headers(
        from_addr=pki.identities["pro01"].email,
        to=[recipient.email],
        subject="Compte rendu",
        date=datetime(2025, 7, 15, 8, tzinfo=UTC),
    )
    message = build_message(
        TEXT,
        "encrypt",
        SendOptions(),
        None,
        [],
        [recipient.certificate("encrypt")],
        headers,
        rng=random.Random(1).randbytes,
    )
    report = checked(message, "defect-revoked")
    (check,) = report.by_id("CERT-003")
    assert check.status == "ERROR"
    assert "revoked on" in check.found
    assert report.verdict().exit_code == 1


# --- the reader's bounds: documented, and reported for CMS contents too ----------------


def test_the_reader_bounds_are_in_the_rule_reference() -> None:
    doc = catalogue_markdown()
    (line,) = [x for x in doc.splitlines() if x.startswith("| MIME-004 |")]
    assert f"deeper than {MAX_DEPTH} levels" in line
    assert f"more than {MAX_PARTS} parts" in line


def _multipart(parts: list[bytes], boundary: bytes) -> bytes:
    body = b"".join(b"--" + boundary + b"\r\n" + p + b"\r\n" for p in parts)
    return (
        b"Content-Type: multipart/mixed; boundary="
        + boundary
        + b"\r\n\r\n"
        + body
        + b"--"
        + boundary
        + b"--\r\n"
    )


def test_a_cms_content_past_the_nesting_limit_is_not_conformant() -> None:
    """Before: the content of a CMS object at the deepest level was silently skipped and the
    message called conformant."""
    entity = data_part(TEXT)
    for level in range(MAX_DEPTH):
        entity = _multipart([entity], f"b{level}".encode())
    report = checked(HEADER + entity)
    deepest = ".".join(["1"] * (MAX_DEPTH + 1))
    assert (deepest, "ERROR") in _statuses(report, "MIME-004")
    assert report.verdict().exit_code == 1


def test_the_part_limit_counts_the_contents_of_cms_objects() -> None:
    """Before: the message and its CMS contents each had MAX_PARTS parts of their own."""
    half = MAX_PARTS * 3 // 4
    inner = _multipart([TEXT] * half, b"I")
    message = HEADER + _multipart([TEXT] * half + [data_part(inner)], b"B")
    report = checked(message)
    assert (f"1.{half + 1}.1", "ERROR") in _statuses(report, "MIME-004")
    assert report.verdict().exit_code == 1


# --- arguments `check` cannot use are usage errors ------------------------------------


@pytest.mark.parametrize("flags", [["--catalogue", "--markdown"], ["--catalogue"]])
def test_catalogue_refuses_a_file_argument_it_would_not_write(
    flags: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / "rules.md"
    code, out, err = _run(capsys, *flags, out_file)
    assert code == 2
    assert out == ""
    assert str(out_file) in err and "> " in err  # says how to write it: redirect
    assert not out_file.exists()


@pytest.mark.parametrize("option", ["--sender", "--recipient"])
@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_expected_address_is_a_usage_error(
    option: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, f"{option}={value}", ENCRYPTED)
    assert code == 2
    assert out == ""
    assert option in err and "empty" in err


def test_catalogue_refuses_html_it_would_not_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / "rules.html"
    code, out, err = _run(capsys, "--catalogue", "--html", out_file)
    assert code == 2
    assert out == ""
    assert "--html" in err and str(out_file) in err
    assert not out_file.exists()
