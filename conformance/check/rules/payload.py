"""Payload rules: HPRIM lab results carried in the message (HPRIM-Net)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from conformance.check.catalogue import Outcome, rule
from conformance.check.context import Context
from conformance.check.layers import PKCS7_SIGNATURE, is_cms_part
from conformance.check.tree import Node
from conformance.core.bilingual import Bilingual
from conformance.core.mime import BARE_CR, BARE_LF
from conformance.scenarios import hprim

_HPRIM_NAMES = (".hpr", ".hpm", ".hps", ".hprim")
_NOT_BLANK = re.compile(rb"[^ \t\n\r\x0b\x0c]")  # a byte that bytes.lstrip() keeps
_SNIFF = 65536  # the octets a ****LAB**** block is looked for in


def _file_name(node: Node) -> str:
    return (node.param("filename", "content-disposition") or node.param("name") or "").lower()


def hprim_parts(context: Context) -> list[tuple[Node, bytes]]:
    """Leaf parts that are HPRIM: by file name, or by content (H| record, ****LAB**** block)."""
    found = []
    for node in context.nodes:
        if (
            node.is_multipart
            or node.children
            or is_cms_part(node)
            or node.content_type in PKCS7_SIGNATURE
        ):
            continue
        if node.decoded_size is None:
            continue  # the body does not decode
        if _file_name(node).endswith(_HPRIM_NAMES) or _looks_hprim(node):
            data = node.decoded()  # whole: the HPRIM rules parse it
            if data is not None:
                found.append((node, data))
    return found


def _looks_hprim(node: Node) -> bool:
    """Whether the decoded body starts with an H| record (blanks before it skipped, as
    `bytes.lstrip` skips them) or holds a ****LAB**** block in its first _SNIFF octets: read
    a piece at a time, so that an imaging attachment (hundreds of megabytes) is neither
    decoded whole nor copied for it."""
    head = b""  # the first _SNIFF octets
    start = b""  # the first two octets after the blanks
    for piece in node.decoded_chunks(_SNIFF):
        if len(head) < _SNIFF:
            head += piece[: _SNIFF - len(head)]
        at = 0
        if not start:
            first = _NOT_BLANK.search(piece)
            at = len(piece) if first is None else first.start()
        start += piece[at : at + 2 - len(start)]
        if len(head) >= _SNIFF and len(start) >= 2:
            break
    return start == b"H|" or b"****LAB****" in head


@rule(
    "PAY-001",
    "HPRIM content well-formed",
    "HPRIM Médecin 3.0 / HPRIM Santé 2.x",
    "A part that is HPRIM (named .hpr/.hpm/.hps, or starting with an H| record, or holding a "
    "****LAB**** block) parses: header, result lines, end marks.",
)
def hprim_well_formed(context: Context) -> Iterator[Outcome]:
    expected = Bilingual("un fichier HPRIM bien formé", "a well-formed HPRIM file")
    for node, data in hprim_parts(context):
        try:
            report = hprim.parse(data)
        except hprim.HprimError as exc:
            yield Outcome(node.path, False, str(exc), expected)
            continue
        except Exception as exc:  # the parser's own limits: still a malformed file
            yield Outcome(node.path, False, f"HPRIM: {exc}", expected)
            continue
        n = len(report.results)
        found = Bilingual(
            f"HPRIM {report.variant}, {n} résultat(s)", f"HPRIM {report.variant}, {n} result(s)"
        )
        yield Outcome(node.path, True, found, expected)


@rule(
    "PAY-002",
    "HPRIM carried byte for byte",
    "HPRIM-Net / RFC 2045 6.8 / RFC 2046 4.1.1",
    "An HPRIM file must arrive with its exact line endings and ISO-8859-1 accents: it is sent "
    "base64-encoded, or as text whose line endings are already CRLF.",
)
def hprim_transport(context: Context) -> Iterator[Outcome]:
    for node, data in hprim_parts(context):
        cte = node.transfer_encoding
        bare = BARE_CR.search(data) or BARE_LF.search(data)
        ok = cte == "base64" or (bare is None and node.content_type.startswith("text/"))
        found = Bilingual.same(f"{node.content_type}, {cte}")
        if bare:
            found += Bilingual(", fins de ligne CR ou LF isolées", ", bare CR or LF line ends")
        yield Outcome(
            node.path, ok, found, Bilingual("base64, ou texte en CRLF", "base64, or CRLF text")
        )
