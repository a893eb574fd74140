"""The scenario: what a professional sends through a cell of the matrix.

A scenario is plain data (frozen, hashable, printable) so that hypothesis can
shrink it and the matrix can store the counterexample it found. It says what the
user composed (letter, attachments, HPRIM file); `content.build_entity` turns it
into the MIME entity handed to the sending agent and `compare.compare` checks
what the receiving agent recovered.

Line endings: `body` is the letter exactly as given. Its line breaks are CRLF
("\\r\\n"); any lone CR or LF in it is deliberate (a scenario probing how tools
treat bare CR/LF inside a line) and must arrive as such.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, get_args

from conformance.core.bilingual import FUNCTION_NAMES, SEMICOLON, Bilingual
from conformance.core.vocabulary import FUNCTIONS, Function

Charset = Literal["iso-8859-1", "utf-8"]
TransferEncoding = Literal["7bit", "8bit", "quoted-printable", "base64"]
HprimVariant = Literal["medecin", "sante"]

CHARSETS: tuple[Charset, ...] = get_args(Charset)
TRANSFER_ENCODINGS: tuple[TransferEncoding, ...] = get_args(TransferEncoding)
HPRIM_VARIANTS: tuple[HprimVariant, ...] = get_args(HprimVariant)

# RFC 5322 section 2.1.1: a line is at most 998 octets, CRLF excluded.
MAX_LINE_OCTETS = 998


@dataclass(frozen=True)
class Attachment:
    """A file the user attached: its name (accents allowed), media type, bytes."""

    filename: str
    media_type: str
    data: bytes

    def __post_init__(self) -> None:
        if not self.filename:
            raise ValueError("attachment filename is empty")
        if "/" not in self.media_type:
            raise ValueError(f"attachment {self.filename!r}: bad media type {self.media_type!r}")

    def __repr__(self) -> str:  # bytes can be large: keep counterexamples readable
        return (
            f"Attachment(filename={self.filename!r}, media_type={self.media_type!r}, "
            f"data=<{len(self.data)} bytes {self.data[:12]!r}...>)"
        )


@dataclass(frozen=True)
class HprimPayload:
    """An HPRIM lab result file, carried byte for byte (see docs/scenarios.md)."""

    variant: HprimVariant
    data: bytes
    filename: str = "resultats.hpr"

    def __post_init__(self) -> None:
        if self.variant not in HPRIM_VARIANTS:
            raise ValueError(f"unknown HPRIM variant {self.variant!r}")


def line_problems(raw: bytes) -> tuple[int, int, int]:
    """Count (lines over 998 octets, bare CRs, bare LFs) in CRLF-broken bytes."""
    crlf = raw.count(b"\r\n")  # the same non-overlapping breaks as split() finds
    long_lines = sum(1 for line in raw.split(b"\r\n") if len(line) > MAX_LINE_OCTETS)
    return long_lines, raw.count(b"\r") - crlf, raw.count(b"\n") - crlf


def allowed_transfer_encodings(body: str, charset: Charset) -> tuple[TransferEncoding, ...]:
    """The encodings a correct mail client may choose for this text (RFC 2045 s.2.7-2.8).

    7bit and 8bit data are CRLF-broken lines of at most 998 octets with no bare
    CR or LF; 7bit is also ASCII only. Quoted-printable and base64 carry anything.
    """
    raw = body.encode(charset)
    long_lines, bare_cr, bare_lf = line_problems(raw)
    lines_ok = not (long_lines or bare_cr or bare_lf) and b"\0" not in raw
    allowed: list[TransferEncoding] = []
    if lines_ok and raw.isascii():
        allowed.append("7bit")
    if lines_ok:
        allowed.append("8bit")
    allowed += ["quoted-printable", "base64"]
    return tuple(allowed)


@dataclass(frozen=True)
class Scenario:
    """One exchange: the function exercised and the content the user composed."""

    function: Function
    subject: str = ""
    body: str = ""
    charset: Charset = "utf-8"
    transfer_encoding: TransferEncoding = "quoted-printable"
    attachments: tuple[Attachment, ...] = ()
    hprim: HprimPayload | None = None
    extra_recipients: int = 0  # recipients beyond the first ("several recipients")

    def __post_init__(self) -> None:
        if self.function not in FUNCTIONS:
            raise ValueError(f"unknown function {self.function!r}")
        if self.charset not in CHARSETS:
            raise ValueError(f"unknown charset {self.charset!r}")
        if self.transfer_encoding not in TRANSFER_ENCODINGS:
            raise ValueError(f"unknown transfer encoding {self.transfer_encoding!r}")
        try:
            self.body.encode(self.charset)
        except UnicodeEncodeError as exc:
            raise ValueError(
                f"letter text has {exc.object[exc.start : exc.end]!r}, not in {self.charset}"
            ) from exc
        # Only 7bit and 8bit refuse some text (quoted-printable and base64 carry anything):
        # the letter's lines, up to 300 kB of them, are counted only for those.
        limited = self.transfer_encoding in ("7bit", "8bit")
        if limited and self.transfer_encoding not in allowed_transfer_encodings(
            self.body, self.charset
        ):
            raise ValueError(
                f"{self.transfer_encoding} cannot carry this letter (non-ASCII, long lines "
                "or bare CR/LF): a mail client would use quoted-printable or base64"
            )
        if self.function == "hprim-net" and self.hprim is None:
            raise ValueError("an hprim-net scenario needs an HPRIM payload")
        if self.extra_recipients < 0:
            raise ValueError("extra_recipients must be >= 0")
        names = [a.filename for a in self.attachments]
        if self.hprim is not None:
            names.append(self.hprim.filename)
        if len(set(names)) != len(names):
            raise ValueError(f"attachment filenames are not distinct: {names}")

    @property
    def recipients(self) -> int:
        return 1 + self.extra_recipients

    @property
    def body_bytes(self) -> bytes:
        """The letter in its charset, before any transfer encoding."""
        return self.body.encode(self.charset)

    def describe(self) -> str:
        """A readable account of what is special here, for counterexample evidence (in
        English; `description` gives it in both languages)."""
        return self.description().en

    def description(self) -> Bilingual:
        """What is special here, in French and English (the report shows the page's)."""
        parts = [
            Bilingual(f"fonction {FUNCTION_NAMES[self.function].fr}", f"function {self.function}"),
            Bilingual(f"{self.recipients} destinataire(s)", f"{self.recipients} recipient(s)"),
        ]
        if not self.subject:
            parts.append(Bilingual("objet vide", "empty subject"))
        elif not self.subject.isascii():
            parts.append(
                Bilingual(
                    f"objet non ASCII {self.subject!r} (en mots encodés)",
                    f"non-ASCII subject {self.subject!r} (needs encoded words)",
                )
            )
        else:
            parts.append(Bilingual(f"objet {self.subject!r}", f"subject {self.subject!r}"))
        parts.append(_describe_letter(self))
        for att in self.attachments:
            non_ascii = not att.filename.isascii()
            parts.append(
                Bilingual(
                    f"pièce jointe {att.filename!r} ({att.media_type}, {len(att.data)} octets"
                    + (", nom non ASCII" if non_ascii else "")
                    + ")",
                    f"attachment {att.filename!r} ({att.media_type}, {len(att.data)} bytes"
                    + (", non-ASCII name" if non_ascii else "")
                    + ")",
                )
            )
        if self.hprim is not None:
            size, endings = len(self.hprim.data), _line_endings(self.hprim.data)
            parts.append(
                Bilingual(
                    f"fichier HPRIM {self.hprim.variant} {self.hprim.filename!r} "
                    f"({size} octets, {endings.fr})",
                    f"HPRIM {self.hprim.variant} file {self.hprim.filename!r} "
                    f"({size} bytes, {endings.en})",
                )
            )
        return SEMICOLON.join(parts)


def _line_endings(data: bytes) -> Bilingual:
    crlf = data.count(b"\r\n")
    cr = data.count(b"\r") - crlf
    lf = data.count(b"\n") - crlf
    found = ", ".join(f"{n} {name}" for n, name in ((crlf, "CRLF"), (cr, "CR"), (lf, "LF")) if n)
    if not found:
        return Bilingual("aucune fin de ligne", "line endings none")
    return Bilingual(f"fins de ligne {found}", f"line endings {found}")


# Lines a transport or a signature treats specially: (French, English, the test).
_SPECIAL_LINES: tuple[tuple[str, str, Callable[[str], bool]], ...] = (
    ("avec des blancs en fin de ligne", "trailing whitespace", lambda ln: ln != ln.rstrip(" \t")),
    ("commençant par « From »", 'starting with "From "', lambda ln: ln.startswith("From ")),
    ("commençant par « - »", 'starting with "-"', lambda ln: ln.startswith("-")),
    ("réduite(s) à un point", '"." alone', lambda ln: ln == "."),
)


def _describe_letter(s: Scenario) -> Bilingual:
    coding = f"{s.charset}, {s.transfer_encoding}"
    if not s.body:
        return Bilingual(f"lettre vide ({coding})", f"empty letter ({coding})")
    raw = s.body_bytes
    lines = s.body.split("\r\n")
    notes = [
        Bilingual(
            f"lettre de {len(raw)} octets, {len(lines)} ligne(s), {coding}",
            f"letter of {len(raw)} bytes, {len(lines)} line(s), {coding}",
        )
    ]
    non_ascii = sorted({c for c in s.body if ord(c) > 127})
    if non_ascii:
        shown = repr("".join(non_ascii[:12]))
        notes.append(Bilingual(f"texte 8 bits {shown}", f"8-bit text {shown}"))
    long_lines, bare_cr, bare_lf = line_problems(raw)
    if long_lines:
        longest = max(len(line) for line in raw.split(b"\r\n"))
        notes.append(
            Bilingual(
                f"{long_lines} ligne(s) de plus de {MAX_LINE_OCTETS} octets "
                f"(la plus longue : {longest})",
                f"{long_lines} line(s) over {MAX_LINE_OCTETS} octets (longest {longest})",
            )
        )
    if bare_cr:
        notes.append(Bilingual(f"{bare_cr} CR isolé(s)", f"{bare_cr} bare CR"))
    if bare_lf:
        notes.append(Bilingual(f"{bare_lf} LF isolé(s)", f"{bare_lf} bare LF"))
    for french, english, test in _SPECIAL_LINES:
        numbers = [i + 1 for i, ln in enumerate(lines) if test(ln)]
        if numbers:
            shown = ", ".join(map(str, numbers[:5])) + (", ..." if len(numbers) > 5 else "")
            notes.append(Bilingual(f"ligne(s) {shown} {french}", f"line(s) {shown} {english}"))
    if not s.body.endswith("\r\n"):
        notes.append(Bilingual("pas de saut de ligne final", "no final line break"))
    if len(raw) <= 200:
        notes.append(Bilingual(f"texte {s.body!r}", f"text {s.body!r}"))
    return SEMICOLON.join(notes)
