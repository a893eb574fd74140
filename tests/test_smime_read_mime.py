"""MIME cutting on the exact bytes: RFC 2046 5.1.1 delimiters, headers, transfer encodings."""

from __future__ import annotations

import base64
from email.message import Message
from email.utils import collapse_rfc2231_value

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.smime import b64, mime_read
from conformance.smime.options import Limits
from conformance.smime.read_errors import Budget, ReadError
from conformance.status import ErrorCode


def _entity(raw: bytes) -> mime_read.Entity:
    return mime_read.parse_entity(raw, "message", require_headers=True)


def _parts(raw: bytes) -> list[bytes]:
    return mime_read.split_multipart(_entity(raw), Budget(Limits()))


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
    entity = mime_read.parse_entity(b"This is some sample content.", "x", require_headers=False)
    assert entity.header == b"" and entity.body == b"This is some sample content."
    assert entity.content_type == "text/plain"
    with pytest.raises(ReadError) as caught:
        mime_read.parse_entity(b"This is some sample content.", "message", require_headers=True)
    assert caught.value.code == ErrorCode.MALFORMED


def test_base64_with_line_breaks_and_bad_base64() -> None:
    good = _entity(b"Content-Transfer-Encoding: base64\r\n\r\nSGVs\r\nbG8=\r\n")
    assert mime_read.decode_body(good) == b"Hello"
    bad = _entity(b"Content-Transfer-Encoding: base64\r\n\r\nSGVs*bG8=\r\n")
    with pytest.raises(ReadError, match="bad base64"):
        mime_read.decode_body(bad)
    qp = _entity(b"Content-Transfer-Encoding: quoted-printable\r\n\r\nr=E9sultat=\r\n ok")
    assert mime_read.decode_body(qp) == b"r\xe9sultat ok"


def test_canonical_forms() -> None:
    assert mime_read.canonicalize(b"a\nb\r\nc\n") == b"a\r\nb\r\nc\r\n"
    assert mime_read.to_lf(b"a\r\nb\r\n") == b"a\nb\n"
    assert mime_read.strip_trailing_whitespace(b"a  \r\nb\t\nc ") == b"a\r\nb\nc"


def test_part_budget() -> None:
    raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n" + b"--b\r\nx\r\n" * 5 + b"--b--"
    with pytest.raises(ReadError, match="max_parts"):
        mime_read.split_multipart(_entity(raw), Budget(Limits(max_parts=3)))


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
    fast = b64.decode_lines(body)
    if fast is not None:
        assert fast == expected
    entity = mime_read.parse_entity(
        b"Content-Transfer-Encoding: base64\r\n\r\n" + body, "part 1", require_headers=True
    )
    if expected is None:
        with pytest.raises(ReadError):
            mime_read.decode_body(entity)
    else:
        assert mime_read.decode_body(entity) == expected
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
    entity = mime_read.parse_entity(
        f"Content-Type: {value}\r\n\r\nbody".encode(), "part 1", require_headers=True
    )
    reference = Message()
    reference["content-type"] = value
    for name in ("boundary", "charset", "name", "protocol", "micalg", "format", "a", "smime-type"):
        expected = reference.get_param(name, None, header="content-type")
        if expected is not None:
            expected = str(collapse_rfc2231_value(expected)).strip()  # type: ignore[arg-type]
        assert entity.param(name) == expected, name
