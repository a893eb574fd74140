"""A large body is not kept decoded by its entity (`core.mime.Entity.decoding`): its size,
its defect and its pieces are read a piece at a time, with the answers the whole decoding
gives; a small body's decoding is kept, as before."""

from __future__ import annotations

import base64
import binascii
import random
import tracemalloc
from unittest import mock

from hypothesis import given
from hypothesis import strategies as st

from conformance.core import mime

MB = 1024 * 1024


def _entity(cte: bytes, body: bytes) -> mime.Entity:
    return mime.read(b"Content-Type: application/dicom\r\nContent-Transfer-Encoding: " + cte
                     + b"\r\n\r\n" + body)  # fmt: skip


def _peak(work: object) -> int:
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        work()  # type: ignore[operator]
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def test_a_large_body_is_read_a_piece_at_a_time_and_not_kept() -> None:
    data = random.Random(5).randbytes(16 * MB)
    entity = _entity(b"base64", base64.encodebytes(data).replace(b"\n", b"\r\n"))
    # Its defects (the decoding's among them) and its size: a few chunks at a time, never the
    # body decoded whole, nor twice while its pieces were joined.
    assert _peak(lambda: entity.defects) < len(data) // 4
    assert (entity.decode_defect, entity.decoded_size) == (None, len(data))
    assert b"".join(entity.decoded_chunks(100_000)) == data
    first = entity.decoded()
    assert first == data and entity.decoded() is not first  # decoded again: not kept
    # Whole, it is held once (a buffer that hands its bytes over), not twice.
    assert _peak(entity.decoded) < 1.6 * len(data)


def test_a_small_body_keeps_its_decoding() -> None:
    entity = _entity(b"base64", base64.encodebytes(b"Bonjour"))
    assert entity.decoded() is entity.decoded() == b"Bonjour"
    assert list(entity.decoded_chunks(1)) == [b"Bonjour"]  # the kept one, in one piece
    assert entity.decoded_size == 7


def test_a_large_body_only_the_checked_path_decodes_comes_whole() -> None:
    """Base64 with blanks in its lines: the pieces do not decode it, the checked path does."""
    data = random.Random(6).randbytes(2 * MB)
    entity = _entity(b"base64", base64.encodebytes(data).replace(b"\n", b" \r\n"))
    assert (entity.decode_defect, entity.decoded_size) == (None, len(data))
    assert list(entity.decoded_chunks(1000)) == [data]


def test_a_body_the_pieces_give_up_on_late_is_decoded_once_held_once() -> None:
    """A blank before the last line end: the pieces fail at the end, after holding most of
    the body; the checked decoding runs once that attempt is gone (it ran while the failed
    attempt's buffer was still held: 3.9 times the body then, against 2.7), and a second
    `decoding` goes to the checked decoding at once."""
    data = random.Random(6).randbytes(8 * MB)
    entity = _entity(b"base64", base64.encodebytes(data).replace(b"\n", b"\r\n") + b" \r\n")
    assert _peak(lambda: entity.decoding) < 3.2 * len(data)
    with mock.patch.object(mime, "_pieces", side_effect=AssertionError("tried again")):
        assert entity.decoded() == data


def test_a_large_body_that_does_not_decode_is_named_as_before() -> None:
    body = base64.encodebytes(random.Random(7).randbytes(2 * MB)).replace(b"\n", b"\r\n")
    entity = _entity(b"base64", body[:1000] + b"*" + body[1000:])
    defect = entity.decode_defect
    assert defect is not None and defect.code == "bad-base64" and "b'*'" in defect.message
    assert entity.decoded_size is None and entity.decoded() is None
    assert list(entity.decoded_chunks()) == []
    assert entity.defects_of("bad-base64") == [defect]


_ENCODINGS = st.sampled_from([b"base64", b"quoted-printable", b"7bit", b"binary", b"x-uue"])
_NOISE = st.sampled_from([b"\n", b"\r", b" ", b"=", b"==", b"=4", b"=\r\n", b"*", b"\xff"])


@given(
    data=st.binary(max_size=600),
    cte=_ENCODINGS,
    width=st.integers(min_value=1, max_value=80),
    lf=st.booleans(),
    noise=st.lists(st.tuples(st.integers(min_value=0), _NOISE), max_size=3),
    size=st.integers(min_value=1, max_value=300),
)
def test_pieces_give_what_the_whole_decoding_gives(
    data: bytes,
    cte: bytes,
    width: int,
    lf: bool,
    noise: list[tuple[int, bytes]],
    size: int,
) -> None:
    """Every body read as a large one (nothing kept), a few octets a piece: its size, its
    defect and its pieces are those of the whole decoding (the checked one for a body the
    pieces leave to it)."""
    if cte == b"base64":
        encoded = base64.b64encode(data)
        body = b"".join(encoded[i : i + width] + b"\r\n" for i in range(0, len(encoded), width))
    elif cte == b"quoted-printable":
        body = binascii.b2a_qp(data, istext=False).replace(b"\n", b"\r\n")
    else:
        body = data
    if lf:
        body = body.replace(b"\r\n", b"\n")
    for position, junk in noise:
        at = position % (len(body) + 1)
        body = body[:at] + junk + body[at:]
    expected = mime._decode_checked(_entity(cte, body))
    with mock.patch.object(mime, "_KEEP", 0):
        entity = _entity(cte, body)
        assert entity.decode_defect == expected.defect
        assert entity.decoded_size == (None if expected.data is None else len(expected.data))
        assert entity.decoding == expected
        joined = b"".join(entity.decoded_chunks(size))
        assert joined == (expected.data or b"")


@given(
    st.lists(st.sampled_from([b"ab", b"\n", b"\r\n", b"\r", b"\n\n"]), max_size=60),
    st.integers(min_value=1, max_value=12),
)
def test_large_data_is_made_crlf_a_piece_at_a_time(pieces: list[bytes], size: int) -> None:
    """`canonicalize` cuts large data after a LF (a CRLF never cut): what converting it
    whole gives, without two more copies of it."""
    data = b"".join(pieces)
    whole = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    with mock.patch.object(mime, "_SCAN", size):
        assert mime.canonicalize(data) == (data if mime.BARE_LF.search(data) is None else whole)
