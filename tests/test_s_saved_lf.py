"""`check FILE` on a file saved with LF line ends: its CRLF form checked, the file read once
and not held beside that form; the saved form checked apart only when its CMS objects are
other bytes than in the CRLF form (a signature part in binary), the report the same."""

from __future__ import annotations

import binascii
import json
import random
import tracemalloc
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from check_support import PKI, TRUST, imaging_letter, sent_by_pro01

from conformance.check import runner
from conformance.check.endings import SavedForm, saved_form
from conformance.cli import main
from conformance.core import mime

MB = 1024 * 1024
LF_ID = "<lf@osm-test.example>"


def _openssl_saved(message: bytes) -> bytes:
    """As `openssl cms -sign` saves it on Unix: LF, but for the signed content, in CRLF."""
    signed = mime.read(message).children[0]
    head, tail = message[: signed.offset], message[signed.end :]
    lf = b"\n"
    return head.replace(b"\r\n", lf) + signed.raw + tail.replace(b"\r\n", lf)


def test_a_large_file_saved_with_lf_is_checked_once_and_held_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Its CMS objects are base64, the same bytes in both forms: one check, of the CRLF form,
    with the file's bytes let go (it was checked twice, the file held beside its CRLF form,
    and copied twice more to make it)."""
    message = sent_by_pro01(
        "sign", imaging_letter(random.Random(2).randbytes(6 * MB)), LF_ID
    ).replace(b"\r\n", b"\n")
    path = tmp_path / "saved.eml"
    path.write_bytes(message)
    assert main(["check", str(path), "--json"]) == 0  # every module the check loads, loaded
    capsys.readouterr()
    held: list[int] = []
    check = runner.run_checks

    def measured(data: bytes, **options: Any) -> Any:
        held.append(tracemalloc.get_traced_memory()[0])
        return check(data, **options)

    monkeypatch.setattr(runner, "run_checks", measured)
    tracemalloc.start()
    try:
        assert main(["check", str(path), "--json"]) == 0
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(held) == 1
    assert held[0] < 1.25 * len(message)  # the CRLF form alone
    assert peak < 2.5 * len(message)  # the file and its CRLF form while it is made
    report = json.loads(capsys.readouterr().out)
    assert report["line_endings"] == {"saved": "LF", "checked": "CRLF", "verifies": "both"}


@pytest.mark.parametrize("operation", ["sign", "sign-encrypt"])
@pytest.mark.parametrize("saved", ["openssl", "dos2unix"])
def test_one_check_reports_what_checking_both_forms_reported(
    monkeypatch: pytest.MonkeyPatch, operation: str, saved: str
) -> None:
    message = sent_by_pro01(operation, imaging_letter(b"\x00DICM" * 100), LF_ID)
    if saved == "openssl" and operation == "sign":
        message = _openssl_saved(message)
    else:
        message = message.replace(b"\r\n", b"\n")
    assert saved_form(message) == SavedForm("LF", alike=True)
    options = {
        "identity_dir": PKI.identities["pro02"].directory,
        "trust": TRUST["trust"],
        "crls": TRUST["crls"],
    }
    once = runner.check_saved_file(message, **options)
    monkeypatch.setattr(runner, "saved_form", lambda data: replace(saved_form(data), alike=False))
    both = runner.check_saved_file(message, **options)
    assert once.verdict().status == "conformant"
    assert (once.to_json(), once.checks) == (both.to_json(), both.checks)


def _quoted_printable(der: bytes) -> bytes:
    """The DER in quoted-printable, its LF octets written as line breaks (hard ones: decoded
    as they are written, LF or CRLF), the rest encoded (a CR as =0D)."""
    return b"\n".join(
        binascii.b2a_qp(piece, quotetabs=True, istext=False) for piece in der.split(b"\n")
    )


def test_a_signature_part_whose_der_holds_line_breaks_is_checked_in_both_forms() -> None:
    """A quoted-printable DER whose LF octets are line breaks: the CRLF form decodes them as
    CRLF, another DER. Its signature verifies only as saved, found by checking the saved
    form apart."""
    message = sent_by_pro01("sign", b"Content-Type: text/plain\r\n\r\nCompte rendu.\r\n", LF_ID)
    signature = mime.read(message).children[1]
    der = signature.decoded()
    assert der is not None and b"\n" in der
    header = signature.header.replace(b"base64", b"quoted-printable").replace(b"\r\n", b"\n")
    head, tail = message[: signature.offset], message[signature.end :]
    saved = (
        head.replace(b"\r\n", b"\n") + header + b"\n" + _quoted_printable(der)
        + tail.replace(b"\r\n", b"\n")
    )  # fmt: skip
    assert saved_form(saved) == SavedForm("LF", alike=False)
    report = runner.check_saved_file(saved, trust=TRUST["trust"], crls=TRUST["crls"])
    assert report.line_endings == {"saved": "LF", "checked": "CRLF", "verifies": "saved"}
