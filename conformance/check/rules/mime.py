"""MIME structure rules: line endings and lengths, content types, boundaries, encodings."""

from __future__ import annotations

import re
from collections.abc import Iterator

from conformance.check.catalogue import Outcome, rule
from conformance.check.context import Context
from conformance.check.rules import EIGHT_BIT
from conformance.check.tree import Node

_TOKEN = r"[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+"
_CONTENT_TYPE = re.compile(rf"^\s*{_TOKEN}/{_TOKEN}\s*(;.*)?$", re.DOTALL)
_KNOWN_CTE = ("7bit", "8bit", "binary", "quoted-printable", "base64")
_IDENTITY_CTE = ("7bit", "8bit", "binary")


@rule(
    "MIME-001",
    "CRLF line endings",
    "RFC 5322 2.3 / RFC 2046 4.1.1 / RFC 8551 3.1.1",
    "Every line ends with CRLF: a bare LF or CR is altered by transports, which breaks "
    "signatures over the exact bytes.",
)
def crlf(context: Context) -> Iterator[Outcome]:
    expected = "CRLF at the end of every line"
    for node in context.nodes:
        found = [d.message for d in node.defects("bare-lf", "bare-cr")]
        if found:
            yield Outcome(node.path, False, ", ".join(found), expected)
        else:
            yield Outcome(node.path, True, "CRLF only", expected)


@rule(
    "MIME-002",
    "Lines at most 998 characters",
    "RFC 5322 2.1.1 / RFC 2045 2.8",
    "No line longer than 998 octets (excluding CRLF); longer lines are broken by relays.",
)
def line_length(context: Context) -> Iterator[Outcome]:
    expected = "lines of at most 998 octets"
    for node in context.nodes:
        found = node.defects("long-line")
        if found:
            yield Outcome(node.path, False, found[0].message, expected)
        else:
            longest, _ = node.entity.longest_line
            yield Outcome(node.path, True, f"longest line {longest} octets", expected)


def _type_problem(node: Node) -> str | None:
    declared = node.declared_type
    if declared is None:
        return None
    if not _CONTENT_TYPE.match(" ".join(declared.split())):
        return f"Content-Type {declared.strip()[:60]!r} is not type/subtype"
    if node.is_multipart and not node.param("boundary"):
        return f"{node.content_type} without its boundary parameter"
    if node.content_type.startswith("text/") and node.param("charset") is None:
        data = node.decoded()
        if data is not None and EIGHT_BIT.search(data):
            return f"{node.content_type} with 8-bit text and no charset parameter"
    return None


@rule(
    "MIME-003",
    "Content-Type valid with its required parameters",
    "RFC 2045 5.1 / RFC 2046",
    "Content-Type is type/subtype; multipart types carry a boundary; 8-bit text names its charset.",
)
def content_type(context: Context) -> Iterator[Outcome]:
    expected = "type/subtype with its required parameters"
    for node in context.nodes:
        problem = _type_problem(node)
        if problem is not None:
            yield Outcome(node.path, False, problem, expected)
        else:
            declared = (
                "absent (text/plain by default)"
                if node.declared_type is None
                else node.content_type
            )
            yield Outcome(node.path, True, declared, expected)


@rule(
    "MIME-004",
    "Multipart boundaries delimit the parts",
    "RFC 2046 5.1.1",
    "A multipart has a valid boundary (1 to 70 characters), delimiter lines and a close delimiter.",
)
def boundaries(context: Context) -> Iterator[Outcome]:
    expected = "boundary parameter, delimiter lines and a close delimiter"
    for node in context.nodes:
        if not node.is_multipart:
            continue
        if node.structure:
            yield Outcome(node.path, False, "; ".join(node.structure), expected)
        else:
            yield Outcome(node.path, True, f"{len(node.children)} parts, closed", expected)


@rule(
    "MIME-005",
    "Content-Transfer-Encoding known and allowed",
    "RFC 2045 6.1 / 6.4",
    "The transfer encoding is 7bit, 8bit, binary, quoted-printable or base64; "
    "multiparts use only 7bit, 8bit or binary.",
)
def transfer_encoding(context: Context) -> Iterator[Outcome]:
    for node in context.nodes:
        cte = node.transfer_encoding
        if node.is_multipart:
            expected = "7bit, 8bit or binary for a multipart"
            yield Outcome(node.path, cte in _IDENTITY_CTE, cte, expected)
        else:
            expected = "7bit, 8bit, binary, quoted-printable or base64"
            yield Outcome(node.path, cte in _KNOWN_CTE, cte, expected)


@rule(
    "MIME-006",
    "7bit parts hold 7-bit data",
    "RFC 2045 2.7 / 6.2",
    "A part declared (or defaulting to) 7bit has no octet over 127, no NUL and no bare CR.",
)
def seven_bit(context: Context) -> Iterator[Outcome]:
    expected = "only 7-bit lines in a 7bit part"
    for node in context.nodes:
        if node.is_multipart or node.transfer_encoding != "7bit":
            continue
        found = node.defects("eight-bit-in-7bit", "nul-in-7bit")
        if found:
            yield Outcome(node.path, False, found[0].message, expected)
        else:
            yield Outcome(node.path, True, "7-bit data", expected)


@rule(
    "MIME-007",
    "Encoded body decodes",
    "RFC 2045 6.7 / 6.8",
    "A base64 body uses the base64 alphabet with correct padding; a quoted-printable body "
    "uses only =XX escapes and soft line breaks.",
)
def body_decodes(context: Context) -> Iterator[Outcome]:
    for node in context.nodes:
        cte = node.transfer_encoding
        if node.is_multipart or cte not in ("base64", "quoted-printable"):
            continue
        error = node.decode_error()
        expected = f"valid {cte}"
        if error is None:
            yield Outcome(
                node.path, True, f"{cte}, {len(node.decoded() or b'')} octets decoded", expected
            )
        else:
            yield Outcome(node.path, False, f"part {node.path}: {error}", expected)
