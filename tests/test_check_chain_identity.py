"""CERT-001 builds the signer's path as the receiver does: with the certificates the message
carries and, given --identity, the CAs of the recipient's chain.pem. A message carrying only
the signer's certificate then passes where the receiver would; without --identity the report
says it could not check that path (no ERROR a receiver holding the CA would not share), and a
path that fails for every receiver (the unknown CA carried, its root no anchor) stays an ERROR."""

from __future__ import annotations

from check_support import signed_letter
from cryptography import x509

from conformance.check import CheckReport, run_checks
from conformance.check.model import Check
from conformance.pki.model import load_pki
from conformance.token.files import intermediates

PKI = load_pki()
TRUST = {"trust": PKI.trust_paths(), "crls": PKI.crl_paths()}


def _chain(report: CheckReport) -> Check:
    (check,) = report.by_id("CERT-001")
    return check


def test_the_recipients_chain_completes_a_path_the_message_leaves_short() -> None:
    alone = signed_letter("pro01", [])
    recipient = PKI.identities["pro02"].directory
    with_identity = _chain(run_checks(alone, identity_dir=recipient, **TRUST))  # type: ignore[arg-type]
    assert (with_identity.status, with_identity.checked) == ("SUCCESS", True), with_identity

    without = run_checks(alone, **TRUST)  # type: ignore[arg-type]
    check = _chain(without)
    assert (check.status, check.checked) == ("INFO", False), check
    assert "TEST AC Professionnels de sant" in check.found
    assert "neither in the message nor among the trust anchors" in check.found
    assert check.found_fr is not None and "--identity DIR" in check.found_fr
    assert without.verdict().status == "incomplete" and "CERT-001" in without.verdict().unchecked


def test_a_full_chain_needs_no_identity() -> None:
    carried = signed_letter("pro01", [PKI.intermediate])
    assert _chain(run_checks(carried, **TRUST)).status == "SUCCESS"  # type: ignore[arg-type]


def test_a_path_to_an_unknown_root_is_an_error_with_or_without_identity() -> None:
    """The message carries the unknown CA (with its self-signed root, as `openssl cms -sign
    -certfile chain.pem` does, or without it): the signer's issuer is at hand, and the path
    up from it ends at a root no anchor is, for every receiver."""
    directory = PKI.identities["defect-unknown-root"].directory
    whole = x509.load_pem_x509_certificates((directory / "chain.pem").read_bytes())
    recipient = PKI.identities["pro02"].directory
    for carried in (whole, intermediates(directory)):
        message = signed_letter("defect-unknown-root", carried)
        for identity in (None, recipient):
            report = run_checks(message, identity_dir=identity, **TRUST)  # type: ignore[arg-type]
            check = _chain(report)
            assert (check.status, check.checked) == ("ERROR", True), (len(carried), check)
