"""Large data in bounded memory: a spool file, memory-mapped, read as regions in chunks.

A message of hundreds of megabytes (an imaging report) is never held as one
`bytes`: it is spooled to a temporary file and mapped; the readers walk its
small parts (header blocks, CMS structures) through the map and stream its
large parts (a base64 body, an eContent, a ciphertext) as `Region`s, chunk by
chunk, each chunk a memoryview of the map, its pages given back to the kernel
once read (`madvise(MADV_DONTNEED)`: the file stays in the page cache, the
process's resident memory does not grow with the message). What a stage
produces (decoded DER, decrypted plaintext) goes to a new spool of its own.
"""

from __future__ import annotations

import mmap
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO, Protocol

__all__ = [
    "CHUNK",
    "Region",
    "Spool",
    "SpoolTooLarge",
    "spool_stream",
]

CHUNK = 1024 * 1024  # bytes streamed at a time (hashing, decoding, decrypting)
_PAGE = mmap.PAGESIZE


class SpoolTooLarge(Exception):
    """The stream went over the limit while being spooled: `read` bytes were read."""

    def __init__(self, read: int, limit: int) -> None:
        self.read = read
        self.limit = limit
        super().__init__(f"more than {limit} bytes")


class _Hash(Protocol):
    def update(self, data: memoryview, /) -> None: ...


class Spool:
    """A temporary file written once, then mapped read-only; removed when closed."""

    def __init__(self, directory: str | None = None) -> None:
        handle, self.path = tempfile.mkstemp(prefix="osm-spool-", dir=directory)
        self._file: BinaryIO | None = os.fdopen(handle, "w+b")
        self._map: mmap.mmap | None = None
        self.size = 0

    # --- writing ---------------------------------------------------------------------

    def write(self, data: bytes | memoryview) -> None:
        assert self._file is not None and self._map is None, "a spool is written before read"
        self._file.write(data)
        self.size += len(data)

    def seal(self) -> Spool:
        """Writing done: the file is mapped for reading (an empty file is not mapped)."""
        assert self._file is not None
        self._file.flush()
        if self.size:
            self._map = mmap.mmap(self._file.fileno(), self.size, access=mmap.ACCESS_READ)
        return self

    def whole(self) -> Region:
        return Region(self, ((0, self.size),))

    # --- reading ---------------------------------------------------------------------

    @property
    def map(self) -> mmap.mmap | bytes:
        return self._map if self._map is not None else b""

    def forget(self, start: int, end: int) -> None:
        """Give back the pages of [start, end) that were read (they stay in the cache)."""
        if self._map is None:
            return
        first = start - start % _PAGE
        if end > first:
            self._map.madvise(mmap.MADV_DONTNEED, first, min(end, self.size) - first)

    def close(self) -> None:
        if self._map is not None:
            self._map.close()
            self._map = None
        if self._file is not None:
            self._file.close()
            self._file = None
            os.unlink(self.path)

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def spool_stream(
    stream: BinaryIO, limit: int, directory: str | None = None, first: bytes = b""
) -> Spool:
    """Copy a stream (after `first`, bytes already read from it) to a sealed spool;
    SpoolTooLarge as soon as it passes `limit` bytes, without reading the rest."""
    spool = Spool(directory)
    try:
        if first:
            spool.write(first)
        while spool.size <= limit:
            chunk = stream.read(min(CHUNK, limit + 1 - spool.size))
            if not chunk:
                break
            spool.write(chunk)
        if spool.size > limit:
            raise SpoolTooLarge(spool.size, limit)
        return spool.seal()
    except BaseException:
        spool.close()
        raise


class Region:
    """Bytes of a spool: one or more (offset, length) ranges read as one sequence (a
    constructed BER string's chunks are several ranges)."""

    __slots__ = ("_size", "ranges", "spool")

    def __init__(self, spool: Spool, ranges: Iterable[tuple[int, int]]) -> None:
        self.spool = spool
        self.ranges = tuple((a, n) for a, n in ranges if n > 0)
        self._size = sum(n for _, n in self.ranges)

    def __len__(self) -> int:
        return self._size

    def __repr__(self) -> str:
        return f"Region({self._size} bytes of {self.spool.path})"

    def sub(self, start: int, end: int) -> Region:
        """The bytes [start, end) of this region, as a region."""
        found: list[tuple[int, int]] = []
        pos = 0
        for a, n in self.ranges:
            lo, hi = max(start, pos), min(end, pos + n)
            if lo < hi:
                found.append((a + lo - pos, hi - lo))
            pos += n
        return Region(self.spool, found)

    def chunks(self, size: int | None = None) -> Iterator[memoryview]:
        """The bytes in order, `size` (CHUNK) at a time, each a view of the map released
        (and its pages given back) once the consumer asks for the next."""
        size = size or CHUNK
        data = self.spool.map
        for a, n in self.ranges:
            pos, end = a, a + n
            while pos < end:
                stop = min(pos + size, end)
                view = memoryview(data)[pos:stop]
                try:
                    yield view
                finally:
                    view.release()
                    self.spool.forget(pos, stop)
                pos = stop

    def read(self, start: int = 0, end: int | None = None) -> bytes:
        """A copy of [start, end): for the small parts only (headers, structures)."""
        stop = self._size if end is None else min(end, self._size)
        if len(self.ranges) == 1:
            a = self.ranges[0][0]
            return bytes(self.spool.map[a + start : a + stop])
        return b"".join(bytes(v) for v in self.sub(start, stop).chunks())

    def feed(self, *sinks: Callable[[memoryview], object]) -> None:
        """Every chunk to each sink in turn (a hash's update, a file's write)."""
        for view in self.chunks():
            for sink in sinks:
                sink(view)

    def digest(self, make: Callable[[], _Hash]) -> _Hash:
        """A hash object fed with the whole region."""
        hashed = make()
        self.feed(hashed.update)
        return hashed

    def find(self, needle: bytes, start: int = 0, end: int | None = None) -> int:
        """The first index of `needle` in [start, end), or -1, read window by window."""
        stop = self._size if end is None else min(end, self._size)
        if len(self.ranges) != 1:
            flat = self.read(start, stop)
            index = flat.find(needle)
            return -1 if index < 0 else start + index
        base = self.ranges[0][0]
        data = self.spool.map
        pos = start
        while pos < stop:
            window_end = min(pos + CHUNK + len(needle), stop)
            index = data.find(needle, base + pos, base + window_end)
            self.spool.forget(base + pos, base + window_end)
            if index >= 0:
                return index - base
            if window_end >= stop:
                break
            pos = window_end - len(needle) + 1
        return -1

    def copy_to(self, spool: Spool) -> None:
        self.feed(spool.write)
