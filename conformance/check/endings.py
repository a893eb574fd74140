"""How a message file's lines end, for `check FILE`: "CRLF", "LF" (as saved on Unix) or "mixed".

A message on the wire ends every line in CRLF (RFC 5322 2.3), and receivers
verify the bytes they get. A message saved to a file on Unix usually has LF
instead: `openssl cms -sign` writes its headers, delimiters and base64 in LF,
keeping only the signed content in the canonical CRLF it signed (RFC 8551
3.1.1). Such a file has one clean CRLF form, which is what its sender sent, so
the command line checks that form too. A file whose line endings are mixed
inside one piece (a header block or a base64 body with both CRLF and bare LF,
or a bare CR anywhere) has no such single reading: it stays as it is, an error.
"""

from __future__ import annotations

from typing import Literal

from conformance.check.tree import Node, parse_message
from conformance.core.mime import BARE_CR, BARE_LF

Endings = Literal["CRLF", "LF", "mixed"]


def _own_endings(node: Node) -> tuple[int, int]:
    """(CRLF, bare LF) counts of the entity's own lines: its header, and its body or, for a
    multipart, the preamble, delimiters and epilogue (the parts count for themselves)."""
    own = node.entity.own_bytes()  # header + CRLF + own body: that joining CRLF is not counted
    return own.count(b"\r\n") - 1, len(BARE_LF.findall(own))


def _signed_contents(node: Node) -> list[Node]:
    """The signed contents (first part of each multipart/signed) at or under `node`."""
    found = []
    for part in node.walk():
        if part.content_type == "multipart/signed" and part.children:
            found.append(part.children[0])
    return found


def line_endings(message: bytes) -> Endings:
    """ "CRLF" when no line ends in a bare LF; "LF" when every line does, but for a signed
    content kept whole in CRLF (as openssl saves it); "mixed" otherwise."""
    if BARE_CR.search(message):
        return "mixed"
    if not BARE_LF.search(message):
        return "CRLF"
    root = parse_message(message)
    inside: set[str] = set()
    for content in _signed_contents(root):
        paths = [n.path for n in content.walk()]
        if any(p in inside for p in paths):
            continue  # nested in a signed content already judged whole
        crlf = lf = 0
        for part in content.walk():
            own_crlf, own_lf = _own_endings(part)
            crlf, lf = crlf + own_crlf, lf + own_lf
        if crlf and lf:
            return "mixed"
        inside.update(paths)
    for part in root.walk():
        if part.path not in inside and _own_endings(part)[0]:
            return "mixed"
    return "LF"
