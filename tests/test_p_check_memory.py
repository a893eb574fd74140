"""`check` on an imaging-size message holds it about once (issue 21): the validator reads
the signed content, the header lines it shows and the HPRIM sniffing in place, and decrypts a
large EnvelopedData as the receiver does, through a spool, with the same findings."""

from __future__ import annotations

import base64
import random
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from check_support import HEADER, PKI, TRUST, base64_crlf, imaging_letter, sent_by_pro01

from conformance.check import context as check_context
from conformance.check import layers
from conformance.check.catalogue import rule_ids
from conformance.check.context import Context, build_context
from conformance.check.model import CheckReport
from conformance.check.policy import DEFAULT_POLICY, load_policy
from conformance.check.rules.headers import ascii_headers
from conformance.check.rules.payload import hprim_parts
from conformance.check.runner import check_message
from conformance.core.spool import Region
from conformance.smime import cms_read
from conformance.smime.options import Limits

MB = 1024 * 1024
ATTACHMENT = 6 * MB  # decoded: the DER of its sign-encrypt message is over 4 MiB (spooled)
NOW = datetime(2026, 12, 5, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def attachment() -> bytes:
    return random.Random(21).randbytes(ATTACHMENT)


def _context(message: bytes, identity: bool = False) -> Context:
    return build_context(
        message,
        policy=load_policy(DEFAULT_POLICY, rule_ids()),
        identity_dir=PKI.identities["pro02"].directory if identity else None,
        expected_sender=None,
        expected_recipient=None,
        **TRUST,  # type: ignore[arg-type]
    )


def _peak(work: Callable[[], object]) -> int:
    """The most bytes `work` held at once beyond what was held before it (tracemalloc)."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        work()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def test_the_signed_content_is_hashed_where_it_lies(attachment: bytes) -> None:
    message = sent_by_pro01("sign", imaging_letter(attachment))
    context = _context(message)
    (layer,) = context.layers
    assert layer.signed is not None and layer.signed.signers[0].signature_ok
    content = layer.signed.content
    assert isinstance(content, memoryview) and content.obj is context.message


def test_hprim_sniffing_copies_no_attachment(attachment: bytes) -> None:
    context = _context(HEADER + imaging_letter(b" \r\n" + attachment))  # bytes.lstrip() would strip
    for node in context.nodes:
        node.defects()  # what the rules before it read (the decoding's size and defect)
    found: list[Any] = []
    assert _peak(lambda: found.extend(hprim_parts(context))) < MB
    assert found == []
    hprim = imaging_letter(b" \r\n\tH|^~\\&|\r\n", b"Content-Type: text/plain\r\n")
    assert [n.path for n, _ in hprim_parts(_context(HEADER + hprim))] == ["1.2"]


def test_a_bad_header_line_is_shown_without_copying_the_body(attachment: bytes) -> None:
    part_header = b"Content-Type: application/dicom\r\nX-Note: \x1b[31m\r\n"
    context = _context(HEADER + imaging_letter(attachment, part_header))
    for node in context.nodes:
        node.defects()  # what the reader computes once, for every rule
    outcomes: list[Any] = []
    assert _peak(lambda: outcomes.extend(ascii_headers(context))) < MB
    (bad,) = [o for o in outcomes if not o.passed]
    assert bad.part == "1.2" and bad.found.en.endswith(": X-Note: \\x1b[31m")


@pytest.fixture
def fixed_now(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same `now` for every check (the certificate rules show it)."""

    class _Clock(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return NOW

    monkeypatch.setattr(check_context, "datetime", _Clock)


def test_a_large_envelope_is_decrypted_through_a_spool_with_the_same_findings(
    attachment: bytes, monkeypatch: pytest.MonkeyPatch, fixed_now: None
) -> None:
    message = sent_by_pro01("sign-encrypt", imaging_letter(attachment))
    given: list[Region | None] = []
    decrypt = cms_read.decrypt_enveloped

    def recorded(*args: Any, **kwargs: Any) -> cms_read.Decrypted:
        given.append(kwargs.get("large"))
        return decrypt(*args, **kwargs)

    def checked() -> CheckReport:
        identity = PKI.identities["pro02"].directory
        return check_message(message, identity_dir=identity, **TRUST).report  # type: ignore[arg-type]

    monkeypatch.setattr(cms_read, "decrypt_enveloped", recorded)
    spooled_peak = _peak(lambda: _context(message, identity=True))
    spooled = checked()
    assert given and all(isinstance(r, Region) for r in given)
    assert spooled.verdict().status == "conformant"
    monkeypatch.setattr(layers, "RECEIVER_LIMITS", Limits(spool_above_bytes=1 << 40))  # as before
    given.clear()
    in_memory_peak = _peak(lambda: _context(message, identity=True))
    in_memory = checked()
    assert given and all(r is None for r in given)
    assert (spooled.to_json(), spooled.checks) == (in_memory.to_json(), in_memory.checks)
    # The ciphertext is not held beside the plaintext (nor a second plaintext, its padding
    # taken off): at least half the attachment less, whatever else the reading holds.
    assert in_memory_peak - spooled_peak > ATTACHMENT // 2


def _with_der(message: bytes, change: Callable[[bytes], bytes]) -> bytes:
    """The pkcs7-mime message with its DER changed (its header block kept)."""
    head, _, body = message.partition(b"\r\n\r\n")
    return head + b"\r\n\r\n" + base64_crlf(change(base64.b64decode(body)))


@pytest.mark.parametrize(
    "change",
    [
        lambda der: der[:-1] + bytes([der[-1] ^ 1]),  # the last block: its padding is bad
        lambda der: der[:-1000],  # cut short: the structure does not read
        lambda der: der + b"\x00" * 5,  # octets after the ContentInfo
    ],
    ids=["bad-padding", "truncated", "trailing"],
)
def test_a_large_envelope_is_judged_in_the_same_words_spooled_or_not(
    attachment: bytes,
    monkeypatch: pytest.MonkeyPatch,
    fixed_now: None,
    change: Callable[[bytes], bytes],
) -> None:
    message = _with_der(sent_by_pro01("sign-encrypt", imaging_letter(attachment)), change)
    identity = PKI.identities["pro02"].directory
    spooled = check_message(message, identity_dir=identity, **TRUST).report  # type: ignore[arg-type]
    monkeypatch.setattr(layers, "RECEIVER_LIMITS", Limits(spool_above_bytes=1 << 40))
    in_memory = check_message(message, identity_dir=identity, **TRUST).report  # type: ignore[arg-type]
    assert spooled.verdict().status == "non-conformant"
    assert (spooled.to_json(), spooled.checks) == (in_memory.to_json(), in_memory.checks)


def test_checking_a_large_signed_message_holds_little_beside_it(attachment: bytes) -> None:
    """The attachment is never held decoded: the rules read its size, its defects and its
    first octets a piece at a time (it was held decoded, and twice while it was joined)."""
    message = sent_by_pro01("sign", imaging_letter(attachment))
    assert _peak(lambda: check_message(message, **TRUST)) < ATTACHMENT  # type: ignore[arg-type]


def test_checking_a_large_sign_encrypt_message_holds_its_plaintext_once(
    attachment: bytes,
) -> None:
    """Beside the message, the decrypted content once (the inner tree reads it in memory;
    0.73 times the message) and a few chunks: neither the outer DER (written to the spool,
    then let go) nor the decoded attachment is kept for the rules, which read their sizes and
    defects (all three were held, 2.5 times the message)."""
    message = sent_by_pro01("sign-encrypt", imaging_letter(attachment))
    identity = PKI.identities["pro02"].directory
    reports: list[CheckReport] = []

    def checked() -> None:
        reports.append(check_message(message, identity_dir=identity, **TRUST).report)  # type: ignore[arg-type]

    assert _peak(checked) < 1.5 * len(message)
    assert reports[0].verdict().status == "conformant"
