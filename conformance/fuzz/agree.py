"""Whether the validator and the receiver tell the same story about one message.

The notion of tests/test_check_receive_agree.py (which holds it on a fixed
corpus), read on any input: the validator's rules read as one verdict
(`checked`): the signature is valid when every CMS-009 check succeeds and
no message-digest (CMS-004) or content-type attribute (CMS-005) check fails
(the receiver's bad-signature covers both: a mutated content leaves the
signature over the signed attributes valid; the fixed corpus never needed
them); the chain is valid when the signer's path (CERT-001), validity (CERT-002),
revocation (CERT-003), extended key usage (CERT-006) and key size (CERT-010)
all succeed on the signed parts; revoked is a CERT-003 failure saying so;
decrypted is every ENC-004 check succeeding. The receiver's status gives the
same four facts (`received`).

On a hostile input one side often stops before judging what the other judged
(a malformed header ends the receiver's reading; a CMS the validator cannot
parse leaves its signature unjudged; a rule that could not judge, INFO, such
as CERT-003 without the CRL of a damaged issuer name, judges neither way),
so only facts both sides judged are
compared (`disagreement`): a signature, chain or revocation verdict both
gave, differing (a receiver that refuses an algorithm by its policy,
`unsupported-algorithm`, gave no signature verdict: the policy's business,
as in that test); a decryption one side made while the other says it could
not; and a message the receiver refuses as malformed while the validator
finds no ERROR in it (it calls the message conformant, or incomplete).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from conformance.check.model import Check, CheckReport
from conformance.status import ErrorCode, Status

__all__ = ["Reading", "checked", "disagreement", "received"]

CHAIN_RULES = ("CERT-001", "CERT-002", "CERT-003", "CERT-006", "CERT-010")
SIGNED_ATTRIBUTE_RULES = ("CMS-004", "CMS-005")


@dataclass(frozen=True)
class Reading:
    """None: not judged (a receiver that stopped before, a rule that could not judge)."""

    signature_valid: bool | None
    chain_valid: bool | None
    revoked: bool
    decrypted: bool | None


def received(status: Status) -> Reading:
    """The receiver's four facts."""
    return Reading(
        status.signature_valid,
        status.chain_valid,
        any(e.code == ErrorCode.REVOKED_SIGNER for e in status.errors),
        status.decrypted,
    )


def _verdict(checks: Sequence[Check], also_failing: Sequence[Check] = ()) -> bool | None:
    """False when one fails (ERROR, WARNING), True when all succeed, else None: a rule
    that could not judge (INFO: a CRL missing, say) leaves the fact unjudged."""
    if any(c.status in ("ERROR", "WARNING") for c in [*checks, *also_failing]):
        return False
    return True if all(c.status == "SUCCESS" for c in checks) else None


def checked(report: CheckReport) -> Reading:
    """The validator's rules read as the same four facts."""
    signatures = report.by_id("CMS-009")
    signed_parts = {c.part for c in signatures}

    def on_signed(rule_id: str) -> list[Check]:
        return [c for c in report.by_id(rule_id) if c.part in signed_parts]

    attributes = [c for r in SIGNED_ATTRIBUTE_RULES for c in report.by_id(r)]
    signature_valid = _verdict(signatures, attributes) if signatures else None
    chain_valid: bool | None = None
    if signature_valid and report.by_id("CERT-001"):
        chain_valid = _verdict([c for r in CHAIN_RULES for c in on_signed(r)])
    revoked = any(
        c.status not in ("SUCCESS", "INFO") and " revoked " in c.found
        for c in on_signed("CERT-003")
    )
    decryptions = report.by_id("ENC-004")
    return Reading(
        signature_valid, chain_valid, revoked, _verdict(decryptions) if decryptions else False
    )


def disagreement(status: Status, report: CheckReport) -> str | None:
    """What the two sides contradict each other on, in one line; None when they agree."""
    mine, theirs = received(status), checked(report)
    codes = {e.code for e in status.errors}
    if ErrorCode.UNSUPPORTED_ALGORITHM in codes:
        mine = replace(mine, signature_valid=None, chain_valid=None)
    found: list[str] = []
    for name in ("signature_valid", "chain_valid"):
        said, judged = getattr(mine, name), getattr(theirs, name)
        if said is not None and judged is not None and said != judged:
            found.append(f"{name}: receive {said}, check {judged}")
    both_judged_chain = mine.chain_valid is not None and theirs.chain_valid is not None
    if both_judged_chain and mine.revoked != theirs.revoked:
        found.append(f"revoked: receive {mine.revoked}, check {theirs.revoked}")
    if mine.decrypted and theirs.decrypted is False:
        found.append("receive decrypted, check did not (ENC-004)")
    if theirs.decrypted and ErrorCode.CANNOT_DECRYPT in codes:
        found.append("check decrypted (ENC-004), receive says cannot-decrypt")
    if ErrorCode.MALFORMED in codes and not report.errors:
        first = next(e.message for e in status.errors if e.code == ErrorCode.MALFORMED)
        found.append(
            f"receive says malformed ({first}), check finds no ERROR ({report.verdict().status})"
        )
    return "; ".join(found) or None
