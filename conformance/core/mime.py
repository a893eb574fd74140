"""The one MIME reader: a message cut into an immutable tree over the exact bytes received.

The stdlib `email` package reads header fields and parameters well, but it
re-serialises what it parses and repairs what is wrong, while a
multipart/signed signature covers the first part's bytes exactly as sent and
a validator must see each defect. So entities are cut here: headers from body
at the first empty line, multipart bodies at their delimiter lines as RFC 2046
5.1.1 defines them (the line break before a delimiter belongs to it); `email`
only parses the header fields, and their parameters are read here too (in
linear time: `Message.get_params` is quadratic in their number). Nothing raises
on bad input: each entity keeps the defects found in it (`Defect`: a code, the
MIME path, a line number), and each judge (the strict receiver, the validator,
the tool agents) decides which it refuses. Work is bounded by `MimeLimits`
(depth, parts, header block bytes), counted in a `Count` that a caller may
share across the layers it unwraps; a hostile body costs no Python step per
line (`delimited`).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import MISSING, dataclass, field, fields
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import collapse_rfc2231_value, decode_params, getaddresses, unquote
from typing import Any, Literal, NamedTuple, Protocol

import pybase64

from conformance.core.bilingual import Facts

__all__ = [
    "Count",
    "Decoded",
    "Defect",
    "DefectCode",
    "Delimiters",
    "Entity",
    "InMemory",
    "MimeLimits",
    "Parameters",
    "Searchable",
    "addresses",
    "canonicalize",
    "delimited",
    "header_content_type",
    "header_ends_within",
    "header_fields",
    "header_param",
    "parameters",
    "read",
    "split_header",
    "strip_trailing_whitespace",
    "to_lf",
]

DefectCode = Literal[
    "no-header",  # the first line is not a header field (a headerless entity)
    "header-without-colon",  # a line inside the header block that is no field
    "non-ascii-header",  # an octet outside printable US-ASCII (HTAB, CR, LF aside) in the header
    "header-limit",  # a header block not ended within MimeLimits.max_header_bytes
    "missing-boundary",  # a multipart without its boundary parameter
    "bad-boundary",  # a boundary outside RFC 2046's 1 to 70 bchars
    "boundary-too-long",  # a boundary over MimeLimits.max_boundary
    "no-delimiter",  # no delimiter line of the boundary in the body
    "unterminated-multipart",  # no close delimiter
    "no-parts",  # delimiters but no body part
    "depth-limit",  # the parts lie deeper than MimeLimits.max_depth: not read
    "parts-limit",  # more entities than MimeLimits.max_parts: the rest not read
    "bare-lf",  # a LF without its CR
    "bare-cr",  # a CR without its LF
    "long-line",  # a line over MimeLimits.max_line octets
    "eight-bit-in-7bit",  # an octet over 127 in a 7bit body
    "nul-in-7bit",  # a NUL in a 7bit body
    "bad-base64",
    "bad-quoted-printable",
    "unknown-transfer-encoding",
]


@dataclass(frozen=True)
class Defect:
    """What is wrong, where: `path` is the entity's MIME path, `line` a line of the bytes
    given to `read` (1 for the first), `message` the finding in words (English). `values`:
    the facts `message` names, by name, so that a caller can word the defect in another
    language from its `code` (the validator's French report) without reading the English;
    not compared (the same defect whatever its wording)."""

    code: DefectCode
    path: str
    line: int
    message: str
    values: Facts = field(default=(), compare=False)


@dataclass(frozen=True)
class MimeLimits:
    """Bounds of the reading: nesting depth and entities read (a hostile message stops
    early), the line length RFC 5322 2.1.1 allows, the longest boundary read, and the bytes
    within which a header block must end (a reader in bounded memory reads no more of it:
    `core.mime_spool`; the in-memory reader applies the same bound, for the same answer)."""

    max_depth: int = 8
    max_parts: int = 256
    max_line: int = 998
    max_boundary: int = 200
    max_header_bytes: int = 256 * 1024


@dataclass
class Count:
    """Entities read so far, against `MimeLimits.max_parts`; shared across reads."""

    entities: int = 0


@dataclass(frozen=True)
class Decoded:
    """A body with its transfer encoding undone, or the defect that stopped it."""

    data: bytes | None
    defect: Defect | None


class _DecodedFacts(NamedTuple):
    """What an entity keeps of its decoding when it does not keep the decoded body."""

    size: int | None  # the octets decoded; None: the body does not decode
    defect: Defect | None
    streams: bool  # `_pieces` decodes it (else only `_decode_checked` does)

    @classmethod
    def of(cls, decoding: Decoded, streams: bool) -> _DecodedFacts:
        data = decoding.data
        return cls(None if data is None else len(data), decoding.defect, streams)


# A body over this many octets is not kept decoded by its entity (an imaging attachment of
# hundreds of megabytes): it is decoded again when asked for whole, and read a piece at a
# time for its size, its defect and the scans of the validator's rules.
_KEEP = 1024 * 1024


BrokenHeader = Literal["split", "body"]

# RFC 5322 2.2: field name = printable US-ASCII except ':'; obsolete syntax allows
# blanks before the colon.
_FIELD_LINE = re.compile(rb"[!-9;-~]+[ \t]*:")
# The first empty line (the end of a header block), and a block of only field lines and
# their continuations, each ended by LF: `_split_header`'s fast path.
_BLOCK_END = re.compile(rb"\n\r?\n")
_FIELD_BLOCK = re.compile(rb"(?:[!-9;-~]+[ \t]*:[^\n]*\n(?:[ \t][^\n]*\n)*)+")
# A field line as the stdlib's feedparser reads it (no blank before the colon).
_PLAIN_FIELD = re.compile(r"[!-9;-~]+:")
_HEADER_PARSER = BytesHeaderParser(policy=compat32)
_BCHARS = re.compile(r"^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$")
QP_BAD_ESCAPE = re.compile(rb"=(?![0-9A-Fa-f]{2}|[ \t]*\r?\n|[ \t]*\Z)")
_BASE64_OUTSIDE = re.compile(rb"[^A-Za-z0-9+/=]")
# A line end that is not CRLF (RFC 5322 2.3). Each pattern begins with its byte, so a
# search jumps from LF to LF (CR to CR); written as `(?<!\r)\n` the LF one tries every
# position, 35 times slower on a letter.
BARE_LF = re.compile(rb"\n(?<!\r\n)")
BARE_CR = re.compile(rb"\r(?!\n)")
_EIGHT_BIT = re.compile(rb"[\x80-\xff]")
# What a header block may not hold (RFC 5322 2.2, 3.2.3): an octet outside printable US-ASCII
# but HTAB and the line ends (a bare CR or LF is MIME-001's); a control character (ESC, BEL)
# would reach a terminal that shows the field.
_NOT_PRINTABLE = re.compile(rb"[^\t\r\n\x20-\x7e]")
_PRINTABLE = b"\t\r\n" + bytes(range(0x20, 0x7F))  # `translate` deletes them: 6 times faster
# A line that may yet become a header field (a name, blanks, then the colon past the bytes
# read): `header_ends_within` cannot judge it from them.
_FIELD_START = re.compile(rb"[!-9;-~]+[ \t]*")

# An RFC 2231 parameter name: `name*` (charset'language'value) or a section `name*N[*]`.
_RFC2231_NAME = re.compile(r"\w+\*(?:[0-9]+\*?)?", re.ASCII)
# The parameters given in both forms on purpose: a file name, plain for the readers that
# know no RFC 2231 and in RFC 2231 form for the others (RFC 6266 4.3; MUAs do the same with
# Content-Type's `name`). Any other name given in both forms is repeated (`_parameters`).
_TWO_FORMS = frozenset({"filename", "name"})


@dataclass(frozen=True)
class Parameters:
    """The parameters of a header field (Content-Type, Content-Disposition): `values` by
    lowercase name, the first given of each (RFC 2231 sections joined and decoded; None when
    they cannot be), and the names given more than once (an error, RFC 6838 4.3: readers
    differ on which applies). Shared by every reading of the same value: not to be changed."""

    values: dict[str, str | None]
    repeated: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class Entity:
    """One MIME entity over its exact bytes, with its parts when it is a multipart.

    `offset` and `size` (and `line`) place `raw` in the bytes given to `read`, `source`;
    `body_offset` places the body in `raw`. The entities of a tree share `source`: `raw`
    and `body` are copied out of it only when asked for, and the entity's own scans
    (defects, decoding) read `source` in place, a large body's decoding not kept
    (`decoding`), so a tree holds its message once. A multipart's `spans` are where its
    parts lie in its body; what lies outside them (preamble, delimiter lines, epilogue) is
    its own.
    """

    header: bytes  # the header block, without the empty line that ends it
    headers: Message  # the parsed header fields (not to be changed)
    path: str  # MIME path: "1", "1.2", ...
    origin: str  # "message", "mime" (a multipart's part), or what carried the bytes
    depth: int
    has_headers: bool  # False: the first line was no header field, all is body
    content_type: str  # lowercase type/subtype; text/plain when absent or invalid (RFC 2045 5.2)
    source: bytes = field(repr=False)  # the bytes given to `read` (shared, not copied)
    offset: int
    size: int  # len(raw)
    body_offset: int
    boundary: str | None = None
    spans: tuple[tuple[int, int], ...] = ()
    preamble: bytes = b""
    epilogue: bytes = b""
    closed: bool = False
    children: tuple[Entity, ...] = ()
    structure: tuple[Defect, ...] = ()  # defects found while cutting the tree
    header_defects: tuple[Defect, ...] = ()
    limits: MimeLimits = field(default_factory=MimeLimits)

    # --- header fields --------------------------------------------------------------

    @property
    def declared_type(self) -> str | None:
        value = self.headers.get("content-type")
        return None if value is None else str(value)

    @property
    def is_multipart(self) -> bool:
        return self.content_type.startswith("multipart/")

    def param(self, name: str, header: str = "content-type") -> str | None:
        """A parameter of a field (RFC 2231 values collapsed), or None."""
        return _param(self.headers, name, header)

    @functools.cached_property
    def transfer_encoding(self) -> str:
        value = self.headers.get("content-transfer-encoding")
        return str(value).strip().lower() if value is not None else "7bit"

    # --- body -----------------------------------------------------------------------

    @functools.cached_property
    def raw(self) -> bytes:
        """The entity's bytes (the top entity's are `source` itself, not a copy)."""
        return self.source[self.offset : self.end]

    @functools.cached_property
    def body(self) -> bytes:
        """The body, still transfer-encoded."""
        return self.source[self.body_start : self.end]

    @property
    def end(self) -> int:
        """Where the entity ends in `source`."""
        return self.offset + self.size

    @property
    def body_start(self) -> int:
        """Where the body begins in `source`."""
        return self.offset + self.body_offset

    @functools.cached_property
    def line(self) -> int:
        """The line (of the bytes read) where the entity begins; counted on demand."""
        return _line_at(self.source, self.offset)

    @property
    def body_line(self) -> int:
        """The line (of the bytes read) where the body begins."""
        return self.line + self.source.count(b"\n", self.offset, self.body_start)

    @property
    def gaps(self) -> bytes:
        """A multipart's body without its parts: preamble, delimiter lines, epilogue."""
        if not self.is_multipart:
            return b""
        base = self.body_start
        return b"".join(self.source[base + a : base + b] for a, b in self._gap_spans())

    def own_bytes(self) -> bytes:
        """The bytes this entity answers for: its header and, unless it is a multipart,
        its body (a multipart's parts answer for theirs)."""
        own = self.gaps if self.is_multipart else self.source[self.body_start : self.end]
        return self.header + b"\r\n" + own

    @property
    def decoding(self) -> Decoded:
        """The body with its Content-Transfer-Encoding undone (RFC 2045 6), on demand. Kept
        when the body is at most _KEEP octets; a larger one (an imaging attachment) is decoded
        anew on each call, so that no entity holds it beside the message: `decoded_size`,
        `decode_defect` and `decoded_chunks` answer without holding it."""
        kept: Decoded | None = self.__dict__.get("_kept")
        return kept if kept is not None else self._decode()

    def decoded(self) -> bytes | None:
        return self.decoding.data

    @property
    def decode_defect(self) -> Defect | None:
        """Why the body does not decode (None: it decodes), a large body read a piece at a
        time."""
        return self._facts.defect

    @property
    def decoded_size(self) -> int | None:
        """The octets of the decoded body (None: it does not decode), a large body read a
        piece at a time."""
        return self._facts.size

    def decoded_chunks(self, size: int | None = None) -> Iterator[bytes]:
        """The decoded body a piece at a time, each of about `size` octets of the body (_SCAN
        by default; none when it does not decode): what a scan of a large attachment reads
        instead of `decoded()`, which holds it whole. A small body comes in one piece, the
        one kept, and so does a large one only the checked decoding takes."""
        if self._small or not self._facts.streams:
            data = self.decoded()
            if data is not None:
                yield data
            return
        yield from _pieces(self, size or _SCAN)

    @property
    def _small(self) -> bool:
        """Whether the body is small enough for its decoding to be kept."""
        return self.end - self.body_start <= _KEEP

    def _decode(self) -> Decoded:
        """`decoding` made: kept when small, its facts recorded (once). A body the pieces
        gave up on once goes to the checked decoding at once; and only once the failed
        attempt is gone (inside the `except`, its traceback kept the part decoded so far)."""
        found: _DecodedFacts | None = self.__dict__.get("_decoded")
        decoding: Decoded | None = None
        if found is None or found.streams:
            with contextlib.suppress(_Irregular):
                decoding = Decoded(_joined(_pieces(self, _SCAN)), None)
        streams = decoding is not None
        if decoding is None:
            decoding = _decode_checked(self)
        if self._small:
            self.__dict__["_kept"] = decoding
        self.__dict__.setdefault("_decoded", _DecodedFacts.of(decoding, streams))
        return decoding

    @property
    def _facts(self) -> _DecodedFacts:
        """Size and defect of the decoding, found once: by `_decode`, or, for a large body not
        decoded whole, read a piece at a time."""
        found: _DecodedFacts | None = self.__dict__.get("_decoded")
        if found is None:
            if self._small:
                self._decode()
            else:
                self.__dict__["_decoded"] = _read_facts(self)
            found = self.__dict__["_decoded"]
        return found

    def walk(self) -> Iterator[Entity]:
        yield self
        for child in self.children:
            yield from child.walk()

    # --- defects ----------------------------------------------------------------------

    @functools.cached_property
    def defects(self) -> tuple[Defect, ...]:
        """Every defect of this entity's own bytes: structure, header, line ends and
        lengths, 7bit data, transfer encoding (the scans are made on first use)."""
        found = [*self.structure, *self.header_defects, *self._line_defects()]
        if not self.is_multipart:
            found.extend(self._seven_bit_defects())
            if self.decode_defect is not None:
                found.append(self.decode_defect)
        return tuple(found)

    def defects_of(self, *codes: DefectCode) -> list[Defect]:
        """The defects of these codes, in the order found."""
        return [d for d in self.defects if d.code in codes]

    @functools.cached_property
    def longest_line(self) -> tuple[int, int]:
        """(octets, line) of the longest line of the own bytes, line ends excluded."""
        longest, where = 0, self.line
        source, base = self.source, self.offset
        for start, end in self._own_segments():
            number = self.line + source.count(b"\n", base, base + start)
            for piece in _line_pieces(source, base + start, base + end):
                for text in piece.split(b"\n"):
                    size = len(text.removesuffix(b"\r"))
                    if size > longest:
                        longest, where = size, number
                    number += 1
        return longest, where

    def _gap_spans(self) -> list[tuple[int, int]]:
        gaps: list[tuple[int, int]] = []
        previous = 0
        for a, b in self.spans[: len(self.children)]:
            gaps.append((previous, a))
            previous = b
        gaps.append((previous, self.size - self.body_offset))
        return gaps

    def _own_segments(self) -> list[tuple[int, int]]:
        """Where the own bytes lie in `raw`."""
        if not self.is_multipart or not self.children:
            return [(0, self.size)]
        base = self.body_offset
        return [(0, base)] + [(base + a, base + b) for a, b in self._gap_spans() if b > a]

    def _line_defects(self) -> list[Defect]:
        found: list[Defect] = []
        segments = self._own_segments()
        source, base = self.source, self.offset
        for code, name, pattern in (("bare-lf", "LF", BARE_LF), ("bare-cr", "CR", BARE_CR)):
            # A part begins after a LF (a delimiter line's), never after a CR: the look
            # behind BARE_LF sees in `source` what it would see at the start of `raw`.
            hits = [
                m.start() for a, b in segments for m in pattern.finditer(source, base + a, base + b)
            ]
            if hits:
                line = self.line + source.count(b"\n", base, hits[0])
                message = f"{len(hits)} bare {name} (first at line {line})"
                values = (("count", len(hits)), ("line", line))
                defect = Defect(code, self.path, line, message, values)  # type: ignore[arg-type]
                found.append(defect)
        longest, where = self.longest_line
        if longest > self.limits.max_line:
            message = f"line {where} has {longest} octets"
            values = (("line", where), ("octets", longest))
            found.append(Defect("long-line", self.path, where, message, values))
        return found

    def _seven_bit_defects(self) -> list[Defect]:
        if self.transfer_encoding != "7bit":
            return []
        source, start, end = self.source, self.body_start, self.end
        eight = _EIGHT_BIT.search(source, start, end)
        if eight is not None:
            in_body = source.count(b"\n", start, eight.start()) + 1
            count = len(_EIGHT_BIT.findall(source, start, end))
            message = f"{count} 8-bit octet(s), first {eight.group()!r} in body line {in_body}"
            values = (("count", count), ("byte", repr(eight.group())), ("body_line", in_body))
            line = self.body_line + in_body - 1
            return [Defect("eight-bit-in-7bit", self.path, line, message, values)]
        nul = source.find(b"\x00", start, end)
        if nul >= 0:
            line = self.body_line + source.count(b"\n", start, nul)
            return [Defect("nul-in-7bit", self.path, line, "NUL octet in the body")]
        return []


def _line_pieces(data: bytes, start: int, end: int) -> Iterator[bytes]:
    """data[start:end] in pieces of whole lines of about _SCAN bytes, each without the LF
    that ends it: split at LF, the pieces give the lines of the whole, never all at once."""
    while end - start > _SCAN:
        cut = data.find(b"\n", start + _SCAN, end)
        if cut < 0:
            break
        yield data[start:cut]
        start = cut + 1
    yield data[start:end]


def read(
    raw: bytes,
    *,
    path: str = "1",
    origin: str = "message",
    depth: int = 0,
    limits: MimeLimits = MimeLimits(),
    count: Count | None = None,
    count_self: bool = True,
    broken_header: BrokenHeader = "split",
) -> Entity:
    """Read an entity and, for a multipart, its parts, recording defects; never raises.

    `broken_header` says how a header block broken by a line that is no field is read:
    "split", the header ends there and the rest is body (what a lenient client shows);
    "body", the whole entity is a headerless body (text/plain, as a strict reader takes
    content that is not a MIME entity). Either way a `header-without-colon` is recorded.
    `count_self` False: the entity is not counted against `max_parts` (content found
    inside a CMS object, which a receiver counts with its layers).
    """
    tally = count if count is not None else Count()
    return _read(raw, 0, len(raw), path, origin, depth, limits, tally, count_self, broken_header)


def _line_at(source: bytes, offset: int) -> int:
    return source.count(b"\n", 0, offset) + 1


def _read(
    source: bytes,
    offset: int,
    end: int,
    path: str,
    origin: str,
    depth: int,
    limits: MimeLimits,
    count: Count,
    count_self: bool,
    broken_header: BrokenHeader,
) -> Entity:
    """The entity in source[offset:end], read in place (nothing of its body is copied)."""
    split = _split_header(source, offset, end)
    header, body_offset, has_headers, bad_line = split
    header_defects: list[Defect] = []
    if not has_headers:
        line = _line_at(source, offset)
        header_defects.append(
            Defect("no-header", path, line, "the first line is not a header field")
        )
    if bad_line is not None:
        line = _line_at(source, offset)
        message = f"header line {bad_line} is not a header field (no colon)"
        at = line + bad_line - 1
        said = (("header_line", bad_line),)
        header_defects.append(Defect("header-without-colon", path, at, message, said))
        if broken_header == "body":
            header, body_offset, has_headers = b"", 0, False
    most = limits.max_header_bytes
    if end - offset > most and not _ends_within(split, source, offset, most):
        message = f"header block not ended within its first {most} bytes (limit max_header_bytes)"
        line = _line_at(source, offset)
        header_defects.append(Defect("header-limit", path, line, message, (("max", most),)))
    bad = _NOT_PRINTABLE.search(header) if header.translate(None, _PRINTABLE) else None
    if bad is not None:
        line = _line_at(source, offset)
        in_header = header.count(b"\n", 0, bad.start()) + 1
        message = f"byte {bad.group()!r} in header line {in_header}"
        values = (("byte", repr(bad.group())), ("header_line", in_header))
        at = line + in_header - 1
        header_defects.append(Defect("non-ascii-header", path, at, message, values))
    if count_self:
        count.entities += 1
    headers = _parse_headers(header)
    content_type = _content_type(headers)
    facts: _Parts = {}
    structure: list[Defect] = []
    if content_type.startswith("multipart/"):
        boundary = _param(headers, "boundary", "content-type")
        place = (source, path, depth, offset + body_offset, end)
        facts = _read_parts(boundary, content_type, place, limits, count, broken_header)
        notes = facts.pop("notes")
        if notes:
            line = _line_at(source, offset)
            structure = [
                Defect(code, path, line, message, values) for code, message, values in notes
            ]
    return _new_entity(
        {
            "header": header,
            "headers": headers,
            "path": path,
            "origin": origin,
            "depth": depth,
            "has_headers": has_headers,
            "content_type": content_type,
            "source": source,
            "offset": offset,
            "size": end - offset,
            "body_offset": body_offset,
            "header_defects": tuple(header_defects),
            "limits": limits,
            "structure": tuple(structure),
            **facts,
        }
    )


# What `Entity`'s optional fields default to (`_new_entity` applies them; a field with a
# default factory, `limits`, is always given).
_ENTITY_DEFAULTS: dict[str, Any] = {
    f.name: f.default for f in fields(Entity) if f.default is not MISSING
}


def _new_entity(values: dict[str, Any]) -> Entity:
    """`Entity(**values)`, its fields set at once. The frozen dataclass's `__init__` sets
    its fields one `object.__setattr__` call at a time, which was a twentieth of reading
    a signed and encrypted letter; the instance is the same (a test compares them)."""
    entity = object.__new__(Entity)
    entity.__dict__.update(_ENTITY_DEFAULTS)
    entity.__dict__.update(values)
    return entity


_Parts = dict[str, Any]


def _read_parts(
    boundary: str | None,
    content_type: str,
    place: tuple[bytes, str, int, int, int],
    limits: MimeLimits,
    count: Count,
    broken_header: BrokenHeader,
) -> _Parts:
    """A multipart's parts cut and read (RFC 2046 5.1.1) within the limits, and what is
    wrong with its structure ("notes": (code, message, values) triples). `place`: the
    multipart's bytes read, path and depth, where its body begins and ends in them."""
    source, path, depth, offset, end = place
    notes: list[tuple[DefectCode, str, Facts]] = []
    if not boundary:
        message = f"{content_type} without a boundary parameter"
        notes.append(("missing-boundary", message, (("content_type", content_type),)))
        return {"notes": notes}
    if not _BCHARS.match(boundary):
        notes.append(
            (
                "bad-boundary",
                f"boundary {boundary[:80]!r} is not 1 to 70 characters of the RFC 2046 set",
                (("boundary", repr(boundary[:80])),),
            )
        )
    if len(boundary) > limits.max_boundary:
        notes.append(
            (
                "boundary-too-long",
                f"boundary parameter longer than {limits.max_boundary} characters",
                (("max", limits.max_boundary),),
            )
        )
    if depth + 1 > limits.max_depth:
        notes.append(
            (
                "depth-limit",
                f"nesting deeper than {limits.max_depth} levels (limit max_depth): "
                "parts not examined",
                (("max", limits.max_depth),),
            )
        )
        return {"notes": notes, "boundary": boundary}
    delim = b"--" + boundary.encode("utf-8", "surrogateescape")
    shown = delim.decode("utf-8", "replace")
    found = delimited(InMemory(source, offset, end), delim, limits.max_parts)
    spans = found.spans
    if found.last_start is None:
        message = f"no boundary delimiter {shown!r} in the body"
        notes.append(("no-delimiter", message, (("delimiter", repr(shown)),)))
        return {"notes": notes, "boundary": boundary}
    if not found.closed and found.complete:
        message = f"no close delimiter {shown}-- (truncated multipart)"
        notes.append(("unterminated-multipart", message, (("delimiter", shown),)))
    children: list[Entity] = []
    for index, (a, b) in enumerate(spans, start=1):
        if count.entities >= limits.max_parts:
            notes.append(
                (
                    "parts-limit",
                    f"more than {limits.max_parts} MIME parts (limit max_parts): "
                    "the rest not examined",
                    (("max", limits.max_parts),),
                )
            )
            break
        children.append(
            _read(
                source,
                offset + a,
                offset + b,
                f"{path}.{index}",
                "mime",
                depth + 1,
                limits,
                count,
                True,
                broken_header,
            )
        )
    if not spans:
        notes.append(("no-parts", "multipart with no body part", ()))
    return {
        "notes": notes,
        "boundary": boundary,
        "spans": tuple(spans),
        "preamble": source[offset : offset + found.first],
        "epilogue": source[offset + found.close_end : end] if found.closed else b"",
        "closed": found.closed,
        "children": tuple(children),
    }


class Searchable(Protocol):
    """Bytes searched and read a piece at a time: in memory (`InMemory`), or a spool's
    Region, which never holds them all."""

    def __len__(self) -> int: ...

    def find(self, needle: bytes, start: int = 0, end: int | None = None) -> int: ...

    def read(self, start: int = 0, end: int | None = None) -> bytes: ...

    def chunks(self, size: int | None = None) -> Iterator[bytes | memoryview]: ...


class InMemory:
    """Bytes in memory, or data[start:end] of them, as a `Searchable`: the bytes themselves
    in one chunk, or a slice of them read in place, `size` at a time."""

    __slots__ = ("data", "end", "start")

    def __init__(self, data: bytes, start: int = 0, end: int | None = None) -> None:
        self.data = data
        self.start = start
        self.end = len(data) if end is None else end

    def __len__(self) -> int:
        return self.end - self.start

    def _bound(self, end: int | None) -> int:
        return self.end if end is None else self.start + min(max(end, 0), len(self))

    def find(self, needle: bytes, start: int = 0, end: int | None = None) -> int:
        found = self.data.find(needle, self.start + start, self._bound(end))
        return found if found < 0 else found - self.start

    def read(self, start: int = 0, end: int | None = None) -> bytes:
        return self.data[self.start + start : self._bound(end)]

    def chunks(self, size: int | None = None) -> Iterator[bytes | memoryview]:
        if self.start == 0 and self.end == len(self.data):
            yield self.data
            return
        step = size or max(len(self), 1)
        with memoryview(self.data) as view:
            for at in range(self.start, self.end, step):
                yield view[at : min(at + step, self.end)]


class Delimiters(NamedTuple):
    """Where `delimited` found a multipart's parts, on the raw bytes of its body."""

    spans: list[tuple[int, int]]  # (start, end) of each part
    first: int  # where the first delimiter line begins (the preamble's end)
    last_start: int | None  # where the last part begins; None: no delimiter line
    closed: bool  # the close delimiter was found
    close_end: int  # where its line ends (or that of the line the reading stopped at)
    complete: bool = True  # False: stopped past `max_parts` parts, the rest not read


_SCAN = 1024 * 1024  # the bytes of a spooled body searched at a time


# What may follow the delimiter on a delimiter line (RFC 2046 5.1.1): "--" (group 1: the
# close delimiter), or blanks and the line end; group 2: the blanks ran to the end of the
# bytes searched (`_delimiter_at` decides there).
_AFTER_DELIMITER = rb"(?:(--)|[ \t]*(?:[\r\n]|(\Z)))"
_AFTER_DELIMITER_RE = re.compile(_AFTER_DELIMITER)
# The lines that only begin with the delimiter ("--boundaryX") a search steps over one by
# one before it compiles the delimiter's own regex, which passes over the rest in C. A
# message has none of them: compiling a regex per boundary (each message has its own)
# cost more than reading the message's parts.
_STEPS = 16


class _Delimiter(NamedTuple):
    """A delimiter line `_delimiter_search` found."""

    start: int  # where the LF before the delimiter lies in the bytes searched
    close: bool  # followed by "--": the close delimiter
    open_end: bool  # blanks up to the end of the bytes searched: undecided


@functools.lru_cache(maxsize=64)
def _delimiter_pattern(needle: bytes) -> re.Pattern[bytes]:
    return re.compile(re.escape(needle) + _AFTER_DELIMITER)


def _delimiter_search(delim: bytes) -> Callable[[bytes, int], _Delimiter | None]:
    """The search for the next delimiter line, from the LF that ends the line before.
    `bytes.find` jumps to the first candidate (a part's body is passed over at its speed,
    a regex's is a third of it); past `_STEPS` candidates that are no delimiter line, the
    delimiter's own regex passes over such lines in C (a body of a million of them stays
    linear and fast)."""
    needle = b"\n" + delim
    steps = 0

    def search(data: bytes, start: int) -> _Delimiter | None:
        nonlocal steps
        at = data.find(needle, start)
        while at >= 0 and steps <= _STEPS:
            after = _AFTER_DELIMITER_RE.match(data, at + len(needle))
            if after is not None:
                return _Delimiter(at, after.group(1) is not None, after.group(2) is not None)
            steps += 1
            at = data.find(needle, at + 1)
        found = None if at < 0 else _delimiter_pattern(needle).search(data, at)
        if found is None:
            return None
        return _Delimiter(found.start(), found.group(1) is not None, found.group(2) is not None)

    return search


def _delimiter_at(body: Searchable, i: int, delim: bytes) -> bool | None:
    """Whether the line at `i` is a delimiter line, read from `body`: True for the close
    delimiter, False for another, None for none ("--boundaryX": a longer string)."""
    pos = i + len(delim)
    if body.read(i, pos) != delim:
        return None
    if body.read(pos, pos + 2) == b"--":
        return True
    while True:  # the blanks after the delimiter, a window at a time
        window = body.read(pos, pos + 64)
        blanks = len(window) - len(window.lstrip(b" \t"))
        pos += blanks
        if blanks < 64:
            break
    return False if pos >= len(body) or window[blanks : blanks + 1] in (b"\r", b"\n") else None


class _Cutting:
    """The parts `delimited` has found so far."""

    def __init__(self, body: Searchable, max_parts: int | None) -> None:
        self.body = body
        self.size = len(body)
        self.max_parts = max_parts
        self.spans: list[tuple[int, int]] = []
        self.start: int | None = None  # where the current part's bytes begin
        self.first = self.size
        self.closed = False
        self.close_end = self.size
        self.complete = True

    def delimiter(self, i: int, close: bool, line_end: int) -> bool:
        """The delimiter line [i, line_end) ends a part; True when the reading stops there
        (the close delimiter, or one part past `max_parts`)."""
        crlf = i >= 2 and self.body.read(i - 2, i) == b"\r\n"
        end = i if i == 0 else (i - 2 if crlf else i - 1)  # the line break before is its
        if self.start is not None:
            self.spans.append((self.start, max(end, self.start)))
        else:
            self.first = end
        if close:
            self.closed, self.close_end = True, line_end
            return True
        self.start = line_end
        if self.max_parts is not None and len(self.spans) > self.max_parts:
            self.complete, self.close_end = False, line_end
            return True
        return False

    def found(self) -> Delimiters:
        if self.start is not None and not self.closed and self.complete:
            self.spans.append((self.start, self.size))
        return Delimiters(
            self.spans, self.first, self.start, self.closed, self.close_end, self.complete
        )


def delimited(body: Searchable, delim: bytes, max_parts: int | None = None) -> Delimiters:
    """Where each complete part lies between delimiter lines, on the raw bytes (without a
    close delimiter, the last part runs to the end); past `max_parts` parts the reading
    stops, the rest not read (a body of a million delimiter lines stays small).

    In linear time: a search in C (`_delimiter_search`), a chunk of the body at a time,
    stops only at delimiter lines (a line that merely begins with the delimiter costs no
    Python step: before, a find and three reads each, minutes for a spooled gigabyte); a
    spooled body is never held whole (a chunk, and the few bytes of the one before that a
    line cut by its end needs).
    """
    size = len(body)
    cutting = _Cutting(body, max_parts)
    pos = 0  # where the next delimiter line may begin
    close = _delimiter_at(body, 0, delim)
    if close is not None:
        nl = body.find(b"\n", len(delim))
        if cutting.delimiter(0, close, size if nl < 0 else nl + 1):
            return cutting.found()
        pos = cutting.start or 0
    search = _delimiter_search(delim)
    keep = len(delim) + 3  # a candidate cut by a chunk's end: "\n", delimiter, "--"
    tail = b""
    offset = 0  # where the next chunk begins in the body
    for chunk in body.chunks(_SCAN):
        data = tail + chunk if tail else bytes(chunk)
        base = offset - len(tail)  # where data[0] lies in the body
        offset += len(chunk)
        ends = offset >= size  # the data reach the body's end
        match = search(data, max(pos - 1 - base, 0))
        while match is not None:
            i = base + match.start + 1
            # Blanks up to the chunk's end: the line is read on past it.
            decided = _delimiter_at(body, i, delim) if match.open_end and not ends else match.close
            if decided is None:
                pos = i + 1
            else:
                nl = data.find(b"\n", match.start + 1 + len(delim))
                if nl < 0 and not ends:
                    far = body.find(b"\n", base + len(data))
                    line_end = size if far < 0 else far + 1
                else:
                    line_end = size if nl < 0 else base + nl + 1
                if cutting.delimiter(i, decided, line_end):
                    return cutting.found()
                pos = line_end
            match = search(data, max(pos - 1 - base, 0))
        tail = data[-keep:]
    return cutting.found()


def _split_header(
    raw: bytes, start: int = 0, stop: int | None = None
) -> tuple[bytes, int, bool, int | None]:
    """(header block, where the body begins, has headers, line of a non-field line that
    ended the block or None). The block ends at the first empty line.

    The common case, a block of well-formed fields closed by an empty line, is recognised
    by two regex scans; anything else is read line by line (same answers: a test compares
    both).
    """
    stop = len(raw) if stop is None else stop
    end = _BLOCK_END.search(raw, start, stop)
    if end is not None and _FIELD_BLOCK.fullmatch(raw, start, end.start() + 1):
        return raw[start : end.start() + 1], end.end() - start, True, None
    return _split_header_lines(raw, start, stop)


def split_header(raw: bytes) -> tuple[bytes, int, bool, int | None]:
    """Where an entity's header block ends, as `read` cuts it (`_split_header`)."""
    return _split_header(raw)


def header_ends_within(head: bytes) -> bool:
    """Whether the header block of an entity whose first bytes (more follow) are `head` ends
    within them, as `read` cuts it: the line that ends it (the empty line, or the first line
    that is no field) known from `head` alone. A line cut by the end of `head` is known only
    when no field can begin it (a field name may run past `head`, an empty line's LF too).
    Both readers judge `MimeLimits.max_header_bytes` with it, on the same bytes (`read` from
    the split it made of the whole entity: `_ends_within`). False for empty bytes: no block
    ends in them."""
    return _ends_within(_split_header(head), head, 0, len(head))


def _ends_within(
    split: tuple[bytes, int, bool, int | None], data: bytes, start: int, most: int
) -> bool:
    """`header_ends_within(data[start : start + most])` from `split`, the `_split_header` of
    data[start:] (what `read` has) or of those bytes alone: the same answer, since both find
    the same line ending the block when it lies whole within them, and a line cut by their
    end is judged from its bytes there."""
    header, body_offset, has_headers, bad_line = split
    if has_headers and bad_line is None:  # ended by an empty line, its LF within them?
        return len(header) < body_offset <= most and data[start + body_offset - 1] == 0x0A
    if body_offset >= most:
        return False  # the line that is no field begins past them: they are all fields
    last = data[start + body_offset : start + most]  # that line (or no header at all)
    # A CR alone there may begin an empty line (its LF past them): those bytes alone read
    # it so, an empty line not known to end within them.
    return b"\n" in last or (last != b"\r" and _FIELD_START.fullmatch(last) is None)


def header_fields(raw: bytes) -> Message:
    """The header fields of a message or entity as `read` cuts and parses its header block:
    the one reader's From, To, Message-ID... without reading the body (not to be changed)."""
    return _parse_headers(_split_header(raw)[0])


def header_content_type(header: bytes) -> str:
    """The content type a header block declares, as `Entity.content_type` reads it."""
    return _content_type(_parse_headers(header))


def header_param(header: bytes, name: str) -> str | None:
    """A Content-Type parameter of a header block, as `Entity.param` reads it."""
    return _param(_parse_headers(header), name, "content-type")


def _split_header_lines(
    raw: bytes, start: int = 0, size: int | None = None
) -> tuple[bytes, int, bool, int | None]:
    """`_split_header` line by line: every case, headerless and broken blocks included."""
    size = len(raw) if size is None else size
    pos = start
    number = 1
    while pos < size:
        nl = raw.find(b"\n", pos, size)
        end = size if nl < 0 else nl
        text = raw[pos:end]
        if text.endswith(b"\r"):
            text = text[:-1]
        if not text:
            return raw[start:pos], (size if nl < 0 else nl + 1) - start, True, None
        if text[:1] in (b" ", b"\t"):
            if pos == start:
                return b"", 0, False, None
        elif not _FIELD_LINE.match(text):
            if pos == start:
                return b"", 0, False, None
            return raw[start:pos], pos - start, True, number
        if nl < 0:
            break
        pos = nl + 1
        number += 1
    return raw[start:size], size - start, size > start, None


def _content_type(headers: Message) -> str:
    """`Message.get_content_type` (text/plain when absent or invalid), cached per value:
    the same few Content-Type values recur in every message."""
    value = headers.get("content-type")
    return "text/plain" if value is None else _type_of(str(value))


@functools.lru_cache(maxsize=256)
def _type_of(value: str) -> str:
    ctype = value.partition(";")[0].strip().lower()
    return ctype if ctype.count("/") == 1 else "text/plain"


def _parse_headers(header: bytes) -> Message:
    """The header block as `BytesHeaderParser(policy=compat32)` parses it, made cheaper.

    The feedparser costs about 0.1 ms per entity, most of it machinery for
    bodies and streaming that a header block already cut does not need. Its
    field splitting is done here directly, for the common case only: any bare
    CR, blank before a colon or "From " line (the feedparser treats these
    specially) goes to the stdlib parser itself. The fields of a block are
    cached: the inner entities' blocks recur from message to message.
    """
    fields = _header_fields(header)
    if fields is None:
        return _HEADER_PARSER.parsebytes(header + b"\r\n")
    message = Message(policy=compat32)
    for name, value in fields:
        message.set_raw(name, value)
    return message


@functools.lru_cache(maxsize=256)
def _header_fields(header: bytes) -> tuple[tuple[str, str], ...] | None:
    """(name, value) of each field as compat32 reads it; None when the stdlib parser must."""
    text = (header + b"\r\n").decode("ascii", "surrogateescape")
    if text.count("\r") != text.count("\r\n"):
        return None
    fields: list[tuple[str, str]] = []
    lines: list[str] = []
    for line in text.split("\n"):
        if line in ("", "\r"):
            break  # the empty line closing the block (as the feedparser stops there)
        if line[0] in " \t":
            if not lines:
                return None
            lines.append(line + "\n")
            continue
        if line.startswith("From ") or not _PLAIN_FIELD.match(line):
            return None
        if lines:
            fields.append(compat32.header_source_parse(lines))
        lines = [line + "\n"]
    if lines:
        fields.append(compat32.header_source_parse(lines))
    return tuple(fields)


def _param(headers: Message, name: str, header: str) -> str | None:
    """A parameter of a header field, blanks around it removed; None when absent or
    unreadable."""
    value = parameters(headers, header).values.get(name.lower())
    return None if value is None else value.strip()


_NO_PARAMETERS = Parameters({}, ())


def parameters(headers: Message, header: str = "content-type") -> Parameters:
    """The parameters of a header field (none when it is absent)."""
    raw = headers.get(header)
    return _NO_PARAMETERS if raw is None else _parameters(str(raw))


@functools.lru_cache(maxsize=256)
def _parameters(value: str) -> Parameters:
    """The parameters of a field value, as `Message.get_param` reads them but for the
    quoting: a quoted string loses its quotes once (`email.utils.unquote` also strips
    <...>, and `get_param` unquotes twice). In linear time: `email.message._parseparam`
    slices and recounts the rest of the value at each ";", quadratic in the number of
    parameters (a 2 MB field took 40 s). Cached per value (the same few values recur).

    A name given both plain and in an RFC 2231 form (`name*`, `name*0`, `name*0*`) is
    repeated: readers differ on which applies (the email package reads the plain value, as
    this does; others the RFC 2231 one), but for the file names of `_TWO_FORMS`."""
    values: dict[str, str | None] = {}
    seen: set[str] = set()
    repeated: list[str] = []
    extended: list[tuple[str, str]] = []
    forms: dict[str, int] = {}  # per name, the forms given: 1 plain, 2 RFC 2231, 3 both
    for item in _split_parameters(value)[1:]:
        name, equals, text = item.partition("=")
        name, text = name.strip().lower(), text.strip()
        if not equals or not name:
            continue  # no parameter (a bare word, an empty item between ";")
        if name in seen and name not in repeated:
            repeated.append(name)
        seen.add(name)
        if _RFC2231_NAME.fullmatch(name):
            extended.append((name, text))
            base = name.partition("*")[0]
            forms[base] = forms.get(base, 0) | 2
        else:
            values.setdefault(name, _unquoted(text))
            forms[name] = forms.get(name, 0) | 1
    repeated += [
        name
        for name, given in forms.items()
        if given == 3 and name not in _TWO_FORMS and name not in repeated
    ]
    for name, joined in _rfc2231_values(extended):
        values.setdefault(name, joined)
    return Parameters(values, tuple(repeated))


def _split_parameters(value: str) -> list[str]:
    """The ";"-separated items of a field value as `email.message._parseparam` cuts them (a
    ";" inside an odd number of unescaped '"' does not cut), each scanned once."""
    items: list[str] = []
    size = len(value)
    start = 0
    while True:
        end = value.find(";", start)
        counted, quotes = start, 0
        while end > start:  # quotes counted from `start`, each stretch once
            quotes += value.count('"', counted, end) - value.count('\\"', counted, end)
            counted = end
            if quotes % 2 == 0:
                break
            end = value.find(";", end + 1)
        if end < 0:
            end = size
        items.append(value[start:end].strip())
        if end >= size:
            return items
        start = end + 1


def _unquoted(text: str) -> str:
    """A quoted string's content (RFC 2045 5.1), its quoted pairs undone as the email
    package undoes them; any other value as it is."""
    if len(text) > 1 and text[0] == text[-1] == '"':
        return text[1:-1].replace("\\\\", "\\").replace('\\"', '"')
    return text


def _rfc2231_values(extended: list[tuple[str, str]]) -> list[tuple[str, str | None]]:
    """RFC 2231 parameters (`name*`, `name*0`, `name*1*`...) joined and decoded as the email
    package does (`decode_params`, `collapse_rfc2231_value`); None for a name whose value
    cannot be (sections mixed with `name*`, an unknown or unusable charset)."""
    if not extended:
        return []
    try:
        decoded = decode_params([("", ""), *extended])[1:]
    except (ValueError, TypeError, LookupError):
        return [(name.partition("*")[0], None) for name, _ in extended]
    found: list[tuple[str, str | None]] = []
    for name, value in decoded:
        try:
            if isinstance(value, tuple):
                charset, language, text = value
                value = (charset, language, unquote(text))
            else:
                value = unquote(value)
            found.append((name, str(collapse_rfc2231_value(value))))
        except (ValueError, TypeError, LookupError):
            found.append((name, None))
    return found


class _Irregular(Exception):
    """A body `_pieces` does not decode a piece at a time: `_decode_checked` reads it."""


def _pieces(entity: Entity, size: int) -> Iterator[bytes]:
    """The body decoded a piece at a time, each of about `size` octets of the body. Raises
    _Irregular (maybe after some pieces) for what it leaves to `_decode_checked`: base64 off
    the plain layout, quoted-printable with a bad escape, an unknown encoding."""
    cte, source = entity.transfer_encoding, entity.source
    start, end = entity.body_start, entity.end
    if cte == "base64":
        yield from _base64_pieces(source, start, end, size)
    elif cte == "quoted-printable":
        if QP_BAD_ESCAPE.search(source, start, end) is not None:
            raise _Irregular
        with memoryview(source) as view:  # whole lines: no escape nor soft break cut
            for a, b in _whole_lines(source, start, end, size):
                yield binascii.a2b_qp(view[a:b])
    elif cte in ("7bit", "8bit", "binary"):
        for at in range(start, end, size):
            yield source[at : min(at + size, end)]
    else:
        raise _Irregular


def _whole_lines(data: bytes, start: int, end: int, size: int) -> Iterator[tuple[int, int]]:
    """data[start:end] cut after a LF every `size` bytes or so: where each piece of whole
    lines lies (the last may end without a LF)."""
    while start < end:
        cut = data.find(b"\n", start + size, end) if end - start > size else -1
        stop = end if cut < 0 else cut + 1
        yield start, stop
        start = stop


def _joined(pieces: Iterator[bytes]) -> bytes:
    """The pieces as one bytes: the only one itself (a small body is not copied), else each
    written in turn to a buffer that hands its bytes over, so that a large body is held once
    (a list of its pieces and then their join held it twice)."""
    first = next(pieces, b"")
    second = next(pieces, None)
    if second is None:
        return first
    held = io.BytesIO()
    held.write(first)
    held.write(second)
    for piece in pieces:
        held.write(piece)
    return held.getvalue()


def _read_facts(entity: Entity) -> _DecodedFacts:
    """The facts of a decoding not held: its pieces counted, or the checked decoding's."""
    try:
        return _DecodedFacts(sum(len(piece) for piece in _pieces(entity, _SCAN)), None, True)
    except _Irregular:
        return _DecodedFacts.of(_decode_checked(entity), False)


def _decode_checked(entity: Entity) -> Decoded:
    """The body decoded whole by the checked path, or the defect that stops it, in words:
    base64 by `base64.b64decode(..., validate=True)`, blanks and line ends ignored."""
    cte, path = entity.transfer_encoding, entity.path
    source, start, end = entity.source, entity.body_start, entity.end
    if cte == "base64":
        compact = source[start:end].translate(None, b" \t\r\n")
        bad = _BASE64_OUTSIDE.search(compact)
        values: Facts
        if bad is not None:
            message = f"base64 is not valid: byte {bad.group()!r} is not in the alphabet"
            values = (("byte", repr(bad.group())),)
        else:
            try:
                return Decoded(base64.b64decode(compact, validate=True), None)
            except (binascii.Error, ValueError) as exc:
                # Every character is of the alphabet: the padding or the length is wrong.
                message = f"base64 is not valid: {exc}"
                values = (("detail", str(exc)),)
        return Decoded(None, Defect("bad-base64", path, entity.body_line, message, values))
    if cte == "quoted-printable":
        bad_qp = QP_BAD_ESCAPE.search(source, start, end)
        if bad_qp is not None:
            near = source[bad_qp.start() : min(bad_qp.start() + 3, end)]
            message = f"quoted-printable is not valid: {near!r} is not an =XX escape"
            at = entity.body_line + source.count(b"\n", start, bad_qp.start())
            values = (("escape", repr(near)),)
            return Decoded(None, Defect("bad-quoted-printable", path, at, message, values))
        with memoryview(source) as view:
            return Decoded(binascii.a2b_qp(view[start:end]), None)
    if cte in ("7bit", "8bit", "binary"):
        return Decoded(source[start:end], None)
    message = f"unknown Content-Transfer-Encoding {cte!r}"
    values = (("encoding", repr(cte)),)
    defect = Defect("unknown-transfer-encoding", path, entity.body_line, message, values)
    return Decoded(None, defect)


def _base64_pieces(data: bytes, start: int, end: int, size: int) -> Iterator[bytes]:
    """data[start:end] decoded about `size` octets at a time (cut at a multiple of 4
    characters) when it is base64 characters in lines ended by CR and LF, its only '=' the
    final padding; _Irregular for anything else (the checked path judges it). The fast path
    of the engine: pybase64 decodes with SIMD, and on these bodies gives what the checked
    `base64.b64decode(..., validate=True)` gives."""
    count = 0  # base64 characters so far
    pad = -1  # where the first '=' is among them
    rest = last = b""
    for at in range(start, end, size):
        compact = rest + data[at : min(at + size, end)].translate(None, b"\r\n")
        if not compact:
            continue
        if pad < 0 and b"=" in compact:
            pad = count - len(rest) + compact.find(b"=")
        count += len(compact) - len(rest)
        last = compact[-1:]
        whole = len(compact) - len(compact) % 4
        rest = compact[whole:]
        try:
            with memoryview(compact) as view:  # not a copy of the chunk
                piece = pybase64.b64decode(view[:whole], validate=True)
        except (binascii.Error, ValueError):
            raise _Irregular from None
        if piece:
            yield piece
    if count % 4 or (pad != -1 and (pad < count - 2 or last != b"=")):
        raise _Irregular  # '=' only as the last one or two characters


# --- canonical forms (RFC 8551 3.1.1), what signers and verifiers hash -----------------


def canonicalize(data: bytes) -> bytes:
    """Line endings to CRLF: every bare LF becomes CRLF. Large data is converted _SCAN bytes
    of whole lines at a time (a CRLF is never cut), so that it is not copied twice more (each
    `replace` copies all it is given)."""
    if BARE_LF.search(data) is None:
        return data  # already canonical: spare two copies
    if len(data) <= _SCAN:
        return _to_crlf(data)
    return _joined(_to_crlf(data[a:b]) for a, b in _whole_lines(data, 0, len(data), _SCAN))


def _to_crlf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def to_lf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n")


def strip_trailing_whitespace(data: bytes) -> bytes:
    """Remove blanks at line ends, keeping each line's own line break."""
    return re.sub(rb"[ \t]+(?=\r?\n|\Z)", b"", data)


MAX_COMMENT_DEPTH = 64


def _comment_depth(text: str) -> int:
    """How deep RFC 5322 comments nest in a field (quoted strings and quoted pairs skipped)."""
    depth = deepest = 0
    quoted = escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif quoted:
            quoted = char != '"'
        elif char == '"' and not depth:
            quoted = True
        elif char == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif char == ")" and depth:
            depth -= 1
    return deepest


def addresses(values: list[Any]) -> list[str]:
    """The addresses of address fields (RFC 5322 3.4), as `getaddresses` reads them.

    ValueError for comments nested deeper than MAX_COMMENT_DEPTH: the standard
    library reads comments by recursion, and a field of a few thousand nested
    parentheses overflows the stack.
    """
    texts = [str(v) for v in values]
    depth = max((_comment_depth(t) for t in texts), default=0)
    if depth > MAX_COMMENT_DEPTH:
        raise ValueError(f"comments nested {depth} deep (more than {MAX_COMMENT_DEPTH})")
    return [addr for _, addr in getaddresses(texts) if addr]
