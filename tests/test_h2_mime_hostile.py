"""The MIME reader on hostile input: in linear time, within its bounds, and judged alike by
the receiver (in memory and spooled) and the validator.

Speed is shown by structure, not by timers: the reads a body costs, the characters a field
value is scanned for; the hostile inputs are read at sizes that took seconds to minutes.
"""

from __future__ import annotations

import email.message
import re
from collections.abc import Iterator
from unittest import mock

import pytest
from check_support import HEADER, TEXT, checked, data_part, edit_signed, errors_of, failures
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.check.tree import LIMITS, parse_message
from conformance.core import mime
from conformance.core.mime_spool import skeleton
from conformance.core.spool import Spool
from conformance.smime.options import Limits, ReceiveOptions
from conformance.smime.read_errors import Budget
from conformance.smime.receive_spooled import read_message_bounded
from conformance.status import ErrorCode, Status


def _receive(message: bytes, limits: Limits = Limits()) -> Status:  # noqa: B008
    """The reference receiver's status (spooled over `limits.spool_above_bytes`)."""
    return read_message_bounded(
        message, keys=[], trust=[], crls=[], directory=None, options=ReceiveOptions(),
        limits=limits,
    )[1]  # fmt: skip


# --- 1. delimiter look-alikes: one search, not a Python step each -----------------------


class _Counting:
    """A `Searchable` counting the calls made on it."""

    def __init__(self, inner: mime.Searchable) -> None:
        self.inner = inner
        self.calls = 0

    def __len__(self) -> int:
        return len(self.inner)

    def find(self, needle: bytes, start: int = 0, end: int | None = None) -> int:
        self.calls += 1
        return self.inner.find(needle, start, end)

    def read(self, start: int = 0, end: int | None = None) -> bytes:
        self.calls += 1
        return self.inner.read(start, end)

    def chunks(self, size: int | None = None) -> Iterator[bytes | memoryview]:
        self.calls += 1
        yield from self.inner.chunks(size)


def _look_alikes(count: int) -> bytes:
    """A multipart body of one part whose lines all begin with the delimiter ("--bX")."""
    return b"--b\r\nContent-Type: text/plain\r\n\r\n" + b"--bX\r\n" * count + b"--b--\r\n"


def _calls(lines: int, spooled: bool) -> tuple[int, mime.Delimiters]:
    """The calls `delimited` makes on a body of `lines` look-alike lines, and its answer."""
    body = _look_alikes(lines)
    with Spool() as spool:
        spool.write(body)
        inner: mime.Searchable = spool.seal().whole() if spooled else mime.InMemory(body)
        counting = _Counting(inner)
        found = mime.delimited(counting, b"--b")
        return counting.calls, found


@pytest.mark.parametrize("spooled", [False, True], ids=["in memory", "spooled"])
def test_lines_that_begin_with_the_delimiter_cost_no_read_each(spooled: bool) -> None:
    """Before: a find and three small reads per such line (a spooled 24 MB body: 33 s)."""
    few, many = _calls(10, spooled), _calls(300_000, spooled)
    assert few[0] == many[0] <= 12  # the chunks, and a few reads at the delimiter lines
    size = len(_look_alikes(300_000))
    assert (many[1].spans, many[1].closed) == ([(5, size - 9)], True)  # before CRLF--b--


def test_a_spooled_message_of_look_alike_lines_is_read() -> None:
    """6 MB, read from a spool: 9 s before, as many Python steps as lines."""
    message = (
        HEADER + b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n' + _look_alikes(1_000_000)
    )
    assert len(message) > Limits().spool_above_bytes
    status = _receive(message)
    assert errors_of(status) == [] and not status.signed


# The delimiting as it was before (one find per candidate, reads around it): what the
# windowed search must answer on any body, wherever the chunks end.
def _reference(body: bytes, delim: bytes) -> tuple[object, ...]:
    size = len(body)
    spans: list[tuple[int, int]] = []
    start: int | None = None
    first, closed, close_end, pos = size, False, size, 0
    while (i := body.find(delim, pos)) >= 0:
        pos = i + len(delim)
        if i > 0 and body[i - 1 : i] != b"\n":
            continue
        is_close = body[pos : pos + 2] == b"--"
        j = pos + 2 if is_close else pos
        while body[j : j + 1] in (b" ", b"\t"):
            j += 1
        if j < size and body[j : j + 1] not in (b"\r", b"\n") and not is_close:
            continue
        end = i if i == 0 else (i - 2 if body[i - 2 : i] == b"\r\n" else i - 1)
        if start is not None:
            spans.append((start, max(end, start)))
        else:
            first = min(first, end)
        nl = body.find(b"\n", j)
        line_end = size if nl < 0 else nl + 1
        if is_close:
            closed, close_end = True, line_end
            break
        start = pos = line_end
    if start is not None and not closed:
        spans.append((start, size))
    return spans, first, start, closed, close_end


class _Chunked(mime.InMemory):
    """Bytes in memory given a few at a time, as a spool gives its chunks."""

    def __init__(self, data: bytes, step: int) -> None:
        super().__init__(data)
        self.step = step

    def chunks(self, size: int | None = None) -> Iterator[bytes]:
        for at in range(0, len(self.data), self.step):
            yield self.data[at : at + self.step]


_PIECES = [b"--b", b"--b--", b"\r\n", b"\n", b"\r", b" ", b"\t", b"x", b"-", b"--bX", b" " * 70]


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.sampled_from(_PIECES), max_size=24),
    st.sampled_from([1, 2, 3, 7, 64]),
    st.sampled_from([0, 1, 3, mime._STEPS]),
)
def test_the_windowed_search_cuts_as_the_reference(
    pieces: list[bytes], step: int, steps: int
) -> None:
    """Whether the look-alike lines are stepped over one by one or by the delimiter's own
    regex (past `_STEPS` of them), the parts are cut as the reference cuts them."""
    body = b"".join(pieces)
    with mock.patch.object(mime, "_STEPS", steps):
        assert tuple(mime.delimited(_Chunked(body, step), b"--b"))[:5] == _reference(body, b"--b")
        assert tuple(mime.delimited(mime.InMemory(body), b"--b"))[:5] == _reference(body, b"--b")


def test_a_message_compiles_no_regex_for_its_boundary() -> None:
    """A body without look-alike lines is cut by `bytes.find` and one fixed regex: compiling
    a regex per boundary (every message has its own) cost about 0.1 ms a multipart."""
    body = b"--b1\r\nContent-Type: text/plain\r\n\r\nx\r\n--b1\r\n\r\ny\r\n--b1--\r\n"
    mime._delimiter_pattern.cache_clear()
    assert mime.delimited(mime.InMemory(body), b"--b1").closed
    assert mime._delimiter_pattern.cache_info().currsize == 0
    mime.delimited(mime.InMemory(_look_alikes(mime._STEPS + 1)), b"--b")
    assert mime._delimiter_pattern.cache_info().currsize == 1  # the look-alikes: compiled


def test_the_parts_past_the_limit_are_not_searched() -> None:
    """A body of a million delimiter lines: the reading stops past max_parts."""
    body = b"--b\r\n" * 1_000_000 + b"--b--\r\n"
    found = mime.delimited(mime.InMemory(body), b"--b", 256)
    assert (len(found.spans), found.complete, found.closed) == (257, False, False)
    assert found.close_end == 258 * 5
    entity = mime.read(b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n' + body)
    assert [d.code for d in entity.structure] == ["parts-limit"]  # not "unterminated"


def test_a_spooled_skeleton_stays_small_past_the_part_limit() -> None:
    """Before: every delimiter line was copied into the skeleton (here 5 MB of them)."""
    message = b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n' + b"--b\r\n" * 1_000_000
    with Spool() as spool:
        spool.write(message)
        skel = skeleton(spool.seal().whole(), mime.MimeLimits(), 1024)
    assert len(skel.data) < 2000
    assert [d.code for d in mime.read(skel.data).structure] == ["parts-limit"]


# --- 2. parameters: one reader, linear ---------------------------------------------------


def _normal(item: str) -> str:
    """An item as `email.message._parseparam` gives it (name lowercased around '=')."""
    name, equals, value = item.partition("=")
    return f"{name.strip().lower()}={value.strip()}" if equals else item


_VALUE = st.text(alphabet="ab=;\" \\*'%0", max_size=30)


@settings(max_examples=500, deadline=None)
@given(_VALUE)
def test_a_value_is_cut_as_the_email_package_cuts_it(value: str) -> None:
    parseparam = email.message._parseparam  # type: ignore[attr-defined]
    assert [_normal(i) for i in mime._split_parameters(value)] == parseparam(value)


class _Scanned(str):
    """A field value counting the characters its searches go through."""

    scanned = 0

    def find(self, sub: str, start: int | None = None, end: int | None = None) -> int:  # type: ignore[override]
        found = super().find(sub, start, end)
        _Scanned.scanned += (len(self) if found < 0 else found) - (start or 0)
        return found

    def count(self, sub: str, start: int | None = None, end: int | None = None) -> int:  # type: ignore[override]
        _Scanned.scanned += (len(self) if end is None else end) - (start or 0)
        return super().count(sub, start, end)


@pytest.mark.parametrize(
    "item", ["\r\n p%d=v", '\r\n name*%d="a;b"'], ids=["plain", "rfc2231-quoted"]
)
def test_a_field_value_is_scanned_a_few_times_at_most(item: str) -> None:
    """Before (`get_params`): the rest of the value sliced and its quotes recounted at each
    ";", quadratic (200 000 parameters, 2.5 MB: 41 s)."""
    value = _Scanned("multipart/mixed; boundary=x;" + ";".join(item % i for i in range(20_000)))
    _Scanned.scanned = 0
    items = mime._split_parameters(value)
    assert len(items) == 20_002 and _Scanned.scanned <= 3 * len(value)


def test_many_parameters_are_read_and_reported() -> None:
    """100 000 folded parameters: 4.3 s before; 100 000 RFC 2231 sections: 13.8 s."""
    plain = "".join(f"\r\n p{i}=v;" for i in range(100_000)).encode()
    node = parse_message(edit_signed(b"micalg=sha-256;", b"micalg=sha-256;" + plain))
    params = node.summary()["params"]
    assert (params["micalg"], params["p99999"], len(params)) == ("sha-256", "v", 100_003)
    sections = "".join(f"; name*{i}={i % 10}" for i in range(100_000)).encode()
    part = mime.read(b"Content-Type: text/plain" + sections + b"\r\n\r\nx")
    assert part.param("name") == "0123456789" * 10_000


def test_the_validator_and_the_receiver_read_the_same_bounds() -> None:
    assert Budget(Limits()).mime_limits == LIMITS


# --- 3. a header block too long: one answer whatever the message's size ---------------

_LONG_HEADER = b"X-A: a\r\n" * 40_000  # 320 KB, over max_header_bytes
_SMALL = edit_signed(b"Subject:", _LONG_HEADER + b"Subject:")
_PREAMBLE = b"\r\n\r\n" + b"preamble line\r\n" * 300_000  # 4.5 MB: read from a spool
_LARGE = _SMALL.replace(b"\r\n\r\n", _PREAMBLE, 1)


def _read_both(message: bytes, limits: mime.MimeLimits) -> tuple[mime.Entity, mime.Entity]:
    """The message read in memory, and from a spool's skeleton (bodies over 64 bytes left
    in the spool)."""
    with Spool() as spool:
        spool.write(message)
        skel = skeleton(spool.seal().whole(), limits, 64)
    return mime.read(message, limits=limits), mime.read(skel.data, limits=limits)


def _shape(entity: mime.Entity) -> list[tuple[str, str, tuple[str, ...]]]:
    return [
        (e.path, e.content_type, tuple(d.code for d in e.header_defects)) for e in entity.walk()
    ]


def _over(entity: mime.Entity) -> bool:
    return any(d.code == "header-limit" for d in entity.header_defects)


def test_a_long_header_block_is_the_same_defect_in_memory_and_spooled() -> None:
    """Before: the spooled reader stopped (malformed), the in-memory one read it."""
    for message in (_SMALL, _LARGE):
        whole, skel = _read_both(message, mime.MimeLimits())
        assert [d.code for d in whole.header_defects] == ["header-limit"]
        assert _over(skel) and skel.path == whole.path


_LINES = st.lists(
    st.sampled_from(
        [b"A: b\r\n", b"Name-" * 30 + b": v\r\n", b" folded\r\n", b"\r\n", b"no field\r\n",
         b"X" * 90 + b"\r\n", b"\r", b"B: " + b"c" * 50 + b"\n"]
    ),
    max_size=12,
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(_LINES, st.integers(min_value=8, max_value=200))
def test_both_readers_judge_the_header_limit_alike(lines: list[bytes], most: int) -> None:
    """Wherever the limit cuts a line (a field name, a fold, an empty line's CR)."""
    message = b"".join(lines) + b"body line\r\n" * 20
    whole, skel = _read_both(message, mime.MimeLimits(max_header_bytes=most))
    assert _over(whole) == _over(skel)
    if not whole.header_defects:  # a whole header: the same entity
        assert _shape(skel) == _shape(whole)


@pytest.mark.parametrize("message", [_SMALL, _LARGE], ids=["326 KB", "4.6 MB"])
def test_the_receiver_refuses_a_long_header_block_as_too_large(message: bytes) -> None:
    """Needs `receive.Reader` to call `refuse_header_limit`. Before: the small message
    accepted, the large one `malformed`."""
    assert errors_of(_receive(message)) == [
        (
            ErrorCode.TOO_LARGE,
            "message: header block not ended within its first 262144 bytes "
            "(limit max_header_bytes)",
        )
    ]


def test_the_validator_reports_a_long_header_block() -> None:
    """Before: conformant."""
    [found] = failures(checked(_SMALL), "HDR-010")
    assert (found.status, found.part) == ("ERROR", "1")
    assert found.found.startswith("header block not ended within its first 262144 bytes")


# --- 4. nesting: one limit, both readers ------------------------------------------------


def _nested(levels: int, multipart: bool) -> bytes:
    """TEXT under `levels` layers the receiver follows: CMS contents, the innermost a
    multipart/mixed when `multipart` (a multipart's parts are bounded by the MIME reader,
    a CMS content by the layer reader: both counted)."""
    entity = TEXT
    if multipart:
        entity = (
            b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n" + TEXT + b"\r\n--b--\r\n"
        )
    for _ in range(levels - multipart):
        entity = data_part(entity)
    return HEADER + entity


@pytest.mark.parametrize("multipart", [False, True], ids=["cms", "cms+multipart"])
@pytest.mark.parametrize("levels", range(7, 11))
def test_check_and_receive_agree_on_the_nesting_limit(levels: int, multipart: bool) -> None:
    """Needs `receive.Reader.read` to count the message as depth 0, as `check` does. Before:
    the receiver refused one level earlier (a message `check` called conformant)."""
    message = _nested(levels, multipart)
    refused = any("nesting deeper than" in text for _, text in errors_of(_receive(message)))
    flagged = [c.part for c in failures(checked(message), "MIME-004")]
    assert refused == bool(flagged) == (levels > LIMITS.max_depth)


# --- 5. a parameter given twice (a boundary: test_q_hostile_params) ----------------------


def test_a_filename_given_twice_is_an_error() -> None:
    message = HEADER + (
        b"Content-Type: text/plain\r\n"
        b'Content-Disposition: attachment; filename="a.txt"; FILENAME="b.exe"\r\n\r\nx\r\n'
    )
    [twice] = failures(checked(message), "MIME-003")
    assert twice.part == "1"
    assert twice.found.startswith("parameter 'filename' given more than once in Content-Disp")


# --- 6. control characters in a header --------------------------------------------------

_FORGED = edit_signed(
    b"From: Camille MARTIN",
    b'From: "Camille MARTIN\x1b[2J\x1b[HVerdict : conforme\x1b[8m"',
)


@pytest.mark.parametrize("control", [b"\x1b", b"\x07", b"\x7f", b"\x0c"])
def test_a_control_character_in_a_header_is_an_error(control: bytes) -> None:
    """Before: ASCII, so passed (only NUL and 8-bit were flagged)."""
    report = checked(edit_signed(b"Subject: Compte", b"Subject: Com" + control + b"pte"))
    [bad] = failures(report, "HDR-006")
    assert bad.part == "1" and f"Com\\x{control[0]:02x}pte" in bad.found


def test_a_tab_in_a_header_is_no_control() -> None:
    assert failures(checked(edit_signed(b"Subject: Compte", b"Subject:\tCompte")), "HDR-006") == []


def test_the_text_report_writes_no_control_character(capsys: pytest.CaptureFixture[str]) -> None:
    """Needs `check.render` to show control characters as \\xNN. Before: the screen cleared
    and "Verdict : conforme" written by the message's From."""
    from conformance.check.render import text_table

    text = text_table(checked(_FORGED), width=100)
    assert re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", text) is None
    assert "MARTIN\\x1b[2J" in text
