"""The matrix counts a message's ERRORs as its non-conformance, but not an Apicrypt-model
message's lack of an S/MIME layer (SMIME-012): that format has none by design."""

from __future__ import annotations

from conformance.check.runner import check_message
from conformance.matrix.evidence import nonconformant
from conformance.paths import VECTORS_DIR

GOLDEN = VECTORS_DIR / "golden"


def test_an_apicrypt_message_is_not_counted_for_lacking_smime() -> None:
    message = (GOLDEN / "apimail-apicrypt" / "encrypt.eml").read_bytes()
    report = check_message(message).report
    assert "SMIME-012" in [c.id for c in report.errors]  # the validator says it
    (said,) = [c for c in report.errors if c.id == "SMIME-012"]
    assert said.found.endswith(
        "a message of the suite's Apicrypt model (docs/apicrypt-model.md),"
        " protected in its own format, through its relay"
    )
    assert said.found_fr is not None and "modèle d'Apicrypt" in said.found_fr
    assert "SMIME-012" not in nonconformant(report, apicrypt=True)  # the matrix does not count it


def test_a_plain_message_is_counted_for_lacking_smime() -> None:
    message = (
        b"From: a@b.example\r\nTo: c@d.example\r\nDate: Tue, 15 Jul 2025 10:00:00 +0200\r\n"
        b"Message-ID: <a@b.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n"
        b"hello\r\n"
    )
    report = check_message(message).report
    assert "SMIME-012" in nonconformant(report, apicrypt=False)
    assert "Apicrypt" not in next(c.found for c in report.errors if c.id == "SMIME-012")
