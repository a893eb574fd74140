"""The large-attachment scenario: an imaging report, a letter with one series of hundreds of
megabytes (`run --large-attachment SIZE`, issue 21).

One fixed example per cell, never shrunk: what is measured is whether a product sends and
reads a message of that size at all, and its limit when it does not.

The scenario exists twice, with the same bytes: as a `Scenario` in memory (`large_scenario`,
for sizes a test holds) and written to a file a chunk at a time (`write_large_entity`, what
the matrix sends), so that a worker never holds the series.
"""

from __future__ import annotations

import functools
import hashlib
import io
import itertools
import math
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import BinaryIO

from conformance.core.vocabulary import Function
from conformance.scenarios.attachments import DICOM_MEDIA_TYPE, dicom_like
from conformance.scenarios.content import entity_parts, file_part, multipart
from conformance.scenarios.model import Attachment, Scenario
from conformance.scenarios.strategies import basic_scenario
from conformance.smime.b64 import encode_lines
from conformance.smime.options import REFERENCE_MAX_BYTES

__all__ = [
    "LargeEntity",
    "large_description",
    "large_scenario",
    "series_chunks",
    "write_large_entity",
]

SERIES_NAME = "série scanner.dcm"
SUBJECT = "Compte rendu d'imagerie"
_HEADER_BYTES = len(dicom_like())  # its preamble, DICM and meta element, counted in the size
# Random.randbytes drawn in chunks of a multiple of 4 bytes gives the bytes one call
# would (it fills 32-bit words in order); 57 kB lines up with base64's 76-character lines.
_CHUNK = 57 * 4 * 1024


def _payload_size(size: int) -> int:
    return max(size - _HEADER_BYTES, 0)


def series_chunks(size: int) -> Iterator[bytes]:
    """The series of `size` bytes, a chunk at a time (the same bytes for a given size:
    drawn from a generator seeded with it)."""
    left = _payload_size(size)
    yield dicom_like()[:-4] + left.to_bytes(4, "little")  # dicom_like's head, for `left`
    rng = random.Random(size)
    while left:
        count = min(left, _CHUNK)
        yield rng.randbytes(count)
        left -= count


def _scenario(function: Function, series: bytes) -> Scenario:
    basic = basic_scenario(function)
    attachment = Attachment(SERIES_NAME, DICOM_MEDIA_TYPE, series)
    return replace(basic, subject=SUBJECT, attachments=(*basic.attachments, attachment))


def large_scenario(function: Function, size: int) -> Scenario:
    """The function's basic example with the DICOM-like series of `size` bytes attached."""
    payload = random.Random(size).randbytes(_payload_size(size))
    return _scenario(function, dicom_like(payload))


def large_description(function: Function, size: int) -> str:
    """`large_scenario(function, size).describe()`, without drawing the series."""
    empty = f"{DICOM_MEDIA_TYPE}, 0 bytes"
    return _scenario(function, b"").describe().replace(empty, f"{DICOM_MEDIA_TYPE}, {size} bytes")


@dataclass(frozen=True)
class LargeEntity:
    """What was written: the entity's size and SHA-256, the series' SHA-256 (what a
    receiver must give back decoded), and the scenario with an empty series (the rest of
    the entity, compared as every scenario is)."""

    size: int
    sha256: str
    series_sha256: str
    series_size: int
    rest: Scenario


def _base64_lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The series' `chunks` in base64, 76-character lines joined by CRLF without a final
    break, as `content.encode_base64` writes an attachment, a chunk of whole lines at a
    time."""
    pending = previous = b""
    for chunk in chunks:
        data = pending + chunk
        cut = len(data) - len(data) % 57  # 57 bytes make one line
        pending = data[cut:]
        if cut:
            if previous:
                yield previous
            previous = encode_lines(data[:cut])
    if pending:
        if previous:
            yield previous
        previous = encode_lines(pending)
    if previous:
        yield previous[:-2]  # no break after the last line


def write_large_entity(function: Function, size: int, out: BinaryIO) -> LargeEntity:
    """Write the entity of `large_scenario(function, size)` to `out`, byte for byte, in
    bounded memory. The series is drawn twice: once for the MIME boundary (a digest of
    every part, as `build_entity` chooses it) and the series' own digest, once to write."""
    rest = _scenario(function, b"")
    parts = entity_parts(rest)
    series_head = file_part(SERIES_NAME, DICOM_MEDIA_TYPE, b"")
    small = parts[:-1]
    digest = hashlib.sha256(b"".join(small) + series_head)
    series = hashlib.sha256()
    series_size = 0

    def drawn() -> Iterator[bytes]:
        nonlocal series_size
        for chunk in series_chunks(size):
            series.update(chunk)
            series_size += len(chunk)
            yield chunk

    for text in _base64_lines(drawn()):
        digest.update(text)
    # The series' base64 holds no "_", so no boundary can appear in it: only the small
    # parts are searched (multipart's own rule).
    head, tail = multipart([*small, series_head], digest.hexdigest())
    whole = hashlib.sha256()
    written = 0
    # chained, not unpacked into a tuple: that would hold the whole series' base64
    for piece in itertools.chain([head], _base64_lines(series_chunks(size)), [tail]):
        out.write(piece)
        whole.update(piece)
        written += len(piece)
    return LargeEntity(written, whole.hexdigest(), series.hexdigest(), series_size, rest)


def base64_size(size: int) -> int:
    """The bytes of `size` bytes in base64, lines of 76 characters joined by CRLF without a
    final break (as the scenarios write an attachment)."""
    chars = 4 * math.ceil(size / 3)
    return chars + 2 * max(math.ceil(chars / 76) - 1, 0)


_PROBE_SIZE = 1000  # over dicom_like's head: the series' bytes grow with the size from here


@functools.cache
def _entity_shape(function: Function) -> tuple[int, int]:
    """The large entity's bytes beside the series' base64, and the series' bytes beside the
    size asked (dicom_like's head), read from a small entity written."""
    probe = write_large_entity(function, _PROBE_SIZE, io.BytesIO())
    return probe.size - base64_size(probe.series_size), probe.series_size - _PROBE_SIZE


def large_entity_size(function: Function, size: int) -> int:
    """The size of the large scenario's entity (`write_large_entity`) for an attachment of
    `size` bytes (over _PROBE_SIZE), without writing it."""
    rest, head = _entity_shape(function)
    return rest + base64_size(size + head)


def largest_attachment(functions: Iterable[Function]) -> int:
    """The largest attachment whose entity, for each of `functions`, the built-in sender
    takes: it spools a content of at most REFERENCE_MAX_BYTES (else `content over N bytes`)."""
    low, high = _PROBE_SIZE, REFERENCE_MAX_BYTES
    functions = tuple(functions)
    while low < high:
        middle = (low + high + 1) // 2
        if max(large_entity_size(f, middle) for f in functions) <= REFERENCE_MAX_BYTES:
            low = middle
        else:
            high = middle - 1
    return low
