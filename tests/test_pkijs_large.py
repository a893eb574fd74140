"""PKI.js on a message over its size limits: `too-large`, never `malformed`.

PKI.js's `ContentInfo.fromBER` parses with asn1js's defaults, which refuse an element
longer than 16 MiB (an imaging attachment of 12 MB encrypted by openssl, NSS or the
reference) or a tree of more than 10,000 elements (BouncyCastle's content in 1,000-byte
pieces, from 3 MB on); PKI.js then says only "Data is not correct for 'ContentInfo'". The
harness keeps asn1js's reason, and the agent reports the receiver's size limit. A failure
of the harness itself is the suite's `internal` error, not PKI.js's verdict.
"""

from __future__ import annotations

import base64
import os
import shutil
from pathlib import Path

import pytest
import test_pkijs
from test_pkijs import OAEP, encryption_cert, party, request

from conformance.agents.base import SendRequest
from conformance.agents.openssl import OpenSSLAgent
from conformance.agents.pkijs import PkijsAgent
from conformance.agents.tools import ENGINE_MODE_ENV, ToolRun
from conformance.status import ErrorCode

MAX_CONTENT_LENGTH = 16 * 1024 * 1024  # asn1js 4's DEFAULT_MAX_CONTENT_LENGTH
MAX_NODES = 10_000  # asn1js 4's DEFAULT_MAX_NODES
OIDS = {"enveloped-data": "2a864886f70d010703", "signed-data": "2a864886f70d010702"}

pytestmark = test_pkijs.pytestmark  # node and PKI.js installed
pkijs = test_pkijs.pkijs  # the agent, one per module


def tlv(tag: int, body: bytes) -> bytes:
    """One DER element (definite length)."""
    size = len(body)
    if size < 0x80:
        return bytes([tag, size]) + body
    octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(octets)]) + octets + body


def smime(kind: str, cms: bytes) -> bytes:
    """An application/pkcs7-mime message around `cms`."""
    return (
        f"Content-Type: application/pkcs7-mime; smime-type={kind}\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n"
    ).encode() + base64.encodebytes(cms).replace(b"\n", b"\r\n")


def long_element(kind: str) -> bytes:
    """A ContentInfo holding one OCTET STRING just over asn1js's content-length limit."""
    content = tlv(0xA0, tlv(0x30, tlv(0x04, bytes(MAX_CONTENT_LENGTH + 1))))
    return tlv(0x30, tlv(0x06, bytes.fromhex(OIDS[kind])) + content)


def in_pieces(kind: str, pieces: int) -> bytes:
    """A BER ContentInfo whose content is a constructed OCTET STRING of 1,000-byte pieces,
    indefinite lengths (as BouncyCastle streams it)."""
    body = tlv(0x04, bytes(1000)) * pieces
    content = b"\xa0\x80\x24\x80" + body + b"\x00\x00\x00\x00"
    return b"\x30\x80" + tlv(0x06, bytes.fromhex(OIDS[kind])) + content + b"\x00\x00"


@pytest.mark.parametrize("mode", ["harness", "cli"])
@pytest.mark.parametrize("kind", ["enveloped-data", "signed-data"])
def test_element_over_the_content_length_limit_is_too_large(
    kind: str, mode: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENGINE_MODE_ENV, mode)
    with PkijsAgent(workdir=tmp_path) as agent:
        status = agent.receive(request(smime(kind, long_element(kind)))).status
    err = status.primary_error()
    assert err is not None and err.code == ErrorCode.TOO_LARGE, (kind, err)
    assert f"an element longer than {MAX_CONTENT_LENGTH} bytes" in err.message
    assert "Maximum ASN.1 content length exceeded" in err.message  # asn1js's own words
    assert [e.code for e in status.errors] == [ErrorCode.TOO_LARGE]


@pytest.mark.parametrize("kind", ["enveloped-data", "signed-data"])
def test_content_in_more_pieces_than_asn1js_counts_is_too_large(
    pkijs: PkijsAgent, kind: str
) -> None:
    err = pkijs.receive(request(smime(kind, in_pieces(kind, MAX_NODES)))).status.primary_error()
    assert err is not None and err.code == ErrorCode.TOO_LARGE, (kind, err)
    assert f"more than {MAX_NODES} ASN.1 elements" in err.message
    assert "Maximum ASN.1 node count exceeded" in err.message


def test_openssl_message_over_16_mib_is_too_large_not_malformed(
    pkijs: PkijsAgent, tmp_path: Path
) -> None:
    """A well-formed EnvelopedData that PKI.js reads below the limit (OAEP, AES-256-CBC)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    attachment = base64.encodebytes(os.urandom(MAX_CONTENT_LENGTH * 3 // 4 + 4096))
    content = (
        b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + attachment.replace(b"\n", b"\r\n")
    )
    recipient = (encryption_cert("pro02"),)
    with OpenSSLAgent(OAEP, tmp_path) as openssl:
        sent = openssl.send(
            SendRequest("encrypt", content, party("pro01"), recipient, (party("pro02").email,))
        )
    assert sent.message is not None, sent.reason
    err = pkijs.receive(request(sent.message)).status.primary_error()
    assert err is not None and err.code == ErrorCode.TOO_LARGE, err
    assert "over what PKI.js" in err.message and "asn1js maxContentLength" in err.message


@pytest.mark.parametrize("kind", ["enveloped-data", "signed-data"])
@pytest.mark.parametrize(
    ("exit", "said"),
    [
        (3, "internal: TypeError: Cannot read properties of undefined (at f (osm-pkijs.mjs:1:1))"),
        (2, "osm-pkijs: unknown option --bogus"),
        (-9, ""),
    ],
)
def test_a_harness_failure_is_internal_not_a_verdict_on_pkijs(
    pkijs: PkijsAgent, kind: str, exit: int, said: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exit 1 is PKI.js's refusal; any other exit is the harness's own failure (an `error`
    cell), not `cannot-decrypt` or `malformed` blamed on PKI.js."""

    def broken(args: list[str | Path], ev: object, stdin: bytes = b"") -> ToolRun:
        stderr = f"osm-pkijs {args[0]}: {said}\n".encode() if said else b""
        return ToolRun(["node", *map(str, args)], exit, b"", stderr, 0.0, "harness")

    monkeypatch.setattr(pkijs, "_run", broken)
    message = smime(kind, tlv(0x30, tlv(0x06, bytes.fromhex(OIDS[kind]))))
    err = pkijs.receive(request(message)).status.primary_error()
    assert err is not None and err.code == ErrorCode.INTERNAL, err
    assert f"the suite's harness, not PKI.js) exit {exit}" in err.message
