"""The MIME reader over a spool: a skeleton of the entity, its large bodies left out.

A large entity is cut as `core.mime` cuts it (header block to the first empty
line, multipart bodies at their delimiter lines, RFC 2046 5.1.1) while it lies
in a spool; what is copied out is its skeleton: every header block, preamble,
delimiter line and epilogue, and every body up to `part_bytes`. A larger leaf
body is left out (elided) and known by where it lies. `mime.read` then reads
the skeleton like any message, so the tree, the parameters and the structure
defects are the ones the in-memory reading gives; `Skeleton.original` maps any
range of the skeleton (an entity's raw bytes, a body) back to the spool, elided
bodies included, for the caller to stream. The bounds are the reader's
(`MimeLimits`): a header block is read up to `max_header_bytes` (past it, the
skeleton keeps one byte more, for `mime.read` to record the same header-limit
defect as on the whole bytes), and a multipart's parts up to `max_parts`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from conformance.core import mime
from conformance.core.spool import Region

__all__ = ["Skeleton", "skeleton"]


@dataclass
class _Segment:
    skel_start: int
    skel_len: int  # 0 for an elided body
    orig_start: int
    orig_len: int


@dataclass
class Skeleton:
    """The skeleton's bytes and where each of its pieces lies in the region."""

    region: Region
    data: bytes = b""
    segments: list[_Segment] = field(default_factory=list)
    elided: int = 0  # bodies left out

    def original(self, start: int, end: int) -> Region:
        """The region of the skeleton's [start, end): an elided body at `start` or at `end`
        is inside (an entity's raw bytes end with its body)."""
        return self.region.sub(self._at_start(start), self._at_end(end))

    def _at_start(self, pos: int) -> int:
        for seg in self.segments:
            if seg.skel_len == 0 and seg.skel_start == pos:
                return seg.orig_start
            if seg.skel_start <= pos < seg.skel_start + seg.skel_len:
                return seg.orig_start + pos - seg.skel_start
        return len(self.region)

    def _at_end(self, pos: int) -> int:
        for seg in reversed(self.segments):
            if seg.skel_len == 0 and seg.skel_start == pos:
                return seg.orig_start + seg.orig_len
            if seg.skel_start < pos <= seg.skel_start + seg.skel_len:
                return seg.orig_start + pos - seg.skel_start
        return 0


class _Builder:
    def __init__(self, region: Region, limits: mime.MimeLimits, part_bytes: int) -> None:
        self.region = region
        self.limits = limits
        self.part_bytes = part_bytes
        self.pieces: list[bytes] = []
        self.skel = Skeleton(region)
        self.size = 0
        self.entities = 0

    def copy(self, start: int, end: int) -> None:
        if end <= start:
            return
        data = self.region.read(start, end)
        self.skel.segments.append(_Segment(self.size, len(data), start, len(data)))
        self.pieces.append(data)
        self.size += len(data)

    def elide(self, start: int, end: int) -> None:
        self.skel.segments.append(_Segment(self.size, 0, start, end - start))
        self.skel.elided += 1

    def entity(self, start: int, end: int, depth: int) -> None:
        """Copy or elide the entity in [start, end) of the region."""
        self.entities += 1
        if end - start <= self.part_bytes:
            self.copy(start, end)
            return
        most = self.limits.max_header_bytes
        head = self.region.read(start, min(end, start + most))
        if end - start > most and not mime.header_ends_within(head):
            self.copy(start, start + most + 1)  # one byte more: `mime.read` records it
            if end > start + most + 1:
                self.elide(start + most + 1, end)
            return
        header, body_offset, has_headers, bad_line = mime.split_header(head)
        if not has_headers or bad_line is not None:
            self.elide(start, end)  # all body: content that is not a MIME entity
            return
        body_start = start + body_offset
        boundary = mime.header_param(header, "boundary")
        content_type = mime.header_content_type(header)
        too_deep = depth + 1 > self.limits.max_depth
        if not content_type.startswith("multipart/") or not boundary or too_deep:
            self.copy(start, body_start)
            self.elide(body_start, end)
            return
        self.copy(start, body_start)
        delim = b"--" + boundary.encode("utf-8", "surrogateescape")
        found = mime.delimited(self.region.sub(body_start, end), delim, self.limits.max_parts)
        pos = body_start
        for a, b in found.spans:
            self.copy(pos, body_start + a)
            if self.entities > self.limits.max_parts:
                self.elide(body_start + a, body_start + b)  # past max_parts: not read
            else:
                self.entity(body_start + a, body_start + b, depth + 1)
            pos = body_start + b
        if found.complete:
            self.copy(pos, end)
        else:  # the delimiter line where the reading stopped; the rest not read
            self.copy(pos, body_start + found.close_end)
            if body_start + found.close_end < end:
                self.elide(body_start + found.close_end, end)


def skeleton(region: Region, limits: mime.MimeLimits, part_bytes: int) -> Skeleton:
    """The skeleton of the entity that `region` holds."""
    builder = _Builder(region, limits, part_bytes)
    builder.entity(0, len(region), 0)
    builder.skel.data = b"".join(builder.pieces)
    return builder.skel
