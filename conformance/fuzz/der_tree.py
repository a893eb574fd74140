"""A forgiving TLV tree over DER/BER bytes, for mutating a CMS object element by element.

Hand-written on purpose: asn1crypto and cryptography parse only what is valid
and re-encode only canonical DER, while a mutator must keep every byte it did
not touch (a signature stays over exactly the bytes it covered), write
non-minimal or indefinite lengths on request, and read as far as it can into
bytes that are already broken. Each node keeps its tag bytes and either its
children (constructed, or an OCTET/BIT STRING whose content is itself one
whole TLV, such as eContent or a certificate extension) or its raw value.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = ["Node", "encode", "encode_length", "parse", "walk"]

_MAX_DEPTH = 40
_OCTET_STRING, _BIT_STRING = 0x04, 0x03


@dataclass
class Node:
    """One element: tag bytes, then either `children` or `value`; `length` as written."""

    tag: bytes
    value: bytes = b""
    children: list[Node] | None = None
    indefinite: bool = False
    long_form: int = 0  # extra length octets beyond the minimum (non-minimal BER)
    prefix: bytes = b""  # a BIT STRING's unused-bits octet before its encapsulated TLV
    raw_length: bytes | None = None  # a length field written as is (a broken one)

    @property
    def constructed(self) -> bool:
        return bool(self.tag[0] & 0x20)


@dataclass
class _Cursor:
    data: bytes
    pos: int = 0
    nodes: list[Node] = field(default_factory=list)


def encode_length(length: int, extra: int = 0) -> bytes:
    """A definite length, minimal unless `extra` octets are asked in front."""
    if length < 0x80 and not extra:
        return bytes([length])
    body = length.to_bytes(max(1, (length.bit_length() + 7) // 8), "big")
    # A short length's minimal long form is one octet: `extra` counts from the short form.
    body = b"\x00" * (extra if length >= 0x80 else extra - 1) + body
    return bytes([0x80 | len(body)]) + body


def encode(node: Node) -> bytes:
    """The bytes of a node, lengths recomputed from its content (unless written raw)."""
    if node.children is not None:
        content = node.prefix + b"".join(encode(c) for c in node.children)
    else:
        content = node.value
    if node.raw_length is not None:
        return node.tag + node.raw_length + content
    if node.indefinite and node.constructed:
        return node.tag + b"\x80" + content + b"\x00\x00"
    return node.tag + encode_length(len(content), node.long_form) + content


def _read_tag(data: bytes, pos: int) -> int | None:
    if pos >= len(data):
        return None
    end = pos + 1
    if data[pos] & 0x1F == 0x1F:
        while end < len(data) and data[end] & 0x80 and end - pos < 6:
            end += 1
        end += 1
    return end if end <= len(data) else None


def _one(data: bytes, pos: int, end: int, depth: int) -> tuple[Node, int] | None:
    """The element at `pos` (ending by `end`), or None where the bytes stop making sense."""
    tag_end = _read_tag(data, pos)
    if tag_end is None or tag_end >= end:
        return None
    tag = data[pos:tag_end]
    first = data[tag_end]
    cursor = tag_end + 1
    if first == 0x80:
        if not tag[0] & 0x20 or depth >= _MAX_DEPTH:
            return None
        children: list[Node] = []
        while True:
            if data[cursor : cursor + 2] == b"\x00\x00":
                return Node(tag, children=children, indefinite=True), cursor + 2
            found = _one(data, cursor, end, depth + 1)
            if found is None:
                return None
            children.append(found[0])
            cursor = found[1]
    if first & 0x80:
        count = first & 0x7F
        if count > 4 or cursor + count > end:
            return None
        length = int.from_bytes(data[cursor : cursor + count], "big")
        minimal = max(1, (length.bit_length() + 7) // 8) if length >= 0x80 else 0
        extra = count - minimal if count > minimal else 0
        cursor += count
    else:
        length, extra = first, 0
    stop = cursor + length
    if stop > end:
        return None
    node = Node(tag, long_form=extra)
    if depth < _MAX_DEPTH:
        if tag[0] & 0x20:
            node.children = _many(data, cursor, stop, depth + 1)
        elif tag[0] in (_OCTET_STRING, _BIT_STRING) and length > 2:
            start = cursor + (1 if tag[0] == _BIT_STRING else 0)
            inner = _many(data, start, stop, depth + 1) if data[start] & 0x20 else None
            if inner is not None and len(inner) == 1:
                node.children, node.prefix = inner, data[cursor:start]
    if node.children is None:
        node.value = data[cursor:stop]
    return node, stop


def _many(data: bytes, pos: int, end: int, depth: int) -> list[Node] | None:
    """The elements filling [pos, end) exactly; None if they do not."""
    nodes: list[Node] = []
    while pos < end:
        found = _one(data, pos, end, depth)
        if found is None:
            return None
        nodes.append(found[0])
        pos = found[1]
    return nodes


def parse(data: bytes) -> Node | None:
    """The tree of one element filling `data`, or None if the bytes are not one."""
    found = _one(data, 0, len(data), 0)
    if found is None or found[1] != len(data):
        return None
    return found[0]


def walk(node: Node, parent: Node | None = None) -> Iterator[tuple[Node, Node | None]]:
    """Every node with its parent, the root first."""
    yield node, parent
    for child in node.children or ():
        yield from walk(child, node)
