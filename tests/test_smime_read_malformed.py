"""Malformed and hostile input: MALFORMED naming the part, quickly, and never an exception."""

from __future__ import annotations

import base64
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from smime_read_support import (
    CONTENT,
    ReadPKI,
    headers,
    nested_multipart,
    opaque_signed_der,
    openssl,
    openssl_sign,
    pki,
    wrap_cms,
)

from conformance.smime.options import Limits
from conformance.status import ErrorCode, Status

__all__ = ["pki"]


def _malformed(status: Status, *words: str) -> None:
    assert [e.code for e in status.errors] == [ErrorCode.MALFORMED], status.errors
    for word in words:
        assert word in status.errors[0].message, status.errors[0].message
    assert status.services.as_set() == set()
    assert status.exit_code() == 16


@pytest.mark.parametrize(
    "message",
    [b"", b"\x00\xff garbage \x81" * 50, b"just a line of text\r\n", b"\r\n\r\nbody only"],
)
def test_not_a_message(pki: ReadPKI, message: bytes) -> None:
    content, status = pki.read(message)
    assert content is None
    _malformed(status, "message")


def test_bad_base64(pki: ReadPKI) -> None:
    message = headers() + (
        b"Content-Type: application/pkcs7-mime; smime-type=signed-data\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nMIAGCSqGSIb3DQEHAqCAMIACAQEx!!!\r\n"
    )
    _malformed(pki.read(message)[1], "message", "bad base64")


def test_unknown_transfer_encoding(pki: ReadPKI) -> None:
    message = headers() + (
        b"Content-Type: application/pkcs7-mime; smime-type=signed-data\r\n"
        b"Content-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644 smime.p7m\r\n"
    )
    _malformed(pki.read(message)[1], "x-uuencode")


@pytest.mark.engines
def test_truncated_cms(pki: ReadPKI) -> None:
    der = opaque_signed_der(pki)
    for cut in (1, 2, 10, len(der) // 2, len(der) - 1):
        _malformed(pki.read(wrap_cms(der[:cut], "signed-data"))[1], "message")


def test_cms_of_the_wrong_type(pki: ReadPKI) -> None:
    from cryptography.hazmat.primitives import serialization

    der = pki.root.public_bytes(serialization.Encoding.DER)  # a certificate, not a ContentInfo
    _malformed(pki.read(wrap_cms(der, "signed-data"))[1], "message")


def _multipart(boundary_param: str, body: str, subtype: str = "signed") -> bytes:
    return (
        headers()
        + (
            f'Content-Type: multipart/{subtype}; protocol="application/pkcs7-signature"; '
            f"micalg=sha-256{boundary_param}\r\n\r\n{body}"
        ).encode()
    )


def test_missing_boundary_parameter(pki: ReadPKI) -> None:
    _malformed(pki.read(_multipart("", "--b\r\n\r\nx\r\n--b--\r\n"))[1], "without a boundary")


def test_boundary_absent_from_body(pki: ReadPKI) -> None:
    message = _multipart('; boundary="zz"', "--b\r\n\r\nx\r\n--b--\r\n")
    _malformed(pki.read(message)[1], "no boundary delimiter")


def test_missing_close_delimiter(pki: ReadPKI) -> None:
    message = _multipart('; boundary="b"', "--b\r\n\r\nx\r\n--b\r\n\r\ny\r\n")
    _malformed(pki.read(message)[1], "close delimiter")


def test_multipart_signed_with_three_parts(pki: ReadPKI) -> None:
    body = "--b\r\n\r\nx\r\n--b\r\n\r\ny\r\n--b\r\n\r\nz\r\n--b--\r\n"
    _malformed(pki.read(_multipart('; boundary="b"', body))[1], "3 parts")


def test_signature_part_not_pkcs7(pki: ReadPKI) -> None:
    body = "--b\r\n\r\nx\r\n--b\r\nContent-Type: text/plain\r\n\r\ny\r\n--b--\r\n"
    _malformed(pki.read(_multipart('; boundary="b"', body))[1], "part 2", "text/plain")


def test_bad_base64_in_signature_part_names_it(pki: ReadPKI) -> None:
    body = (
        "--b\r\n\r\nx\r\n--b\r\nContent-Type: application/pkcs7-signature\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n@@@@\r\n--b--\r\n"
    )
    _malformed(pki.read(_multipart('; boundary="b"', body))[1], "part 2", "bad base64")


def test_deep_multipart_nesting_is_bounded(pki: ReadPKI) -> None:
    depth = 1000
    body = nested_multipart(depth)
    start = time.monotonic()
    content, status = pki.read(headers() + body)
    assert time.monotonic() - start < 2
    assert content is None
    _malformed(status, "max_depth")


@pytest.mark.engines
def test_deep_smime_nesting_is_bounded(pki: ReadPKI) -> None:
    """Opaque signatures wrapped in each other beyond the depth limit."""
    message = CONTENT
    alice = pki.people["alice"]
    for _ in range(4):
        message = openssl_sign(alice, "-nodetach", "-from", "alice@osm.test", data=message)
    _, ok = pki.read(message)
    assert ok.errors == [] and len(ok.layers) == 4
    _, status = pki.read(message, limits=Limits(max_depth=3))
    _malformed(status, "max_depth")


def test_deeply_nested_ber_is_malformed(pki: ReadPKI) -> None:
    blob = b"\x30\x80" * 20000 + b"\x00\x00" * 20000
    start = time.monotonic()
    _malformed(pki.read(wrap_cms(blob, "signed-data"))[1], "message")
    assert time.monotonic() - start < 2


def test_ten_thousand_parts(pki: ReadPKI) -> None:
    parts = "".join(f"--b\r\nContent-Type: text/plain\r\n\r\npart {i}\r\n" for i in range(10000))
    message = (
        headers()
        + (f'Content-Type: multipart/mixed; boundary="b"\r\n\r\n{parts}--b--\r\n').encode()
    )
    start = time.monotonic()
    content, status = pki.read(message)
    assert time.monotonic() - start < 2
    assert content is None
    _malformed(status, "max_parts")


def test_message_and_cms_size_limits_are_too_large_not_malformed(pki: ReadPKI) -> None:
    # Over a size limit the message is not read at all: too-large, whatever it holds.
    message = wrap_cms(b"\x30\x03\x02\x01\x00" * 100, "signed-data")
    for limits, name in (
        (Limits(max_message_bytes=100), "max_message_bytes"),
        (Limits(max_cms_bytes=100), "max_cms_bytes"),
    ):
        status = pki.read(message, limits=limits)[1]
        assert [e.code for e in status.errors] == [ErrorCode.TOO_LARGE]
        assert name in status.errors[0].message


def test_plain_message_is_read_as_it_is(pki: ReadPKI) -> None:
    message = headers() + CONTENT
    content, status = pki.read(message)
    assert status.errors == [] and content == message
    assert status.layers == [] and not status.signed and not status.encrypted
    assert status.services.as_set() == set()


# --- fuzzing --------------------------------------------------------------------------

_SEEDS: dict[str, bytes] = {}


def _seed_messages(pki: ReadPKI) -> list[bytes]:
    if not _SEEDS:
        alice, bob = pki.people["alice"], pki.people["bob"]
        _SEEDS["clear"] = openssl_sign(alice, "-from", "alice@osm.test")
        signed = openssl_sign(alice, "-nodetach", "-from", "alice@osm.test")
        _SEEDS["sign-encrypt"] = openssl(
            "cms", "-encrypt", "-aes256", "-recip", str(bob.cert_path), data=signed
        )
        raw = base64.b64decode(b"".join(signed.split(b"\n\n", 1)[1].split()))
        _SEEDS["raw-der"] = wrap_cms(raw, "signed-data")
    return list(_SEEDS.values())


_mutation = st.tuples(
    st.sampled_from(["flip", "insert", "delete", "truncate", "duplicate"]),
    st.floats(min_value=0, max_value=1, allow_nan=False),
    st.binary(min_size=1, max_size=8),
)


def _mutate(data: bytes, kind: str, where: float, noise: bytes) -> bytes:
    if not data:
        return noise
    at = min(int(where * len(data)), len(data) - 1)
    if kind == "flip":
        return data[:at] + bytes([data[at] ^ (noise[0] or 1)]) + data[at + 1 :]
    if kind == "insert":
        return data[:at] + noise + data[at:]
    if kind == "delete":
        return data[:at] + data[at + len(noise) :]
    if kind == "truncate":
        return data[:at]
    return data[:at] + data[at : at + 200] + data[at:]


@pytest.mark.engines
@settings(
    derandomize=True,
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    seed=st.integers(min_value=0, max_value=2),
    mutations=st.lists(_mutation, min_size=1, max_size=3),
)
def test_mutated_messages_never_raise_nor_falsely_accept(
    pki: ReadPKI, seed: int, mutations: list[tuple[str, float, bytes]]
) -> None:
    message = _seed_messages(pki)[seed]
    for kind, where, noise in mutations:
        message = _mutate(message, kind, where, noise)
    content, status = pki.read(message)  # must not raise
    assert all(e.code != ErrorCode.INTERNAL for e in status.errors), status.errors
    if status.services.integrity:
        assert content == CONTENT
