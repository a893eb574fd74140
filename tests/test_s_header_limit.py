"""`max_header_bytes` judged by `mime.read` from the split it made of the entity, with the
answer `header_ends_within` gives from the limit's bytes alone (what the spooled reader
has): no second split of the header block."""

from __future__ import annotations

from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.core import mime

_LINES = st.lists(
    st.sampled_from(
        [b"A: b\r\n", b"Name-" * 6 + b": v\r\n", b" folded\r\n", b"\r\n", b"\n", b"no field\r\n",
         b"X" * 20 + b"\r\n", b"\r", b"\rX\r\n", b"B: c\n", b"\tfold\n", b"C :d\r\n"]
    ),
    max_size=8,
)  # fmt: skip


def _over(entity: mime.Entity) -> bool:
    return any(d.code == "header-limit" for d in entity.header_defects)


@settings(max_examples=300, deadline=None)
@given(_LINES, st.booleans())
def test_the_split_of_the_entity_answers_as_the_limits_bytes_alone(
    lines: list[bytes], body: bool
) -> None:
    """Wherever the limit cuts (a field name, a fold, a line that is no field, an empty
    line's CR), for both ways of reading a broken header block."""
    message = b"".join(lines) + (b"body line\r\n" * 3 if body else b"")
    for most in range(1, len(message)):
        expected = not mime.header_ends_within(message[:most])
        for broken in ("split", "body"):
            limits = mime.MimeLimits(max_header_bytes=most)
            entity = mime.read(message, limits=limits, broken_header=broken)  # type: ignore[arg-type]
            assert _over(entity) == expected, (most, broken)


def test_each_header_block_is_split_once() -> None:
    """Each entity over the limit had its first `max_header_bytes` split again."""
    message = (
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\n" + b"Bonjour.\r\n" * 10 +
        b"--b\r\nContent-Type: text/plain\r\n\r\n" + b"Au revoir.\r\n" * 10 + b"--b--\r\n"
    )  # fmt: skip
    with mock.patch.object(mime, "_split_header", wraps=mime._split_header) as split:
        entity = mime.read(message, limits=mime.MimeLimits(max_header_bytes=64))
    assert [e.path for e in entity.walk()] == ["1", "1.1", "1.2"]
    assert all(e.size > 64 for e in entity.walk())  # each over the limit: judged
    assert not any(_over(e) for e in entity.walk())
    assert split.call_count == 3
