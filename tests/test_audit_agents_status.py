"""A status file an adapter wrote in another encoding than UTF-8 is named as such, with
the byte where it stops being UTF-8: not "not JSON at line 1 column 1".

RFC 8259 8.1: JSON exchanged between systems is UTF-8, without a byte order mark.
"""

from __future__ import annotations

import json

import pytest

from conformance.status import Status

GOOD = json.dumps(
    {"signed": True, "signature_valid": True, "chain_valid": True, "errors": []},
    ensure_ascii=False,
)
LATIN = GOOD.replace('"errors": []', '"errors": [{"code": "malformed", "message": "invalidé"}]')


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (GOOD.encode("utf-16"), "status: not UTF-8 text (invalid start byte at byte 0)"),
        (GOOD.encode("utf-32"), "status: not UTF-8 text (invalid start byte at byte 0)"),
        (GOOD.encode("utf-16-le"), "status: not UTF-8 text (a NUL byte at byte 1: UTF-16 or"),
        (
            LATIN.encode("cp1252"),
            f"status: not UTF-8 text (invalid continuation byte at byte {LATIN.index('é')})",
        ),
        (GOOD.encode("utf-8-sig"), "status: starts with a byte order mark"),
    ],
)
def test_a_status_not_in_utf8_says_so_and_where(data: bytes, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        Status.loads(data)
    assert message in str(caught.value)


def test_a_utf8_status_still_reads() -> None:
    status = Status.loads(LATIN.encode("utf-8"))
    assert status.signed and [e.message for e in status.errors] == ["invalidé"]
    assert Status.loads(GOOD).signature_valid  # a str too
