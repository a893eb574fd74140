"""The validator's view of the MIME tree: the core reader's entities, and what CMS holds.

The tree is read once by `conformance.core.mime` (exact bytes, defects
recorded, bounded). The validator adds one thing the reader cannot know: the
content found inside a CMS object (decrypted or encapsulated), which becomes
the CMS part's single child "N.1" when `check.layers` reads it. So a `Node`
wraps an entity and keeps its own list of children. Parts are named IMAP-style
from the top entity "1": its parts "1.1", "1.2", ...
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from conformance.check.i18n import defect_text
from conformance.core import mime
from conformance.core.bilingual import Bilingual
from conformance.core.mime import BARE_LF, Defect, DefectCode, Entity, Parameters, canonicalize
from conformance.smime.options import Limits
from conformance.smime.read_errors import mime_limits

# The receiver's bounds (one limit, one name: max_depth, max_parts, spool_above_bytes), so
# that the validator and the receiver stop at the same part and spool the same objects.
RECEIVER_LIMITS = Limits()
LIMITS = mime_limits(RECEIVER_LIMITS)
MAX_DEPTH = LIMITS.max_depth
MAX_PARTS = LIMITS.max_parts


@dataclass
class Node:
    """One MIME entity. `origin` says where its bytes came from: "message", "mime"
    (a multipart's body part), or the CMS content type that carried it."""

    entity: Entity
    children: list[Node] = field(default_factory=list)

    @classmethod
    def of(cls, entity: Entity) -> Node:
        return cls(entity, [cls.of(child) for child in entity.children])

    # --- the entity's facts -----------------------------------------------------------

    @property
    def path(self) -> str:
        return self.entity.path

    # The entity's bytes are read where they lie, in the bytes the reader was given
    # (`source`): never through a copy of a large body (`Entity.raw`, `Entity.body`), so
    # that a message is held once however deep its attachment lies.

    @property
    def size(self) -> int:
        return self.entity.size

    def _span(self, body: bool = False) -> tuple[bytes, int, int]:
        """(the bytes read, where the entity or its body begins in them, where it ends)."""
        entity = self.entity
        return entity.source, entity.body_start if body else entity.offset, entity.end

    def view(self) -> memoryview:
        """The entity's bytes, not copied."""
        source, start, end = self._span()
        return memoryview(source)[start:end]

    def canonical(self) -> bytes | memoryview:
        """The entity's bytes with every bare LF as CRLF (RFC 8551 3.1.1), not copied when
        they already are."""
        view = self.view()
        return view if BARE_LF.search(view) is None else canonicalize(bytes(view))

    def search_body(self, pattern: re.Pattern[bytes]) -> re.Match[bytes] | None:
        """The first match of `pattern` (no look-around) in the transfer-encoded body."""
        return pattern.search(*self._span(body=True))

    def raw_line(self, number: int) -> bytes:
        """Line `number` (1 for the first) of the entity's bytes, without its LF; empty past
        the last line."""
        if number < 1:
            return b""
        source, pos, end = self._span()
        for _ in range(number - 1):
            found = source.find(b"\n", pos, end)
            if found < 0:
                return b""
            pos = found + 1
        found = source.find(b"\n", pos, end)
        return source[pos : end if found < 0 else found]

    @property
    def header(self) -> bytes:
        return self.entity.header

    @property
    def headers(self) -> Message:
        return self.entity.headers

    @property
    def origin(self) -> str:
        return self.entity.origin

    @property
    def depth(self) -> int:
        return self.entity.depth

    @property
    def has_headers(self) -> bool:
        return self.entity.has_headers

    @property
    def content_type(self) -> str:
        return self.entity.content_type

    @property
    def declared_type(self) -> str | None:
        return self.entity.declared_type

    def param(self, name: str, header: str = "content-type") -> str | None:
        return self.entity.param(name, header)

    def parameters(self, header: str = "content-type") -> Parameters:
        return mime.parameters(self.entity.headers, header)

    @property
    def transfer_encoding(self) -> str:
        return self.entity.transfer_encoding

    @property
    def is_multipart(self) -> bool:
        return self.entity.is_multipart

    def own_bytes(self) -> bytes:
        return self.entity.own_bytes()

    def decoded(self) -> bytes | None:
        """The body with its transfer encoding undone; None when it does not decode. A large
        body is decoded anew on each call (`Entity.decoding`): a rule that scans it reads
        `decoded_chunks`, one that counts it `decoded_size`."""
        return self.entity.decoded()

    def decoded_chunks(self, size: int | None = None) -> Iterator[bytes]:
        """The decoded body a piece at a time (`Entity.decoded_chunks`)."""
        return self.entity.decoded_chunks(size)

    @property
    def decoded_size(self) -> int | None:
        """The octets of the decoded body; None when it does not decode."""
        return self.entity.decoded_size

    def decode_error(self) -> Bilingual | None:
        """Why the body does not decode, in both languages; None when it decodes."""
        defect = self.entity.decode_defect
        return None if defect is None else defect_text(defect)

    def defects(self, *codes: DefectCode) -> list[Defect]:
        return self.entity.defects_of(*codes)

    @property
    def structure(self) -> list[Bilingual]:
        """The multipart's boundary problems and the reader's bounds it hit, for MIME-004."""
        return [defect_text(d) for d in self.entity.structure]

    def walk(self) -> list[Node]:
        found = [self]
        for child in self.children:
            found.extend(child.walk())
        return found

    def summary(self) -> dict[str, Any]:
        """The part for the JSON report; its Content-Type parameters as the reader reads
        them (the first of a name given twice, none that cannot be decoded)."""
        params = {k: v for k, v in self.parameters().values.items() if v is not None}
        return {
            "path": self.path,
            "content_type": self.content_type,
            "params": params,
            "transfer_encoding": self.transfer_encoding,
            "size": self.size,
            "origin": self.origin,
        }


def raw_values(headers: Message, name: str) -> list[str]:
    """The values of a field as written, for a report (`readable`)."""
    return [
        readable(value) for field_name, value in headers.raw_items() if field_name.lower() == name
    ]


def readable(raw: str) -> str:
    """A raw header value as a report shows it: raw 8-bit octets (HDR-006 names them)
    decoded as UTF-8, any other as \\xNN, never lost to the U+FFFD that `str` of the parsed
    field gives them."""
    return raw.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def parse_node(raw: bytes, path: str, origin: str, depth: int, counter: list[int]) -> Node:
    """Read one entity and its parts (bounded by MAX_DEPTH and MAX_PARTS, `counter` the
    entities read so far in this message)."""
    count = mime.Count(counter[0])
    entity = mime.read(raw, path=path, origin=origin, depth=depth, limits=LIMITS, count=count)
    counter[0] = count.entities
    return Node.of(entity)


def parse_message(message: bytes) -> Node:
    return parse_node(message, "1", "message", 0, [0])
