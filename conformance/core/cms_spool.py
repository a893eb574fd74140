"""The CMS reader over a spool: a skeleton of the ContentInfo, its large string left out.

`core.cms.parse` (the fast walk, asn1crypto for the rest) reads bytes, and
asn1crypto takes no memoryview: a CMS object of hundreds of megabytes is not
given to it. Its skeleton is: the same structure, with every element up to
`part_bytes` copied as it is, and the largest OCTET STRING over it (eContent or
encryptedContent, primitive or in BER chunks) replaced by an empty one; the
lengths around it are written again (definite), and every other element is
copied as it is (its elements read by `core.cms.element_end`, as in memory).
`parse` reads the skeleton into the usual parts, whose content is then empty,
and the large string is given aside as a `Region` of the spool: where its
bytes (chunks joined) lie.
"""

from __future__ import annotations

from typing import NamedTuple

from conformance.core.cms import (
    MAX_DEPTH,
    CmsError,
    element_end,
    element_header,
    invalid_encoding,
)
from conformance.core.spool import Region

__all__ = ["Skeleton", "skeleton"]


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    size = (n.bit_length() + 7) // 8
    return bytes((0x80 | size,)) + n.to_bytes(size, "big")


class _Walk:
    def __init__(self, region: Region, part_bytes: int) -> None:
        if len(region.ranges) > 1:
            raise ValueError("a CMS skeleton is read from one range")
        self.base = region.ranges[0][0] if region.ranges else 0
        self.end = self.base + len(region)
        self.data = region.spool.map
        self.region = region
        self.part_bytes = part_bytes
        self.strings: list[tuple[int, list[tuple[int, int]]]] = []  # (where, chunks) left out
        self.only: int | None = None  # where the one string to leave out begins

    def leave_out(self, pos: int, ranges: list[tuple[int, int]]) -> bool:
        if self.only is not None and pos != self.only:
            return False
        self.strings.append((pos, ranges))
        return True

    def header(self, pos: int, end: int) -> tuple[int, int, int | None]:
        """(tag, where the contents begin, their length or None when indefinite)."""
        return element_header(self.data, pos, end, self.base)

    def element(self, pos: int, end: int, depth: int) -> tuple[bytes, int]:
        """(the element's skeleton, where the next element begins)."""
        if depth > MAX_DEPTH:
            raise invalid_encoding(f"nesting deeper than {MAX_DEPTH} levels")
        tag, a, length = self.header(pos, end)
        if length is not None and a + length - pos <= self.part_bytes:
            # Copied as it is, its elements read as the in-memory reader reads them.
            element_end(self.data, pos, end, depth, self.base)
            return bytes(self.data[pos : a + length]), a + length
        if not tag & 0x20:
            assert length is not None
            if tag in (0x04, 0x80) and self.leave_out(pos, [(a, length)]):
                return bytes((tag, 0)), a + length
            return bytes(self.data[pos : a + length]), a + length
        left_out = len(self.strings)
        children: list[tuple[int, int, int | None]] = []
        pos_child = a
        stop = end if length is None else a + length
        while True:
            if length is None:
                if pos_child + 2 > end:
                    raise invalid_encoding("indefinite length without its end-of-contents")
                if self.data[pos_child] == 0 and self.data[pos_child + 1] == 0:
                    next_pos = pos_child + 2
                    break
            elif pos_child >= stop:
                next_pos = stop
                break
            child_tag, child_a, child_length = self.header(pos_child, stop)
            children.append((pos_child, child_tag, child_length))
            if child_length is None:
                _, pos_child = self.element(pos_child, stop, depth + 1)
            else:
                pos_child = child_a + child_length
        if children and all(t == 0x04 for _, t, _ in children):
            # An OCTET STRING in BER chunks ([0] IMPLICIT encryptedContent, or an eContent
            # [0] EXPLICIT holding one string): one string, left out whole.
            ranges: list[tuple[int, int]] = []
            for child_pos, _, child_length in children:
                _, child_a, _ = self.header(child_pos, stop)
                assert child_length is not None
                ranges.append((child_a, child_length))
            if self.leave_out(pos, ranges):
                return bytes((tag,)) + b"\x02\x04\x00", next_pos
        parts = [self.element(child_pos, stop, depth + 1)[0] for child_pos, _, _ in children]
        if len(self.strings) == left_out:
            # Nothing left out inside: copied as it is, so that its BER (an indefinite
            # length, which asn1crypto takes on a string where it refuses a constructed
            # definite one) reads as it does in memory.
            return bytes(self.data[pos:next_pos]), next_pos
        body = b"".join(parts)
        return bytes((tag,)) + _length(len(body)) + body, next_pos


class Skeleton(NamedTuple):
    der: bytes  # the ContentInfo's skeleton
    large: Region | None  # the large string left out
    trailing: int  # octets after the ContentInfo (`core.cms.ContentInfo.trailing`)


def skeleton(region: Region, part_bytes: int) -> Skeleton:
    """The ContentInfo's skeleton; CmsError when the structure does not read, or holds
    more than one large string. Octets after the ContentInfo are counted, not read, as
    the in-memory reader does (`core.cms.ContentInfo`)."""
    if not len(region):
        raise CmsError("", "empty CMS object", "empty")
    walk = _Walk(region, part_bytes)
    der, next_pos = walk.element(walk.base, walk.end, 0)
    trailing = walk.end - next_pos
    if not walk.strings:
        return Skeleton(der, None, trailing)
    if len(walk.strings) > 1:  # the content is the largest; the others are copied
        largest = max(walk.strings, key=lambda s: sum(n for _, n in s[1]))
        walk = _Walk(region, part_bytes)
        walk.only = largest[0]
        der, _ = walk.element(walk.base, walk.end, 0)
    return Skeleton(der, Region(region.spool, walk.strings[0][1]), trailing)
