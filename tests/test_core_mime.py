"""The core MIME reader: defects recorded with their path and line, bounded on hostile input,
and splitting that agrees with the standard library's email package on well-formed messages."""

from __future__ import annotations

import email
import time
from email.message import Message
from email.policy import compat32

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from smime_read_support import nested_multipart

from conformance.core import mime
from conformance.core.mime import Defect, Entity


def _codes(entity: Entity) -> list[str]:
    return [d.code for d in entity.defects]


def _only(entity: Entity, code: str) -> Defect:
    found = [d for d in entity.defects if d.code == code]
    assert len(found) == 1, entity.defects
    return found[0]


# --- defects, with the part and the line ---------------------------------------------

SIGNED = (
    b"From: a@b.example\r\n"  # line 1
    b'Content-Type: multipart/mixed; boundary="b"\r\n'  # 2
    b"\r\n"  # 3
    b"preamble\r\n"  # 4
    b"--b\r\n"  # 5
    b"Content-Type: text/plain\r\n"  # 6
    b"\r\n"  # 7
    b"first part\r\n"  # 8
    b"--b\r\n"  # 9
    b"Content-Type: application/octet-stream\r\n"  # 10
    b"Content-Transfer-Encoding: base64\r\n"  # 11
    b"\r\n"  # 12
    b"SGVsbG8=\r\n"  # 13
    b"--b--\r\n"  # 14
    b"epilogue\r\n"
)


def test_a_well_formed_tree_has_no_defect_and_places_its_parts() -> None:
    top = mime.read(SIGNED)
    assert [e.path for e in top.walk()] == ["1", "1.1", "1.2"]
    assert all(e.defects == () for e in top.walk())
    first, second = top.children
    assert first.raw == b"Content-Type: text/plain\r\n\r\nfirst part"
    assert SIGNED[first.offset : first.offset + len(first.raw)] == first.raw
    assert (first.line, first.body_line, second.line, second.body_line) == (6, 8, 10, 13)
    assert second.decoded() == b"Hello"
    assert (top.preamble, top.epilogue, top.closed) == (b"preamble", b"epilogue\r\n", True)
    assert top.boundary == "b"
    assert top.gaps == b"preamble\r\n--b\r\n\r\n--b\r\n\r\n--b--\r\nepilogue\r\n"


def test_bare_line_ends_are_counted_from_the_first() -> None:
    raw = SIGNED.replace(b"first part\r\n", b"first\npart\rx\r\n")
    part = mime.read(raw).children[0]
    assert _only(part, "bare-lf") == Defect("bare-lf", "1.1", 8, "1 bare LF (first at line 8)")
    assert _only(part, "bare-cr").line == 9
    assert mime.read(raw).defects == ()  # the parts' lines are theirs, not the multipart's


def test_missing_boundary_and_unterminated_multipart() -> None:
    top = mime.read(b"Content-Type: multipart/mixed\r\n\r\n--b\r\nx\r\n--b--\r\n")
    assert _codes(top) == ["missing-boundary"] and top.children == ()
    cut = mime.read(SIGNED[: SIGNED.index(b"--b--")])
    defect = _only(cut, "unterminated-multipart")
    assert (defect.path, defect.line) == ("1", 1)
    assert [c.path for c in cut.children] == ["1.1", "1.2"]  # the last part is still read
    none = mime.read(b'Content-Type: multipart/mixed; boundary="zz"\r\n\r\n--b\r\nx\r\n--b--\r\n')
    assert _codes(none) == ["no-delimiter"]


def test_boundary_outside_the_rfc_2046_set() -> None:
    b = b"x" * 71  # bchars are 1 to 70
    raw = b'Content-Type: multipart/mixed; boundary="' + b + b'"\r\n\r\n--' + b + b"\r\ny\r\n--" + b
    top = mime.read(raw + b"--")
    assert _codes(top) == ["bad-boundary"] and len(top.children) == 1
    too_long = mime.read(raw + b"--", limits=mime.MimeLimits(max_boundary=70))
    assert _codes(too_long) == ["bad-boundary", "boundary-too-long"]


def test_eight_bit_and_nul_in_a_7bit_part() -> None:
    part = mime.read(SIGNED.replace(b"first part", b"first\r\np\xe9rt")).children[0]
    defect = _only(part, "eight-bit-in-7bit")
    assert (defect.path, defect.line) == ("1.1", 9)
    assert defect.message == "1 8-bit octet(s), first b'\\xe9' in body line 2"
    nul = mime.read(SIGNED.replace(b"first part", b"first\x00part")).children[0]
    assert (_only(nul, "nul-in-7bit").line, _codes(nul)) == (8, ["nul-in-7bit"])
    eight = mime.read(
        SIGNED.replace(
            b"text/plain\r\n", b"text/plain\r\nContent-Transfer-Encoding: 8bit\r\n"
        ).replace(b"first part", b"\xe9")
    )
    assert eight.children[0].defects == ()


def test_encodings_that_do_not_decode() -> None:
    bad = mime.read(SIGNED.replace(b"SGVsbG8=", b"SGVs*bG8=")).children[1]
    defect = _only(bad, "bad-base64")
    assert (defect.path, defect.line) == ("1.2", 13)
    assert bad.decoded() is None and "not in the alphabet" in defect.message
    qp = mime.read(b"Content-Transfer-Encoding: quoted-printable\r\n\r\nok\r\nr=ZZ\r\n")
    assert (_only(qp, "bad-quoted-printable").line, qp.decoded()) == (4, None)
    unknown = mime.read(b"Content-Transfer-Encoding: x-uuencode\r\n\r\nbegin\r\n")
    assert "x-uuencode" in _only(unknown, "unknown-transfer-encoding").message


def test_header_defects() -> None:
    broken = b"Subject: x\r\nnot a field\r\nTo: y\r\n\r\nbody"
    split = mime.read(broken)
    defect = _only(split, "header-without-colon")
    assert (defect.line, split.header, split.has_headers) == (2, b"Subject: x\r\n", True)
    strict = mime.read(broken, broken_header="body")
    assert (strict.header, strict.body, strict.has_headers) == (b"", broken, False)
    assert _only(strict, "header-without-colon").line == 2
    headerless = mime.read(b"just text\r\n")
    assert _codes(headerless) == ["no-header"] and headerless.body == b"just text\r\n"
    accented = mime.read(b"From: a\r\nSubject: r\xc3\xa9sultat\r\n\r\nx")
    assert _only(accented, "non-ascii-header") == Defect(
        "non-ascii-header", "1", 2, "byte b'\\xc3' in header line 2"
    )


def test_long_lines_against_the_limit() -> None:
    raw = b"Subject: x\r\n\r\nshort\r\n" + b"y" * 999 + b"\r\n"
    assert _only(mime.read(raw), "long-line") == Defect(
        "long-line", "1", 4, "line 4 has 999 octets"
    )
    assert mime.read(raw, limits=mime.MimeLimits(max_line=1000)).defects == ()


# --- bounded on hostile input ------------------------------------------------------------


def test_deep_nesting_stops_at_the_depth_limit() -> None:
    start = time.monotonic()
    top = mime.read(nested_multipart(1000), limits=mime.MimeLimits(max_depth=8))
    assert time.monotonic() - start < 2
    entities = list(top.walk())
    assert max(e.depth for e in entities) == 8 and len(entities) == 9
    (deepest,) = [e for e in entities if e.depth == 8]
    assert [d.code for d in deepest.structure] == ["depth-limit"]
    assert deepest.path == "1" + ".1" * 8


def test_many_parts_stop_at_the_part_limit_shared_across_reads() -> None:
    parts = b"".join(b"--b\r\n\r\npart %d\r\n" % i for i in range(10000))
    raw = b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n' + parts + b"--b--\r\n"
    start = time.monotonic()
    count = mime.Count()
    top = mime.read(raw, count=count)
    assert time.monotonic() - start < 2
    assert (len(top.children), count.entities) == (255, 256)
    assert [d.code for d in top.structure] == ["parts-limit"]
    again = mime.read(raw, count=count)  # the same count: nothing left for the second read
    assert again.children == () and count.entities == 257


@settings(
    max_examples=200,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    st.lists(
        st.sampled_from(
            [
                b"--b\r\n",
                b"--b--\r\n",
                b"--b\n",
                b"Content-Type: multipart/mixed; boundary=b\r\n",
                b"Content-Type: multipart/mixed\r\n",
                b"Content-Transfer-Encoding: base64\r\n",
                b"Content-Transfer-Encoding: quoted-printable\r\n",
                b"\r\n",
                b"\n",
                b"\r",
                b"no colon\r\n",
                b" folded\r\n",
                b"QUJD=x=\r\n",
                b"=ZZ\xff\x00\r\n",
            ]
        ),
        max_size=60,
    )
)
def test_never_raises_and_stays_within_the_limits(chunks: list[bytes]) -> None:
    limits = mime.MimeLimits(max_depth=3, max_parts=20)
    top = mime.read(b"".join(chunks), limits=limits)
    entities = list(top.walk())
    assert len(entities) <= 20 and max(e.depth for e in entities) <= 3
    for entity in entities:
        assert all(d.path == entity.path and d.line >= 1 for d in entity.defects)
        assert (
            entity.raw
            == entity.header + entity.raw[len(entity.header) : entity.body_offset] + entity.body
        )


# --- splitting agrees with the email package on well-formed multiparts ----------------------

_TEXT = st.text(alphabet="abcdefghij XYZ.,:", min_size=0, max_size=30)  # no "--"
_BOUNDARY = st.text(alphabet="0123456789abcdefABCDEF'()+_,-./=?", min_size=1, max_size=40)


@st.composite
def _entity(draw: st.DrawFn, depth: int = 0) -> tuple[bytes, list[object]]:
    """A well-formed entity (CRLF lines) and the shape expected of it: a leaf's body text,
    or a multipart's list of children shapes."""
    if depth < 2 and draw(st.booleans()):
        boundary = f"d{depth}x" + draw(_BOUNDARY)  # a part's boundary differs from its parent's
        children = draw(st.lists(_entity(depth + 1), min_size=1, max_size=4))
        preamble = draw(_TEXT)
        body = (preamble + "\r\n").encode() if preamble else b""
        for raw, _ in children:
            body += f"--{boundary}\r\n".encode() + raw + b"\r\n"
        body += f"--{boundary}--\r\n".encode()
        header = f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n'.encode()
        return header + b"\r\n" + body, [shape for _, shape in children]
    lines = draw(st.lists(_TEXT, max_size=4))
    text = "\r\n".join(lines)
    return b"Content-Type: text/plain\r\n\r\n" + text.encode(), [text]


def _shape_of_email(message: Message) -> list[object]:
    if message.is_multipart():
        parts = message.get_payload()
        assert isinstance(parts, list)
        shapes: list[object] = []
        for part in parts:
            assert isinstance(part, Message)
            shapes.append(_shape_of_email(part))
        return shapes
    payload = message.get_payload()
    assert isinstance(payload, str)
    return [payload]


def _shape_of_ours(entity: Entity) -> list[object]:
    if entity.is_multipart:
        return [_shape_of_ours(child) for child in entity.children]
    return [entity.body.decode("ascii")]


@settings(max_examples=150, derandomize=True, deadline=None)
@given(_entity())
def test_splitting_agrees_with_the_email_package(drawn: tuple[bytes, list[object]]) -> None:
    raw, shape = drawn
    ours = mime.read(raw)
    theirs = email.message_from_bytes(raw, policy=compat32)
    assert _shape_of_ours(ours) == _shape_of_email(theirs) == shape
    for entity in ours.walk():
        assert entity.defects == ()
        if entity.is_multipart:
            assert entity.closed


def test_the_preamble_and_epilogue_as_the_email_package_reads_them() -> None:
    ours = mime.read(SIGNED)
    theirs = email.message_from_bytes(SIGNED, policy=compat32)
    assert ours.preamble.decode() == theirs.preamble
    assert ours.epilogue.decode() == theirs.epilogue


@pytest.mark.parametrize("raw", [b"", b"\r\n", b"\n\n", b"X: y", b"X: y\r\n"])
def test_degenerate_inputs(raw: bytes) -> None:
    entity = mime.read(raw)
    assert entity.raw == raw and entity.children == ()


# --- the receiver and the validator judge the same reading -----------------------------------

_BROKEN = {
    "missing-boundary": b"Content-Type: multipart/mixed\r\n\r\n--b\r\nx\r\n--b--\r\n",
    "no-delimiter": b'Content-Type: multipart/mixed; boundary="zz"\r\n\r\n--b\r\nx\r\n--b--\r\n',
    "unterminated-multipart": b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nx\r\n',
}


@pytest.mark.parametrize("code", sorted(_BROKEN))
def test_the_receiver_refuses_what_the_validator_reports(code: str) -> None:
    from conformance.check import run_checks
    from conformance.smime.options import ReceiveOptions
    from conformance.smime.receive import read_message
    from conformance.status import ErrorCode

    message = b"From: a@b.example\r\nMIME-Version: 1.0\r\n" + _BROKEN[code]
    (defect,) = mime.read(message).structure
    assert defect.code == code
    _, status = read_message(
        message, keys=[], trust=[], crls=[], directory=None, options=ReceiveOptions()
    )
    assert [(e.code, e.message) for e in status.errors] == [
        (ErrorCode.MALFORMED, f"message: {defect.message}")
    ]
    (finding,) = run_checks(message).by_id("MIME-004")
    assert (finding.part, finding.found) == ("1", defect.message)


# --- the header block's fast path ----------------------------------------------------

_HEADER_LINES = st.lists(
    st.sampled_from(
        [
            b"Content-Type: text/plain\r\n",
            b"X-A : spaced\r\n",
            b"X-B: folded\r\n continued\r\n",
            b" leading blank\r\n",
            b"\tcontinuation\n",
            b"no colon here\r\n",
            b"From nobody\r\n",
            b"X-C: bare lf\n",
            b"X-D: cr\r\r\n",
            b"\r\n",
            b"\n",
            b"\r",
            b"body text\r\n",
            b"X-\xe9: 8bit\r\n",
        ]
    ),
    max_size=8,
)


@given(_HEADER_LINES)
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_the_header_fast_path_agrees_with_the_line_reader(lines: list[bytes]) -> None:
    raw = b"".join(lines)
    assert mime._split_header(raw) == mime._split_header_lines(raw)


@pytest.mark.parametrize(
    "value",
    [
        None,
        "text/plain",
        " Multipart/Signed ; boundary=x",
        "application/pkcs7-mime;smime-type=enveloped-data",
        "text",
        "a/b/c",
        "",
        ";",
        "TEXT/HTML; charset=utf-8",
    ],
)
def test_the_cached_content_type_is_the_email_packages(value: str | None) -> None:
    message = Message(policy=compat32)
    if value is not None:
        message["Content-Type"] = value
    assert mime._content_type(message) == message.get_content_type()


def test_an_entity_read_is_the_one_the_dataclass_builds() -> None:
    """`_new_entity` sets the fields at once instead of through the frozen `__init__`:
    every entity of a tree (multipart, leaves, defaults left unset) must be what
    `Entity(**fields)` gives, with no field missing and none extra."""
    import dataclasses

    raw = (
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\npre\r\n--b\r\n"
        b"Content-Type: text/plain\r\n\r\nhello\r\n--b\r\n\r\nno header\r\n--b--\r\npost\r\n"
    )
    names = {f.name for f in dataclasses.fields(Entity)}
    for entity in mime.read(raw).walk():
        assert set(vars(entity)) == names
        again = Entity(**{name: getattr(entity, name) for name in names})
        assert vars(again) == vars(entity)
    leaf = mime.read(b"Content-Type: text/plain\r\n\r\nx")
    assert (leaf.boundary, leaf.spans, leaf.children, leaf.closed) == (None, (), (), False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        leaf.body = b"changed"  # type: ignore[misc]


def test_bare_line_ends_and_canonical_form_match_their_definitions() -> None:
    """BARE_LF is written to begin with its byte (a fast search): it finds what
    `(?<!\\r)\\n` finds; `canonicalize` leaves CRLF data as it is and turns every bare LF
    into CRLF, a lone CR kept."""
    import random
    import re

    slow_lf = re.compile(rb"(?<!\r)\n")
    generator = random.Random(13)
    for _ in range(3000):
        data = bytes(generator.choice(b"a\r\n") for _ in range(generator.randrange(14)))
        assert [m.span() for m in mime.BARE_LF.finditer(data)] == [
            m.span() for m in slow_lf.finditer(data)
        ], data
        expected = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        assert mime.canonicalize(data) == expected, data


@pytest.mark.parametrize(
    "raw",
    [
        SIGNED,
        b"From: a@b.example\nTo: c@d.example,\n e@f.example\nMessage-ID: <1@x>\n\nbody\n",
        b"From: a@b.example\r\nnot a field\r\nTo: c@d.example\r\n\r\nbody\r\n",
        b"From: a@b.example\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\n",  # no body at all
        b"no header here\r\n\r\nbody\r\n",
    ],
)
def test_header_fields_are_the_readers_own(raw: bytes) -> None:
    """What vectors, serve and the mail store read of a message's fields is what `read`
    reads: the block cut at the same place, parsed the same way."""
    assert mime.header_fields(raw).items() == mime.read(raw).headers.items()
    if mime.read(raw).structure == ():
        expected = email.parser.BytesHeaderParser(policy=compat32).parsebytes(raw)
        assert mime.header_fields(raw).items() == expected.items()
