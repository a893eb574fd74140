"""How a message file's lines end, for `check FILE`: "CRLF", "LF" (as saved on Unix) or "mixed".

A message on the wire ends every line in CRLF (RFC 5322 2.3), and receivers
verify the bytes they get. A message saved to a file on Unix usually has LF
instead: `openssl cms -sign` writes its headers, delimiters and base64 in LF,
keeping only the signed content in the canonical CRLF it signed (RFC 8551
3.1.1). Such a file has one clean CRLF form, which is what its sender sent, so
the command line checks that form too. A file whose line endings are mixed
inside one piece (a header block or a base64 body with both CRLF and bare LF,
or a bare CR anywhere) has no such single reading: it stays as it is, an error.

The lines are counted where they lie, in one reading of the file (an imaging
attachment is neither copied nor listed line by line), and that reading also
says whether the signatures can verify differently in the two forms
(`SavedForm.alike`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from conformance.check.layers import is_cms_part
from conformance.check.tree import Node, parse_message
from conformance.core.mime import BARE_CR, BARE_LF

Endings = Literal["CRLF", "LF", "mixed"]


@dataclass(frozen=True)
class SavedForm:
    """How the file's lines end, and, for "LF", whether its CMS objects are the same bytes in
    both forms (`alike`): each in base64, whose decoding skips line ends, or with no bare LF
    for the CRLF form to change. The signed content being hashed in its canonical form in
    both (RFC 8551 3.1.1, `Node.canonical`), every signature then verifies, or not, alike in
    both, and the saved form need not be checked apart."""

    endings: Endings
    alike: bool = True


def _counts(data: bytes, start: int, end: int) -> tuple[int, int]:
    """(CRLF, bare LF) counts in data[start:end], counted in place."""
    crlf = data.count(b"\r\n", start, end)
    return crlf, data.count(b"\n", start, end) - crlf


def _own_endings(node: Node) -> tuple[int, int]:
    """(CRLF, bare LF) counts of the entity's own lines: its header, and its body or, for a
    multipart, the preamble, delimiters and epilogue (the parts count for themselves)."""
    entity = node.entity
    header = _counts(entity.header, 0, len(entity.header))
    if entity.is_multipart:
        gaps = entity.gaps  # delimiter lines and what lies around them: small
        own = _counts(gaps, 0, len(gaps))
    else:
        own = _counts(entity.source, entity.body_start, entity.end)
    return header[0] + own[0], header[1] + own[1]


def _signed_contents(node: Node) -> list[Node]:
    """The signed contents (first part of each multipart/signed) at or under `node`."""
    found = []
    for part in node.walk():
        if part.content_type == "multipart/signed" and part.children:
            found.append(part.children[0])
    return found


def _cms_parts(root: Node) -> Iterator[Node]:
    """The parts `check.layers` reads as CMS objects: each signature part, each pkcs7-mime
    part."""
    for part in root.walk():
        if part.content_type == "multipart/signed" and len(part.children) >= 2:
            yield part.children[1]
        elif is_cms_part(part) and not part.children:
            yield part


def _cms_alike(root: Node) -> bool:
    """Whether every CMS object of the message is the same bytes in the saved and the CRLF
    form: in base64, or with no bare LF in its body."""
    for part in _cms_parts(root):
        entity = part.entity
        if entity.transfer_encoding == "base64":
            continue  # its decoding skips line ends
        if BARE_LF.search(entity.source, entity.body_start, entity.end) is not None:
            return False
    return True


def saved_form(message: bytes) -> SavedForm:
    """ "CRLF" when no line ends in a bare LF; "LF" when every line does, but for a signed
    content kept whole in CRLF (as openssl saves it); "mixed" otherwise."""
    if BARE_CR.search(message):
        return SavedForm("mixed")
    if not BARE_LF.search(message):
        return SavedForm("CRLF")
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
            return SavedForm("mixed")
        inside.update(paths)
    for part in root.walk():
        if part.path not in inside and _own_endings(part)[0]:
            return SavedForm("mixed")
    return SavedForm("LF", _cms_alike(root))
