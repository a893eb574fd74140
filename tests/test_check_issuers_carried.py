"""CERT-013: a signed message carries its signer's issuing CAs up to a trust anchor (RFC 8550
2.3: a sending agent SHOULD include them). A message carrying none is a WARNING naming the
missing issuer, with or without --identity (CERT-001 passes with it: the receiver holding
that CA is no reason for the sender to leave it out); the full chain passes, as does a
signer issued by an anchor; a root above the CAs carried is not asked for; without trust
anchors the rule is not checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from check_support import signed_letter
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from conformance.check import CheckReport, run_checks
from conformance.check.catalogue import rule_ids
from conformance.check.model import Check
from conformance.check.policy import load_policy
from conformance.pki.model import load_pki

PKI = load_pki()
TRUST: dict[str, Any] = {"trust": PKI.trust_paths(), "crls": PKI.crl_paths()}
ISSUER = "TEST AC Professionnels de sant"


def _carried(report: CheckReport) -> Check:
    (check,) = report.by_id("CERT-013")
    return check


def test_a_message_carrying_none_of_its_cas_is_warned_naming_the_issuer() -> None:
    alone = signed_letter("pro01", [])
    recipient = PKI.identities["pro02"].directory
    for identity in (None, recipient):
        report = run_checks(alone, identity_dir=identity, **TRUST)
        check = _carried(report)
        assert (check.status, check.checked) == ("WARNING", True), (identity, check)
        assert f"the issuing CA Common Name: {ISSUER}" in check.found
        assert (
            check.found_fr is not None and f"l'AC émettrice Common Name: {ISSUER}" in check.found_fr
        )
    # With the recipient's CAs the path is built, as the receiver builds it: only the warning.
    verdict = report.verdict()
    assert report.by_id("CERT-001")[0].status == "SUCCESS"
    assert (verdict.status, verdict.errors, verdict.warnings) == ("conformant", 0, 1)


def test_the_whole_chain_carried_passes() -> None:
    check = _carried(run_checks(signed_letter("pro01", [PKI.intermediate]), **TRUST))
    assert check.status == "SUCCESS" and check.found.startswith("1 issuing CA(s) in the message")


def test_a_signer_issued_by_an_anchor_needs_carry_nothing(tmp_path: Path) -> None:
    """The intermediate given as the trust anchor: the chain up to it is the signer alone."""
    anchor = tmp_path / "intermediate.pem"
    anchor.write_bytes(PKI.intermediate.public_bytes(serialization.Encoding.PEM))
    check = _carried(run_checks(signed_letter("pro01", []), trust=[anchor]))
    assert check.status == "SUCCESS" and check.found.startswith("0 issuing CA(s)")


def test_a_root_above_the_cas_carried_is_not_asked_for(tmp_path: Path) -> None:
    """Another root given as the only anchor: the sender's own root, above the CA it carries,
    may be what its receivers trust; CERT-001 says the path fails, this rule has no more."""
    other = PKI.identities["defect-unknown-root"].directory / "chain.pem"
    roots = [
        c for c in x509.load_pem_x509_certificates(other.read_bytes()) if c.issuer == c.subject
    ]
    anchor = tmp_path / "other-root.pem"
    anchor.write_bytes(roots[0].public_bytes(serialization.Encoding.PEM))
    report = run_checks(signed_letter("pro01", [PKI.intermediate]), trust=[anchor])
    check = _carried(report)
    assert check.status == "SUCCESS" and "the receiver must hold it" in check.found
    assert report.by_id("CERT-001")[0].status == "ERROR"


def test_without_trust_anchors_it_is_not_checked() -> None:
    check = _carried(run_checks(signed_letter("pro01", [])))
    assert (check.status, check.checked) == ("INFO", False)


def test_both_policies_make_it_a_warning() -> None:
    for policy in ("osm-2008", "modern"):
        assert load_policy(policy, rule_ids()).severity("CERT-013") == "WARNING"
