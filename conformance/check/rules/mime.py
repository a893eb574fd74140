"""MIME structure rules: line endings and lengths, content types, boundaries, encodings."""

from __future__ import annotations

import re
from collections.abc import Iterator

from conformance.check.catalogue import Outcome, rule
from conformance.check.context import Context
from conformance.check.i18n import defect_text
from conformance.check.rules import EIGHT_BIT
from conformance.check.tree import MAX_DEPTH, MAX_PARTS, Node
from conformance.core.bilingual import SEMICOLON, Bilingual

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
    expected = Bilingual("CRLF à la fin de chaque ligne", "CRLF at the end of every line")
    for node in context.nodes:
        found = [defect_text(d) for d in node.defects("bare-lf", "bare-cr")]
        if found:
            yield Outcome(node.path, False, Bilingual.same(", ").join(found), expected)
        else:
            yield Outcome(node.path, True, Bilingual("CRLF seulement", "CRLF only"), expected)


@rule(
    "MIME-002",
    "Lines at most 998 characters",
    "RFC 5322 2.1.1 / RFC 2045 2.8",
    "No line longer than 998 octets (excluding CRLF); longer lines are broken by relays.",
)
def line_length(context: Context) -> Iterator[Outcome]:
    expected = Bilingual("des lignes d'au plus 998 octets", "lines of at most 998 octets")
    for node in context.nodes:
        found = node.defects("long-line")
        if found:
            yield Outcome(node.path, False, defect_text(found[0]), expected)
        else:
            longest, _ = node.entity.longest_line
            said = Bilingual(
                f"ligne la plus longue : {longest} octets", f"longest line {longest} octets"
            )
            yield Outcome(node.path, True, said, expected)


def _repeated(node: Node, field: str) -> Bilingual | None:
    """A MIME field given more than once: readers differ on which one applies (one takes the
    first, another the last), so the part is not one thing to all of them."""
    count = len(node.headers.get_all(field, []))
    if count < 2:
        return None
    return Bilingual(
        f"{count} champs {field} : les lecteurs divergent sur celui qui s'applique "
        "(ce rapport lit le premier)",
        f"{count} {field} fields: readers differ on which one applies (this report reads "
        "the first)",
    )


def _repeated_parameter(node: Node) -> Bilingual | None:
    """A parameter given twice in Content-Type or Content-Disposition (RFC 6838 4.3 calls it
    an error), or both plain and in an RFC 2231 form (`core.mime.parameters`): readers differ
    on which value applies (`boundary`: where the parts lie). The value this report and the
    receiver read is named: of two forms, the plain one, wherever it stands."""
    for field in ("Content-Type", "Content-Disposition"):
        parameters = node.parameters(field)
        if parameters.repeated:
            name = parameters.repeated[0]
            read = parameters.values.get(name.partition("*")[0])
            read_en = "none" if read is None else repr(read[:60])
            read_fr = "aucune" if read is None else f"« {read[:60]} »"
            return Bilingual(
                f"paramètre {name[:60]!r} donné plusieurs fois dans {field} : les lecteurs "
                f"divergent sur la valeur qui s'applique (ce rapport lit {read_fr})",
                f"parameter {name[:60]!r} given more than once in {field}: readers differ on "
                f"which value applies (this report reads {read_en})",
            )
    return None


def _type_problem(node: Node) -> Bilingual | None:
    declared = node.declared_type
    repeated = _repeated_parameter(node)
    if declared is None:
        return repeated  # a Content-Disposition's parameters
    repeated = _repeated(node, "Content-Type") or repeated
    if repeated is not None:
        return repeated
    if not _CONTENT_TYPE.match(" ".join(declared.split())):
        shown = repr(declared.strip()[:60])
        return Bilingual(
            f"Content-Type {shown} n'est pas de la forme type/sous-type",
            f"Content-Type {shown} is not type/subtype",
        )
    if node.is_multipart and not node.param("boundary"):
        return Bilingual(
            f"{node.content_type} sans son paramètre boundary",
            f"{node.content_type} without its boundary parameter",
        )
    if (
        node.content_type.startswith("text/")
        and node.param("charset") is None
        and any(EIGHT_BIT.search(piece) for piece in node.decoded_chunks())
    ):
        return Bilingual(
            f"{node.content_type} avec du texte 8 bits et sans paramètre charset",
            f"{node.content_type} with 8-bit text and no charset parameter",
        )
    return None


@rule(
    "MIME-003",
    "Content-Type valid with its required parameters",
    "RFC 2045 5.1 / RFC 2046 / RFC 6838 4.3",
    "One Content-Type field, type/subtype; multipart types carry a boundary; 8-bit text names "
    "its charset; no parameter of Content-Type or Content-Disposition given twice, nor both "
    "plain and in RFC 2231 form (boundary and boundary*: readers differ on which applies), a "
    "file name aside (name, filename: given in both forms for the readers without RFC 2231).",
)
def content_type(context: Context) -> Iterator[Outcome]:
    expected = Bilingual(
        "type/sous-type avec ses paramètres requis", "type/subtype with its required parameters"
    )
    for node in context.nodes:
        problem = _type_problem(node)
        if problem is not None:
            yield Outcome(node.path, False, problem, expected)
        else:
            declared = (
                Bilingual("absent (text/plain par défaut)", "absent (text/plain by default)")
                if node.declared_type is None
                else node.content_type
            )
            yield Outcome(node.path, True, declared, expected)


@rule(
    "MIME-004",
    "Multipart boundaries delimit the parts",
    "RFC 2046 5.1.1",
    "A multipart has a valid boundary (1 to 70 characters), delimiter lines and a close "
    "delimiter. The reader's bounds fail this rule too, and what lies past them is not "
    f"examined: nesting deeper than {MAX_DEPTH} levels (multiparts and the contents of CMS "
    f"objects), more than {MAX_PARTS} parts in the whole message (CMS contents included).",
)
def boundaries(context: Context) -> Iterator[Outcome]:
    expected = Bilingual(
        "un paramètre boundary, des lignes de délimitation et un délimiteur de fin",
        "boundary parameter, delimiter lines and a close delimiter",
    )
    for layer in context.layers:
        if layer.too_deep:
            found = Bilingual(
                f"contenu de {layer.name} à plus de {MAX_DEPTH} niveaux d'imbrication : "
                "non examiné",
                f"{layer.name} content nested deeper than {MAX_DEPTH} levels: not examined",
            )
            limit = Bilingual(
                f"au plus {MAX_DEPTH} niveaux d'imbrication",
                f"at most {MAX_DEPTH} levels of nesting",
            )
            yield Outcome(layer.part.path, False, found, limit)
    for node in context.nodes:
        if not node.is_multipart:
            continue
        if node.structure:
            yield Outcome(node.path, False, SEMICOLON.join(node.structure), expected)
        else:
            n = len(node.children)
            said = Bilingual(f"{n} parties, fermé", f"{n} parts, closed")
            yield Outcome(node.path, True, said, expected)


@rule(
    "MIME-005",
    "Content-Transfer-Encoding known and allowed",
    "RFC 2045 6.1 / 6.4",
    "One transfer encoding, 7bit, 8bit, binary, quoted-printable or base64; "
    "multiparts use only 7bit, 8bit or binary.",
)
def transfer_encoding(context: Context) -> Iterator[Outcome]:
    for node in context.nodes:
        cte = node.transfer_encoding
        repeated = _repeated(node, "Content-Transfer-Encoding")
        if repeated is not None:
            once = Bilingual(
                "un seul champ Content-Transfer-Encoding", "one Content-Transfer-Encoding field"
            )
            yield Outcome(node.path, False, repeated, once)
            continue
        if node.is_multipart:
            expected = Bilingual(
                "7bit, 8bit ou binary pour un multipart", "7bit, 8bit or binary for a multipart"
            )
            yield Outcome(node.path, cte in _IDENTITY_CTE, cte, expected)
        else:
            expected = Bilingual(
                "7bit, 8bit, binary, quoted-printable ou base64",
                "7bit, 8bit, binary, quoted-printable or base64",
            )
            yield Outcome(node.path, cte in _KNOWN_CTE, cte, expected)


@rule(
    "MIME-006",
    "7bit parts hold 7-bit data",
    "RFC 2045 2.7 / 6.2",
    "A part declared (or defaulting to) 7bit has no octet over 127, no NUL and no bare CR.",
)
def seven_bit(context: Context) -> Iterator[Outcome]:
    expected = Bilingual(
        "seulement des lignes 7 bits dans une partie 7bit", "only 7-bit lines in a 7bit part"
    )
    for node in context.nodes:
        if node.is_multipart or node.transfer_encoding != "7bit":
            continue
        found = node.defects("eight-bit-in-7bit", "nul-in-7bit")
        if found:
            yield Outcome(node.path, False, defect_text(found[0]), expected)
        else:
            yield Outcome(node.path, True, Bilingual("données 7 bits", "7-bit data"), expected)


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
        expected = Bilingual(f"du {cte} valide", f"valid {cte}")
        if error is None:
            n = node.decoded_size or 0
            said = Bilingual(f"{cte}, {n} octets décodés", f"{cte}, {n} octets decoded")
            yield Outcome(node.path, True, said, expected)
        else:
            said = Bilingual(f"partie {node.path} : ", f"part {node.path}: ") + error
            yield Outcome(node.path, False, said, expected)
