"""Hostile messages a vendor's product really sends: `check` names what is wrong and where.

Each case edits the shipped reference signed message (vectors/golden/reference/sign.eml)
or builds a small message by hand, and checks the rule, the status and the MIME part.
"""

from __future__ import annotations

import base64
import os
import threading
from pathlib import Path

import pytest
from check_support import HEADER, SIGNED, checked, cms_der, edit_signed, failures

from conformance.cli import main
from conformance.paths import REPO_DIR

ENCRYPTED = REPO_DIR / "vectors" / "golden" / "reference" / "encrypt.eml"


def _signature(der: bytes) -> bytes:
    """The reference message with its signature part's CMS object replaced by `der`."""
    start = SIGNED.index(b"MIIOFQ")
    end = SIGNED.index(b"------=_smime", start)
    return SIGNED[:start] + base64.encodebytes(der).replace(b"\n", b"\r\n") + SIGNED[end:]


def test_the_reference_message_is_conformant() -> None:
    report = checked(SIGNED)
    assert report.errors == []
    assert [c.status for c in report.by_id("HDR-010")] == ["SUCCESS"] * 3


# --- HDR-010: a header line that is no field ------------------------------------------


def test_a_header_line_without_colon_is_an_error_named_with_its_line() -> None:
    """The Subject line lost its colon: the header ends there for the reader, so the
    multipart/signed is never seen; the report names the line, not only the fields lost."""
    report = checked(edit_signed(b"Subject: Compte", b"Subject Compte"))
    [broken] = failures(report, "HDR-010")
    assert (broken.status, broken.part) == ("ERROR", "1")
    assert "header line 5 is not a field ('Subject Compte rendu de consultation')" in broken.found
    assert broken.found_fr is not None and "ligne d'en-tête 5" in broken.found_fr


def test_fields_cut_off_by_a_broken_line_are_not_conformant() -> None:
    message = HEADER + b"not a header line\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
    report = checked(message)
    assert report.verdict().status == "non-conformant"
    assert [c.part for c in failures(report, "HDR-010")] == ["1"]


def test_body_parts_whose_first_line_is_no_field_are_named() -> None:
    message = HEADER + (
        b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n'
        b"--B\r\nhello, no header here\r\n"
        b"--B\r\nContent-Type: text/plain\r\nnot a field\r\n\r\nx\r\n--B--\r\n"
    )
    found = {c.part: c.found for c in failures(checked(message), "HDR-010")}
    assert set(found) == {"1.1", "1.2"}
    assert found["1.1"].startswith("the first line is not a header field ('hello, no header")
    assert found["1.2"].startswith("header line 2 is not a field ('not a field')")


def test_control_octets_of_a_header_line_are_escaped_not_echoed() -> None:
    report = checked(edit_signed(b"Subject: Compte", b"Subject: Com\x00pte\xe9"))
    [bad] = failures(report, "HDR-006")
    assert "\x00" not in bad.found
    assert "Com\\x00pte\\xe9" in bad.found


# --- MIME-003 / MIME-005: a field given twice -----------------------------------------


def test_a_second_content_type_is_an_error() -> None:
    """Readers differ on which Content-Type applies: here text/plain for the validator,
    multipart/signed for a reader taking the last one. Not conformant, whichever is right."""
    report = checked(
        edit_signed(b"MIME-Version: 1.0\r\n", b"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n")
    )
    [twice] = failures(report, "MIME-003")
    assert (twice.status, twice.part) == ("ERROR", "1")
    assert twice.found.startswith("2 Content-Type fields")


def test_a_second_transfer_encoding_is_an_error() -> None:
    message = HEADER + (
        b"Content-Type: text/plain\r\nContent-Transfer-Encoding: 7bit\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n"
    )
    [twice] = failures(checked(message), "MIME-005")
    assert (twice.status, twice.part) == ("ERROR", "1")
    assert twice.found.startswith("2 Content-Transfer-Encoding fields")


# --- CMS-001: octets after the ContentInfo --------------------------------------------


def test_octets_after_the_cms_object_are_an_error() -> None:
    report = checked(_signature(cms_der(SIGNED) + b"\x00\x00garbage"))
    [trailing] = failures(report, "CMS-001")
    assert (trailing.status, trailing.part) == ("ERROR", "1.2")
    assert trailing.found == "signed-data followed by 9 octet(s) outside the CMS object"
    assert [c.status for c in report.by_id("CMS-009")] == ["SUCCESS"]  # still read in full


def test_an_indefinite_length_cms_object_has_nothing_after_it() -> None:
    der = cms_der(SIGNED)
    assert der[:2] == b"\x30\x82"
    ber = b"\x30\x80" + der[4:] + b"\x00\x00"  # BER, as NSS and gpgsm write it
    assert failures(checked(_signature(ber)), "CMS-001") == []


# --- the command line: what is the tester's setup is a usage error --------------------


def _run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str]:
    code = main(["check", "--lang", "en", *map(str, args)])
    return code, capsys.readouterr().err


def test_an_identity_without_its_encryption_key_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not an ENC-004 ERROR blaming the message (exit 1) for the tester's directory."""
    code, err = _run(capsys, "--identity", tmp_path, ENCRYPTED)
    assert code == 2
    assert "no encrypt certificate" in err


def test_a_directory_as_message_is_named_a_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _run(capsys, tmp_path)
    assert code == 2
    assert "a directory, not a message file" in err


def test_a_message_given_as_a_stream_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """/dev/stdin or `<(...)` is no regular file, but it exists and is read."""
    fifo = tmp_path / "message.fifo"
    os.mkfifo(fifo)
    writer = threading.Thread(target=fifo.write_bytes, args=(SIGNED,), daemon=True)
    writer.start()
    code, err = -1, ""
    try:
        code, err = _run(capsys, "--json", fifo)
    finally:
        writer.join(timeout=5)
        if writer.is_alive():  # never read: give the waiting writer a reader, not a hang
            os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
    assert (code, err) == (0, "")


# --- --lang fr: the chain rule's finding in French ------------------------------------


def test_the_chain_finding_is_written_in_french_too() -> None:
    """docs/check-rules.md: --lang fr translates what a rule found; CERT-001 gave the path
    validator's English sentence only."""
    [chain] = checked(SIGNED).by_id("CERT-001")
    assert chain.status == "SUCCESS"
    assert chain.found_fr is not None
    assert chain.found_fr.endswith("chemin valide jusqu'à une ancre de confiance")
    assert chain.found.endswith("valid chain to a trust anchor")  # the JSON is unchanged
