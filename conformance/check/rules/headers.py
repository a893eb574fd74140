"""RFC 5322 header rules: the fields every message needs, ASCII, RFC 2047 words."""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from collections.abc import Iterator
from email.utils import parsedate_to_datetime

from conformance.check.catalogue import Outcome, rule
from conformance.check.context import Context
from conformance.check.i18n import author_text, defect_text
from conformance.check.tree import LIMITS, Node, raw_values
from conformance.core.author import author, mailboxes
from conformance.core.bilingual import SEMICOLON, Bilingual

MAX_HEADER_BYTES = LIMITS.max_header_bytes
_MSG_ID = re.compile(r"^<[^<>@\s]+@[^<>@\s]+>$")
_WORD_START = re.compile(r"=\?[^?\s]*\?[^?\s]*\?")
_WORD = re.compile(r"=\?([^?\s*]+)(\*[A-Za-z0-9-]+)?\?([BbQq])\?([^?\s]*)\?=")
_Q_TEXT = re.compile(r"^(?:[!-<>@-~]|=[0-9A-Fa-f]{2})*$")  # printable but = and ?


def _values(context: Context, name: str) -> list[str]:
    return [str(v) for v in context.root.headers.get_all(name, [])]


def _shown(context: Context, name: str) -> list[str]:
    """The values of a field as the report shows them (`raw_values`)."""
    return raw_values(context.root.headers, name)


def _addresses(values: list[str]) -> list[str]:
    """The addresses of address fields; none when they cannot be read (`mailboxes`)."""
    return [a for a in mailboxes(values) or () if "@" in a]


def _clip(text: str, size: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= size else text[: size - 1] + "…"


def _header_line(node: Node, line: int) -> str:
    """Line `line` (of the bytes read) of the entity's header block, clipped, its non-ASCII
    and control octets escaped: a NUL or a stray byte is named, never written to the report."""
    text = node.raw_line(line - node.entity.line + 1)
    shown = repr(text.rstrip(b"\r"))[2:-1]  # leading blanks kept: a misplaced fold shows
    return shown if len(shown) <= 60 else shown[:59] + "…"


@rule(
    "HDR-001",
    "From present",
    "RFC 5322 3.6 / 3.6.2",
    "Exactly one From field holding at least one mailbox, and a Sender field naming one mailbox "
    "when From holds several: the one author the signature is checked against.",
)
def from_present(context: Context) -> Iterator[Outcome]:
    values = _values(context, "from")
    addresses = _addresses(values)
    expected = Bilingual(
        "un champ From avec une adresse (plusieurs : un champ Sender en désignant une)",
        "one From field with a mailbox (several: a Sender field naming one)",
    )
    written = author(values, _values(context, "sender"))
    shown = _clip(_shown(context, "from")[0]) if values else ""
    if len(values) == 1 and addresses and written.address is not None:
        yield Outcome("1", True, f"From: {shown}", expected)
    elif not values:
        yield Outcome("1", False, Bilingual("aucun champ From", "no From field"), expected)
    elif len(values) > 1:
        n = len(values)
        yield Outcome("1", False, Bilingual(f"{n} champs From", f"{n} From fields"), expected)
    elif not addresses:
        found = Bilingual(
            f"From: {shown} ne contient aucune adresse", f"From: {shown} holds no address"
        )
        yield Outcome("1", False, found, expected)
    else:
        problem, _ = author_text(written)
        found = Bilingual(f"{problem.fr} : {shown}", f"{problem.en}: {shown}")
        yield Outcome("1", False, found, expected)


@rule(
    "HDR-002",
    "To present",
    "RFC 5322 3.6.3",
    "A To field naming the recipient: a secure message is addressed to a professional.",
)
def to_present(context: Context) -> Iterator[Outcome]:
    values = _values(context, "to")
    addresses = _addresses(values)
    expected = Bilingual(
        "un champ To avec au moins une adresse", "a To field with at least one address"
    )
    if addresses:
        yield Outcome("1", True, f"To: {_clip(', '.join(addresses))}", expected)
    elif not values:
        yield Outcome("1", False, Bilingual("aucun champ To", "no To field"), expected)
    else:
        shown = _clip(values[0])
        found = Bilingual(
            f"To: {shown} ne contient aucune adresse", f"To: {shown} holds no address"
        )
        yield Outcome("1", False, found, expected)


@rule(
    "HDR-003",
    "Date present and valid",
    "RFC 5322 3.6.1 / 3.3",
    "Exactly one Date field in RFC 5322 date-time syntax.",
)
def date_present(context: Context) -> Iterator[Outcome]:
    values = _values(context, "date")
    expected = Bilingual(
        "un champ Date à la syntaxe date-time de la RFC 5322",
        "one Date field in RFC 5322 date-time syntax",
    )
    if len(values) != 1:
        n = len(values)
        yield Outcome("1", False, Bilingual(f"{n} champ(s) Date", f"{n} Date fields"), expected)
        return
    try:
        moment = parsedate_to_datetime(values[0])
    except (TypeError, ValueError, IndexError):
        moment = None
    shown = _clip(_shown(context, "date")[0])
    if moment is None:
        found = Bilingual(f"Date: {shown} illisible", f"Date: {shown} does not parse")
        yield Outcome("1", False, found, expected)
    else:
        yield Outcome("1", True, f"Date: {shown}", expected)


@rule(
    "HDR-004",
    "Message-ID present and well-formed",
    "RFC 5322 3.6.4",
    "A Message-ID of the form <left@right>, so replies and receipts can refer to it.",
)
def message_id(context: Context) -> Iterator[Outcome]:
    values = _values(context, "message-id")
    expected = Bilingual("un Message-ID <id-left@id-right>", "one Message-ID <id-left@id-right>")
    if len(values) != 1:
        n = len(values)
        found = Bilingual(f"{n} champ(s) Message-ID", f"{n} Message-ID fields")
        yield Outcome("1", False, found, expected)
        return
    value = " ".join(values[0].split())
    shown = _clip(_shown(context, "message-id")[0])
    yield Outcome("1", bool(_MSG_ID.match(value)), f"Message-ID: {shown}", expected)


@rule(
    "HDR-005",
    "MIME-Version present",
    "RFC 2045 4",
    "MIME-Version: 1.0 in the message header: without it the body is plain RFC 5322 text.",
)
def mime_version(context: Context) -> Iterator[Outcome]:
    values = _values(context, "mime-version")
    expected = "MIME-Version: 1.0"
    if not values:
        found = Bilingual("aucun champ MIME-Version", "no MIME-Version field")
        yield Outcome("1", False, found, expected)
        return
    version = re.sub(r"\([^)]*\)", "", values[0]).replace(" ", "").strip()
    yield Outcome(
        "1",
        version == "1.0" and len(values) == 1,
        f"MIME-Version: {_clip(_shown(context, 'mime-version')[0])}",
        expected,
    )


@rule(
    "HDR-006",
    "Header fields are ASCII",
    "RFC 5322 2.2 / 3.2.3 / RFC 2047",
    "Header fields hold printable US-ASCII only, blanks included: no NUL, no other control "
    "character than HTAB (an ESC would drive the terminal that shows the field), no DEL; "
    "other characters must be RFC 2047 encoded words.",
)
def ascii_headers(context: Context) -> Iterator[Outcome]:
    expected = Bilingual(
        "des champs d'en-tête en US-ASCII imprimable (texte non ASCII en mots encodés RFC 2047)",
        "printable US-ASCII header fields (non-ASCII text as RFC 2047 encoded words)",
    )
    for node in context.nodes:
        if not node.header:
            continue
        bad = node.defects("non-ascii-header")
        if not bad:
            said = Bilingual("ASCII imprimable seulement", "printable ASCII only")
            yield Outcome(node.path, True, said, expected)
            continue
        said, shown = defect_text(bad[0]), _header_line(node, bad[0].line)
        found = Bilingual(f"{said.fr} : {shown}", f"{said.en}: {shown}")
        yield Outcome(node.path, False, found, expected)


def _word_problem(word: re.Match[str]) -> Bilingual | None:
    charset, _, encoding, text = word.groups()
    shown = _clip(word.group(0), 40)
    if len(word.group(0)) > 75:
        return Bilingual(
            f"mot encodé de plus de 75 caractères : {shown}",
            f"encoded word longer than 75 characters: {shown}",
        )
    try:
        codecs.lookup(charset)
    except LookupError:
        return Bilingual(
            f"jeu de caractères inconnu {charset!r} dans {shown}",
            f"unknown charset {charset!r} in {shown}",
        )
    if encoding in "Bb":
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            return Bilingual(f"base64 invalide dans {shown}", f"bad base64 in {shown}")
    else:
        if not _Q_TEXT.match(text):
            return Bilingual(f"encodage Q invalide dans {shown}", f"bad Q encoding in {shown}")
        raw = binascii.a2b_qp(text.replace("_", " "), header=True)
    try:
        raw.decode(charset)
    except (UnicodeDecodeError, LookupError):
        return Bilingual(
            f"le texte de {shown} n'est pas du {charset} valide",
            f"text of {shown} is not valid {charset}",
        )
    return None


@rule(
    "HDR-007",
    "Encoded words well-formed",
    "RFC 2047 2 / 4 / 5",
    "Every =?charset?B|Q?text?= word is complete, names a known charset, decodes, "
    "and is at most 75 characters.",
)
def encoded_words(context: Context) -> Iterator[Outcome]:
    expected = Bilingual(
        "des mots encodés RFC 2047 bien formés", "well-formed RFC 2047 encoded words"
    )
    for node in context.nodes:
        if not node.header:
            continue
        text = node.header.decode("ascii", "replace")
        unfolded = re.sub(r"\r?\n[ \t]", " ", text)
        problems: list[Bilingual] = []
        count = 0
        for start in _WORD_START.finditer(unfolded):
            count += 1
            word = _WORD.match(unfolded, start.start())
            if word is None:
                shown = _clip(unfolded[start.start() :], 40)
                problems.append(
                    Bilingual(f"mot encodé incomplet {shown}", f"incomplete encoded word {shown}")
                )
                continue
            problem = _word_problem(word)
            if problem:
                problems.append(problem)
        if problems:
            yield Outcome(node.path, False, SEMICOLON.join(problems[:3]), expected)
        elif count or node.path == "1":
            found = Bilingual(
                f"{count} mot(s) encodé(s), tous bien formés",
                f"{count} encoded word(s), all well-formed",
            )
            yield Outcome(node.path, True, found, expected)


@rule(
    "HDR-008",
    "From is the expected sender",
    "OSM: the sender's address",
    "When the expected sender is given, the message's one author (From:, or Sender: when From: "
    "holds several mailboxes) is that address (case-insensitive).",
)
def expected_sender(context: Context) -> Iterator[Outcome]:
    wanted = context.expected_sender
    if not wanted:
        return
    written = author(_values(context, "from"), _values(context, "sender"))
    ok = written.address == wanted.strip().lower()
    problem, found = author_text(written)
    if written.problem:
        found += Bilingual(f" ({problem.fr})", f" ({problem.en})")
    yield Outcome("1", ok, found, wanted)


@rule(
    "HDR-009",
    "To holds the expected recipient",
    "OSM: the recipient's address",
    "When the expected recipient is given, To: or Cc: names it (case-insensitive).",
)
def expected_recipient(context: Context) -> Iterator[Outcome]:
    wanted = context.expected_recipient
    if not wanted:
        return
    found = [a.lower() for a in _addresses(_values(context, "to") + _values(context, "cc"))]
    ok = wanted.strip().lower() in found
    shown = _clip(", ".join(found))
    said = Bilingual(f"To/Cc: {shown or 'aucun'}", f"To/Cc: {shown or 'none'}")
    yield Outcome("1", ok, said, wanted)


@rule(
    "HDR-010",
    "Header block well-formed",
    "RFC 5322 2.2 / 3.2.2 / RFC 2046 5.1.1",
    "Every line of a header block (the message's, or a body part's) is a field, name and colon, "
    "or the folded continuation of one, up to the empty line: a line that is neither ends the "
    "header for a lenient reader, which reads the fields after it as the body. The block ends "
    f"within its entity's first {MAX_HEADER_BYTES} bytes: the reference receiver refuses a "
    "longer one as too large, whatever the message's size.",
)
def header_block(context: Context) -> Iterator[Outcome]:
    expected = Bilingual(
        "des champs nom: valeur (ou leur suite repliée) jusqu'à la ligne vide",
        "name: value fields (or their folded continuation) up to the empty line",
    )
    for node in context.nodes:
        too_long = node.defects("header-limit")
        if too_long:
            limit = Bilingual(
                f"un bloc d'en-tête terminé dans les {MAX_HEADER_BYTES} premiers octets",
                f"a header block ended within the first {MAX_HEADER_BYTES} bytes",
            )
            yield Outcome(node.path, False, defect_text(too_long[0]), limit)
            continue
        broken = node.defects("no-header", "header-without-colon")
        if not broken:
            if node.header:
                said = Bilingual("des champs seulement", "fields only")
                yield Outcome(node.path, True, said, expected)
            continue
        defect = broken[0]
        shown = _header_line(node, defect.line)
        if not node.size:
            found = Bilingual("vide : aucun champ d'en-tête", "empty: no header field")
        elif defect.code == "no-header":
            found = Bilingual(
                f"la première ligne n'est pas un champ d'en-tête ('{shown}') : partie lue sans "
                "en-tête, en text/plain",
                f"the first line is not a header field ('{shown}'): the part is read with no "
                "header, as text/plain",
            )
        else:
            number = defect.line - node.entity.line + 1
            found = Bilingual(
                f"la ligne d'en-tête {number} n'est pas un champ ('{shown}') : l'en-tête s'arrête "
                "là et la suite est lue comme le corps",
                f"header line {number} is not a field ('{shown}'): the header ends there and "
                "what follows is read as the body",
            )
        yield Outcome(node.path, False, found, expected)
