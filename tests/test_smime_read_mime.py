"""MIME cutting on the exact bytes (the core reader as the receiver uses it): RFC 2046 5.1.1
delimiters, headers, transfer encodings."""

from __future__ import annotations

import base64
from email.message import Message
from email.utils import collapse_rfc2231_value

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.core import mime
from conformance.smime import b64


def _entity(raw: bytes, limits: mime.MimeLimits = mime.MimeLimits()) -> mime.Entity:  # noqa: B008
    entity = mime.read(raw, limits=limits, broken_header="body")
    assert entity.has_headers and entity.header
    return entity


def _parts(raw: bytes) -> list[bytes]:
    entity = _entity(raw)
    assert entity.structure == ()
    return [part.raw for part in entity.children]


def _decode(entity: mime.Entity) -> bytes:
    decoding = entity.decoding
    if decoding.defect is not None:
        raise ValueError(decoding.defect.message)
    assert decoding.data is not None
    return decoding.data


def _fast_path(body: bytes) -> bytes | None:
    """What the reader's one-pass base64 decoding gives, or None where it leaves the body to
    the checked decoding."""
    try:
        return b"".join(mime._base64_pieces(body, 0, len(body), mime._SCAN))
    except mime._Irregular:
        return None


def test_crlf_before_delimiter_belongs_to_it() -> None:
    raw = (
        b'Content-Type: multipart/signed; boundary="b"\r\n\r\npreamble\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nline 1\r\nline 2\r\n\r\n"
        b"--b\r\n\r\nsig\r\n--b--\r\nepilogue"
    )
    assert _parts(raw) == [b"Content-Type: text/plain\r\n\r\nline 1\r\nline 2\r\n", b"\r\nsig"]


def test_lf_only_message_and_transport_padding() -> None:
    raw = b"Content-Type: multipart/mixed; boundary=b\n\n--b  \nA\n--bX\nstill A\n--b\nB\n--b--\n"
    assert _parts(raw) == [b"A\n--bX\nstill A", b"B"]


def test_first_delimiter_at_body_start_and_empty_part() -> None:
    raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n--b\r\nx\r\n--b--"
    assert _parts(raw) == [b"", b"x"]


def test_rfc2231_boundary_parameter() -> None:
    raw = b"Content-Type: multipart/mixed; boundary*=''b%20c\r\n\r\n--b c\r\nx\r\n--b c--\r\n"
    assert _parts(raw) == [b"x"]


def test_folded_content_type_header() -> None:
    raw = (
        b"Content-Type: application/pkcs7-mime;\r\n\tsmime-type=enveloped-data;\r\n"
        b" name=smime.p7m\r\n\r\nX"
    )
    entity = _entity(raw)
    assert entity.content_type == "application/pkcs7-mime"
    assert entity.param("smime-type") == "enveloped-data"
    assert entity.param("name") == "smime.p7m"
    assert entity.body == b"X"


def test_headerless_content() -> None:
    entity = mime.read(b"This is some sample content.", broken_header="body")
    assert entity.header == b"" and entity.body == b"This is some sample content."
    assert entity.content_type == "text/plain"
    assert not entity.has_headers
    assert [d.code for d in entity.defects if d.code == "no-header"] == ["no-header"]


def test_base64_with_line_breaks_and_bad_base64() -> None:
    good = _entity(b"Content-Transfer-Encoding: base64\r\n\r\nSGVs\r\nbG8=\r\n")
    assert _decode(good) == b"Hello"
    bad = _entity(b"Content-Transfer-Encoding: base64\r\n\r\nSGVs*bG8=\r\n")
    with pytest.raises(ValueError, match="base64 is not valid"):
        _decode(bad)
    assert bad.decoding.defect is not None and bad.decoding.defect.code == "bad-base64"
    qp = _entity(b"Content-Transfer-Encoding: quoted-printable\r\n\r\nr=E9sultat=\r\n ok")
    assert _decode(qp) == b"r\xe9sultat ok"


def test_canonical_forms() -> None:
    assert mime.canonicalize(b"a\nb\r\nc\n") == b"a\r\nb\r\nc\r\n"
    assert mime.to_lf(b"a\r\nb\r\n") == b"a\nb\n"
    assert mime.strip_trailing_whitespace(b"a  \r\nb\t\nc ") == b"a\r\nb\nc"


def test_part_budget() -> None:
    raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n" + b"--b\r\nx\r\n" * 5 + b"--b--"
    entity = _entity(raw, mime.MimeLimits(max_parts=3))
    (defect,) = entity.structure
    assert defect.code == "parts-limit" and "max_parts" in defect.message
    assert len(entity.children) == 2  # the message and two parts: three entities


@given(
    data=st.binary(max_size=200),
    width=st.integers(min_value=1, max_value=80),
    noise=st.lists(
        st.tuples(
            st.integers(min_value=0),
            st.sampled_from([b"\n", b"\r", b" ", b"=", b"*", b"\t", b"\r\n", b"==", b"\xff"]),
        ),
        max_size=3,
    ),
)
def test_base64_fast_path_agrees_with_checked_decoding(
    data: bytes, width: int, noise: list[tuple[int, bytes]]
) -> None:
    """The one-pass decode gives what the checked path gives, or leaves the body to it."""
    encoded = base64.b64encode(data)
    body = b"".join(encoded[i : i + width] + b"\r\n" for i in range(0, len(encoded), width))
    for position, junk in noise:
        at = position % (len(body) + 1)
        body = body[:at] + junk + body[at:]
    try:
        expected: bytes | None = base64.b64decode(body.translate(None, b" \t\r\n"), validate=True)
    except ValueError:
        expected = None
    fast = _fast_path(body)
    if fast is not None:
        assert fast == expected
    entity = _entity(b"Content-Transfer-Encoding: base64\r\n\r\n" + body)
    if expected is None:
        with pytest.raises(ValueError):
            _decode(entity)
    else:
        assert _decode(entity) == expected
    if not noise:
        assert fast == data  # the plain layout always takes the fast path
        assert b64.encode_lines(data) == base64.encodebytes(data).replace(b"\n", b"\r\n")


_PARAM_VALUES = [
    'multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256;'
    '\r\n\tboundary="--=_a"',
    'application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"',
    'text/plain; charset="us-ascii" ; format=flowed',
    'text/plain; name="a b;c=d.txt"',
    'text/plain; name=" a b "; charset=""',
    "text/plain; BOUNDARY=x; boundary=y",
    "text/plain;",
    "text/plain; name*=utf-8''r%C3%A9sultat",
    'text/plain; name="a\\"b"',
    "text/plain; charset=utf-8 (comment)",
    "x; a=",
]


@pytest.mark.parametrize("value", _PARAM_VALUES)
def test_parameters_read_as_the_email_package_reads_them(value: str) -> None:
    entity = _entity(f"Content-Type: {value}\r\n\r\nbody".encode())
    reference = Message()
    reference["content-type"] = value
    for name in ("boundary", "charset", "name", "protocol", "micalg", "format", "a", "smime-type"):
        expected = reference.get_param(name, None, header="content-type")
        if expected is not None:
            expected = str(collapse_rfc2231_value(expected)).strip()  # type: ignore[arg-type]
        assert entity.param(name) == expected, name
