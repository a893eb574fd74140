"""An RSA signature value not as long as the modulus is refused, and both readers say so.

RFC 8017 8.2.2 step 1 refuses such a signature before any arithmetic. A writer that takes
the value for a signed integer writes it one octet longer, a leading zero, whenever its top
bit is set (gpgsm with its keys on a PKCS#11 card: tests/test_gpgsm_card.py); one that
drops leading zeros writes it shorter. The receiver and `check` both name the length, so a
vendor is told what to mend rather than that the arithmetic failed.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from check_support import AS_PRO02, checked, failures, signed_letter

from conformance.fuzz.der_tree import Node
from conformance.fuzz.mutate import edit_cms
from conformance.smime.receive import read_message
from conformance.status import ErrorCode


def _signature_edit(change: Callable[[bytes], bytes]) -> Callable[[Node], None]:
    def edit(root: Node) -> None:
        signed = root.children[1].children[0].children  # type: ignore[index]
        assert signed is not None
        signer = (signed[-1].children or [])[0].children  # the first SignerInfo
        assert signer is not None
        value = next(f for f in signer if f.tag == b"\x04")  # its signature OCTET STRING
        value.value = change(value.value)

    return edit


@pytest.mark.parametrize(
    ("change", "said_en", "said_fr"),
    [
        (
            lambda s: b"\x00" + s,
            "257 octets with a leading zero octet, not the 256 of the key's modulus",
            "257 octets dont un zéro en tête, et non les 256 du module de la clé",
        ),
        (
            lambda s: s[1:],
            "255 octets, not the 256 of the key's modulus",
            "255 octets, et non les 256 du module de la clé",
        ),
    ],
    ids=["leading-zero", "one-short"],
)
def test_a_signature_of_another_length_is_refused_naming_it(
    change: Callable[[bytes], bytes], said_en: str, said_fr: str
) -> None:
    message = edit_cms(signed_letter(), _signature_edit(change))
    _, status = read_message(message, keys=[], **AS_PRO02)  # type: ignore[arg-type]
    assert status.signature_valid is False
    assert [e.code for e in status.errors] == [ErrorCode.BAD_SIGNATURE]
    assert f"{said_en} (RFC 8017 8.2.2 step 1)" in status.errors[0].message
    (found,) = failures(checked(message), "CMS-009")
    assert found.status == "ERROR"
    assert said_en in found.found and found.found_fr is not None and said_fr in found.found_fr


def test_a_signature_of_the_right_length_that_fails_says_only_that() -> None:
    flipped = _signature_edit(lambda s: s[:-1] + bytes([s[-1] ^ 1]))
    message = edit_cms(signed_letter(), flipped)
    _, status = read_message(message, keys=[], **AS_PRO02)  # type: ignore[arg-type]
    assert [e.code for e in status.errors] == [ErrorCode.BAD_SIGNATURE]
    assert "octets" not in status.errors[0].message
    (found,) = failures(checked(message), "CMS-009")
    assert found.found == "signer 1: the signature does not verify with the signer's key"
