"""A multipart/signed whose SignedData holds no SignerInfo claims a signature it does not
have: the receiver answers `malformed`, as `check` gives CMS-011 an ERROR.

Before: the receiver read it with no error at all (exit 0, no service), whatever it
required."""

from __future__ import annotations

import pytest
from check_support import AS_PRO02, TRUST, signed_letter

from conformance.check import run_checks
from conformance.fuzz.der_tree import Node
from conformance.fuzz.mutate import edit_cms
from conformance.smime.options import ReceiveOptions
from conformance.smime.receive import read_message
from conformance.status import ErrorCode


def _without_signers(root: Node) -> None:
    signed = root.children[1].children[0].children  # type: ignore[index]
    assert signed is not None and signed[-1].tag == b"\x31"  # signerInfos
    signed[-1].children = []


@pytest.mark.parametrize("require_signature", [False, True])
def test_a_multipart_signed_without_signer_is_malformed(require_signature: bool) -> None:
    message = edit_cms(signed_letter(), _without_signers)
    options = ReceiveOptions(require_signature=require_signature)
    content, status = read_message(message, keys=[], **{**AS_PRO02, "options": options})  # type: ignore[arg-type]
    assert content is None
    first = status.errors[0]  # what the exit code says (a required signature's no-signature after)
    assert (first.code, first.message) == (
        ErrorCode.MALFORMED,
        "part 2: the signature part's SignedData has no SignerInfo: no signature",
    )
    assert {e.code for e in status.errors} <= {ErrorCode.MALFORMED, ErrorCode.NO_SIGNATURE}
    report = run_checks(message, **TRUST)  # type: ignore[arg-type]
    assert [c.status for c in report.by_id("CMS-011")] == ["ERROR"]


def test_the_same_message_with_its_signer_is_read() -> None:
    content, status = read_message(signed_letter(), keys=[], **AS_PRO02)  # type: ignore[arg-type]
    assert status.errors == [] and status.signature_valid is True and content is not None
