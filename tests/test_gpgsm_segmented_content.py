"""gpgsm's padding error on a segmented encryptedContent is told for what it is, stably.

Go's pkcs7 writes the encryptedContent as a constructed [0] (one BER OCTET STRING
segment) inside an EncryptedContentInfo of definite length: legitimate BER, read
by OpenSSL and NSS. gpgsm 2.2.40 (libksba 1.6.3) reads segments only when the
EncryptedContentInfo has an indefinite length; otherwise it decrypts the [0]'s
contents whole, segment headers included, and fails with "invalid padding with
value N", N a garbled byte that changes at every run. The agent now says which
encoding gpgsm misread, and leaves the random value out of every reason. The same
envelope with only its EncryptedContentInfo made indefinite decrypts: the encoding
is the cause, not the key or the recipient info.
"""

from __future__ import annotations

import os
import random
import shutil
from collections.abc import Iterator

import pytest
from asn1crypto import parser

from conformance.agents import mime_wrap
from conformance.agents.base import ReceiveRequest, SendRequest
from conformance.agents.go_pkcs7 import PROGRAM, GoPkcs7Agent
from conformance.agents.gpgsm import (
    BAD_PADDING,
    SEGMENTED_CONTENT,
    GpgsmAgent,
    _segmented_in_definite,
)
from conformance.pki import TestPKI, load_pki
from conformance.smime.cms_build import build_enveloped_data
from conformance.smime.der import tlv
from conformance.smime.options import EncryptOptions
from conformance.status import ErrorCode, Status

CONTENT = b"Content-Type: text/plain; charset=utf-8\r\n\r\nCompte rendu: normal.\r\n"
needs_gpgsm = pytest.mark.skipif(shutil.which("gpgsm") is None, reason="gpgsm is not installed")
needs_go = pytest.mark.skipif(
    not os.access(PROGRAM, os.X_OK), reason="Go pkcs7 harness not built: make -C harnesses/go-pkcs7"
)


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return load_pki()


@pytest.fixture(scope="module")
def envelope(pki: TestPKI) -> bytes:
    """The suite's DER EnvelopedData to pro02 (PKCS#1 v1.5, primitive [0], definite
    lengths), its content key and IV fixed: what gpgsm makes of a garbled block is then the
    same at every run (by chance it could even be valid padding)."""
    return build_enveloped_data(
        CONTENT,
        [pki.identity("pro02").certificate("encrypt")],
        EncryptOptions(key_transport="rsa-pkcs1v15"),
        random.Random(2008).randbytes,
    )


@pytest.fixture(scope="module")
def gpgsm(tmp_path_factory: pytest.TempPathFactory, pki: TestPKI) -> Iterator[GpgsmAgent]:
    agent = GpgsmAgent(workdir=tmp_path_factory.mktemp("gpgsm"))
    agent.prepare(pki.identity("pro02").party())
    try:
        yield agent
    finally:
        agent.close()


def _split(data: bytes) -> list[bytes]:
    found = []
    while data:
        _, _, _, header, contents, trailer = parser.parse(data)
        found.append(data[: len(header) + len(contents) + len(trailer)])
        data = data[len(found[-1]) :]
    return found


def _contents(element: bytes) -> bytes:
    return bytes(parser.parse(element)[4])


def reencoded(der: bytes, *, segmented: bool, indefinite_info: bool, garble: bool = False) -> bytes:
    """`der` with its encryptedContent primitive or in two segments, its
    EncryptedContentInfo of definite or indefinite length; `garble` flips the top bit of
    the last plaintext byte (the padding) through the previous ciphertext block."""
    content_type, explicit = _split(_contents(der))
    version, recipients, info = _split(_contents(_contents(explicit)))
    info_type, cipher, encrypted = _split(_contents(info))
    ciphertext = bytearray(_contents(encrypted))
    if garble:
        ciphertext[-17] ^= 0x80
    data = bytes(ciphertext)
    content = (
        tlv(0xA0, tlv(0x04, data[:32]), tlv(0x04, data[32:])) if segmented else tlv(0x80, data)
    )
    fields = info_type + cipher + content
    info = b"\x30\x80" + fields + b"\x00\x00" if indefinite_info else tlv(0x30, fields)
    return tlv(0x30, content_type, tlv(0xA0, tlv(0x30, version, recipients, info)))


def test_only_segments_in_a_definite_info_are_named(envelope: bytes) -> None:
    assert reencoded(envelope, segmented=False, indefinite_info=False) == envelope
    assert _segmented_in_definite(reencoded(envelope, segmented=True, indefinite_info=False))
    assert not _segmented_in_definite(reencoded(envelope, segmented=True, indefinite_info=True))
    assert not _segmented_in_definite(envelope)
    assert not _segmented_in_definite(envelope[:40])  # unreadable: nothing claimed
    assert not _segmented_in_definite(None)


def _read(gpgsm: GpgsmAgent, pki: TestPKI, cms: bytes) -> Status:
    message = mime_wrap.wrap_cms(cms, "enveloped-data")
    request = ReceiveRequest(message, pki.identity("pro02").party(), pki.trust_paths(), ())
    return gpgsm.receive(request).status


@pytest.mark.engines
@needs_gpgsm
def test_segments_in_a_definite_info_read_as_that_encoding(
    gpgsm: GpgsmAgent, pki: TestPKI, envelope: bytes
) -> None:
    status = _read(gpgsm, pki, reencoded(envelope, segmented=True, indefinite_info=False))
    assert [e.code for e in status.errors] == [ErrorCode.CANNOT_DECRYPT]
    said = status.errors[0].message
    assert SEGMENTED_CONTENT in said and BAD_PADDING in said, said
    assert "padding" not in said.replace(BAD_PADDING, ""), said  # gpgsm's varying words


@pytest.mark.engines
@needs_gpgsm
def test_the_same_segments_in_an_indefinite_info_decrypt(
    gpgsm: GpgsmAgent, pki: TestPKI, envelope: bytes
) -> None:
    status = _read(gpgsm, pki, reencoded(envelope, segmented=True, indefinite_info=True))
    assert status.errors == [] and status.decrypted, status.errors


@pytest.mark.engines
@needs_gpgsm
def test_a_padding_error_of_another_cause_is_stable_and_names_no_encoding(
    gpgsm: GpgsmAgent, pki: TestPKI, envelope: bytes
) -> None:
    garbled = reencoded(envelope, segmented=False, indefinite_info=False, garble=True)
    status = _read(gpgsm, pki, garbled)
    assert [e.code for e in status.errors] == [ErrorCode.CANNOT_DECRYPT]
    said = status.errors[0].message
    assert BAD_PADDING in said and SEGMENTED_CONTENT not in said, said
    assert "padding" not in said.replace(BAD_PADDING, ""), said  # gpgsm's varying words


@pytest.mark.engines
@needs_gpgsm
@needs_go
def test_go_pkcs7_envelopes_fail_at_gpgsm_with_one_reason(
    gpgsm: GpgsmAgent, pki: TestPKI, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Go draws a new content key each time, so gpgsm's padding words differ; once in about
    256 the garbled block even ends in valid padding and gpgsm "decrypts" garbage."""
    go = GoPkcs7Agent(workdir=tmp_path_factory.mktemp("go"))
    try:
        to = pki.identity("pro02")
        reasons = set()
        for _ in range(3):
            sent = go.send(
                SendRequest(
                    "encrypt",
                    CONTENT,
                    pki.identity("pro01").party(),
                    (to.certificate("encrypt"),),
                    (to.email,),
                )
            )
            assert sent.message is not None, (sent.error, sent.reason)
            request = ReceiveRequest(sent.message, to.party(), pki.trust_paths(), ())
            reception = gpgsm.receive(request)
            if not reception.status.errors:
                assert reception.content != CONTENT
                continue
            assert [e.code for e in reception.status.errors] == [ErrorCode.CANNOT_DECRYPT]
            reasons.add(reception.status.errors[0].message)
    finally:
        go.close()
    assert len(reasons) == 1, reasons
    assert SEGMENTED_CONTENT in reasons.pop()
