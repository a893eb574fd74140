"""Hypothesis strategies for scenarios, and the fixed basic scenario of each function.

Built for shrinking: every choice lists its plainest option first (hypothesis
shrinks `sampled_from` and `one_of` towards the first), a letter is a list of
lines that shrinks line by line, and the expensive features (long lines, large
bodies) are made by repeating a sentence so they cost a few choices, not
thousands. A failing example thus shrinks to a short letter showing only the
feature that broke the exchange.
"""

from __future__ import annotations

import unicodedata
from datetime import date
from functools import cache
from typing import TypeVar

from hypothesis import strategies as st

from conformance.core.vocabulary import Function
from conformance.scenarios import hprim
from conformance.scenarios.attachments import (
    DICOM_MEDIA_TYPE,
    PDF_MEDIA_TYPE,
    PNG_MEDIA_TYPE,
    basic_attachment,
    dicom_like,
    pdf_like,
    png_like,
)
from conformance.scenarios.letters import (
    FRENCH_LETTERS,
    PATIENTS,
    SENTENCES,
    SUBJECTS,
    UTF8_EXTRA,
    UTF8_ONLY,
    basic_letter,
)
from conformance.scenarios.model import (
    CHARSETS,
    HPRIM_VARIANTS,
    Attachment,
    Charset,
    HprimPayload,
    HprimVariant,
    Scenario,
    allowed_transfer_encodings,
)

_T = TypeVar("_T")

LARGE_BODY_ODDS = 32  # about one letter in this many is large (20 kB to 300 kB)

# Generation cost is per hypothesis choice (a few tenths of a millisecond each,
# more than the crypto of an exchange), so a scenario is drawn in a handful of
# choices: short byte strings whose bytes each pick an option from a prepared
# table, option 0 being the plainest. Hypothesis shrinks a byte string by
# dropping bytes and lowering each one, which here drops lines (or files) and
# turns each choice back to its plainest option.


def _pick(options: tuple[_T, ...], code: int) -> _T:
    return options[code % len(options)]


# --------------------------------------------------------------------------- letters

# What a letter line's byte selects: its high nibble the kind (ordinary lines
# on every other value, so that about half the lines are plain sentences), its
# low nibble which sentence or variant. A shrunk line is a plain sentence, or
# the shortest line of its kind.
_LINE_KINDS = (
    "plain",
    "short",
    "plain",
    "trailing",
    "plain",
    "from",
    "plain",
    "dash",
    "plain",
    "bare-cr",
    "plain",
    "bare-lf",
    "plain",
    "long",
    "plain",
    "free",
)
# Short lines, the plainest first; " " and "-- " (the signature separator) end in blanks.
# (Those with trailing blanks come together, so that one shrinks to " ".)
_SHORT_LINES = (
    "",
    " ",
    "  ",
    "\t",
    " \t",
    "-- ",
    "-",
    "--",
    "---",
    ".",
    "M.",
    "Dr",
    "é",
    "Né",
    "Çà",
    "ok",
)
_TRAILING = (" ", "  ", "\t", " \t")


def _sentence_table(charset: Charset) -> tuple[str, ...]:
    return SENTENCES + (UTF8_ONLY if charset == "utf-8" else ())


def _long_line(sentence: str, length: int) -> str:
    return ((sentence + " ") * (length // (len(sentence) + 1) + 1))[:length]


def _line(code: int, sentences: tuple[str, ...], free: str) -> str:
    kind, index = _LINE_KINDS[code >> 4], code & 15
    sentence = _pick(sentences, index)
    match kind:
        case "plain":
            return sentence
        case "short":
            return _SHORT_LINES[index]
        case "trailing":
            return sentence + _pick(_TRAILING, index)
        case "from":
            return "From " + sentence
        case "dash":
            return "- " + sentence
        case "bare-cr" | "bare-lf":
            return sentence + ("\r" if kind == "bare-cr" else "\n") + _pick(sentences, index + 1)
        case "long":
            return _long_line(sentence, 999 + 100 * index)  # 999 to 2499 octets
    return free


def _needs_free_text(codes: bytes) -> bool:
    return any(_LINE_KINDS[c >> 4] == "free" for c in codes)


@cache
def _free_text(alphabet: str, max_size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, max_size=max_size)


def _alphabet(charset: Charset) -> str:
    return FRENCH_LETTERS + (UTF8_EXTRA if charset == "utf-8" else "")


_LINE_CODES = st.binary(max_size=12)


def without_accents(text: str) -> str:
    """The text as typed on a keyboard without accents: ASCII only."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def _draw_letter(
    draw: st.DrawFn, charset: Charset, final_break: bool, size: int, ascii_only: bool = False
) -> tuple[str, str]:
    """(body, unit): a letter with CRLF line breaks, and what it repeats.

    `ascii_only` writes it without accents (what a 7bit transfer can carry).
    `size` > 0 makes the body large by repeating a unit of whole lines, which
    thus has the same long lines, bare CR/LF and characters as the body.
    """
    codes = draw(_LINE_CODES)
    free = draw(_free_text(_alphabet(charset), 60)) if _needs_free_text(codes) else ""
    sentences = _sentence_table(charset)
    lines = [_line(c, sentences, free) for c in codes]
    body = "\r\n".join(lines) + ("\r\n" if final_break and lines else "")
    if ascii_only:
        body = without_accents(body)
    if size:
        unit = body if body.endswith("\r\n") else body + "\r\n"
        if unit == "\r\n":
            unit = SENTENCES[1] + "\r\n"
        return unit * (size // len(unit) + 1), unit
    return body, body


def _large_size(flag: int, high: int, low: int) -> int:
    """0 (not large) for most flags, else 20 kB to 300 kB; shrinks to 0.

    Large is one residue of the flag, away from 0x00 and 0xFF, which
    hypothesis draws more often than the other byte values.
    """
    if flag % LARGE_BODY_ODDS != LARGE_BODY_ODDS // 2:
        return 0
    return 20_000 + ((high << 8) | low) * 280_000 // 0xFFFF


@st.composite
def letters(draw: st.DrawFn, charset: Charset) -> str:
    """A letter body with CRLF line breaks; empty, ordinary, special or (rarely) large."""
    flags = draw(st.binary(min_size=4, max_size=4))
    return _draw_letter(draw, charset, flags[0] < 128, _large_size(*flags[1:4]))[0]


_SUBJECT_ALPHABET = FRENCH_LETTERS + UTF8_EXTRA


def _draw_subject(draw: st.DrawFn, code: int) -> str:
    """One of the usual subjects, or (a quarter of the time) arbitrary text."""
    if code < 192:
        return _pick(SUBJECTS, code)
    return draw(_free_text(_SUBJECT_ALPHABET, 120))


@st.composite
def subjects(draw: st.DrawFn) -> str:
    return _draw_subject(draw, draw(st.integers(0, 255)))


# --------------------------------------------------------------------------- files

_FILENAME_BASES = (
    "compte-rendu échographie",
    "ordonnance",
    "IRM genou gauche",
    "résultat n°2",
    "radio thorax (face)",
    "Lettre à Mme GÉRARD",
)
_FILENAME_ALPHABET = FRENCH_LETTERS.replace("/", "")
_KINDS = (
    (PDF_MEDIA_TYPE, ".pdf", pdf_like),
    (PNG_MEDIA_TYPE, ".png", png_like),
    (DICOM_MEDIA_TYPE, ".dcm", dicom_like),
)
_FREE_FILENAME = (
    st.text(alphabet=_FILENAME_ALPHABET, min_size=1, max_size=40).map(str.strip).filter(bool)
)


def _draw_files(draw: st.DrawFn, codes: bytes) -> tuple[Attachment, ...]:
    """One file per code byte: PDF-, PNG- or DICOM-like, with a (often accented) name.

    A byte's low two bits give the kind, the rest the name (a quarter of the
    names arbitrary text); a name already taken gets " (2)" and so on, as a
    mail client does. The files share one drawn payload, cut in parts.
    """
    payload = draw(st.binary(max_size=4096))
    files: list[Attachment] = []
    taken: set[str] = set()
    for index, code in enumerate(codes):
        media_type, extension, build = _pick(_KINDS, code & 3)
        name_code = code >> 2
        base = _pick(_FILENAME_BASES, name_code) if name_code < 48 else draw(_FREE_FILENAME)
        name, copy = base + extension, 1
        while name in taken:
            copy += 1
            name = f"{base} ({copy}){extension}"
        taken.add(name)
        share = len(payload) // len(codes)
        part = payload[index * share : (index + 1) * share]
        files.append(Attachment(filename=name, media_type=media_type, data=build(part)))
    return tuple(files)


_FILE_CODES = st.binary(min_size=1, max_size=3)


@st.composite
def attachments(draw: st.DrawFn) -> Attachment:
    """A PDF-like, PNG-like or DICOM-like file with a (often accented) name."""
    return _draw_files(draw, draw(st.binary(min_size=1, max_size=1)))[0]


# --------------------------------------------------------------------------- HPRIM

_ANALYTES = (
    ("HB", "Hémoglobine", "g/dl", "12", "16"),
    ("CREA", "Créatininémie", "µmol/l", "45", "90"),
    ("GLY", "Glycémie à jeun", "g/l", "0,70", "1,10"),
    ("K", "Kaliémie", "mmol/l", "3,5", "5,0"),
    ("TSH", "TSH ultrasensible", "mUI/l", "0,40", "4,00"),
    ("CRP", "Protéine C réactive", "mg/l", "", "5"),
    ("SERO", "Sérologie toxoplasmose", "", "", ""),
)
_VALUES = st.one_of(
    st.integers(0, 9999).map(lambda n: f"{n // 100},{n % 100:02d}"),
    st.integers(0, 500).map(str),
    st.sampled_from(["positif", "négatif", "<0,01", ">1000", "absence"]),
)
_CODE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
_SANTE_SEPARATORS = "|~^\\&"


@cache
def _hprim_text(variant: HprimVariant, min_size: int = 0) -> st.SearchStrategy[str]:
    alphabet = FRENCH_LETTERS + ("" if variant == "medecin" else _SANTE_SEPARATORS)
    return st.text(alphabet=alphabet, min_size=min_size, max_size=30)


@cache
def _free_results(variant: HprimVariant) -> st.SearchStrategy[hprim.Result]:
    """Results with arbitrary text: exercises escapes and odd characters."""
    text = _hprim_text(variant)
    no_bar = text.filter(lambda x: "|" not in x)
    field = no_bar if variant == "medecin" else text
    return st.builds(
        hprim.Result,
        code=st.text(alphabet=_CODE_ALPHABET, min_size=1, max_size=8),
        label=_hprim_text(variant, 1).filter(lambda x: "|" not in x),
        value=field,
        unit=field,
        low=field,
        high=field,
        flag=st.sampled_from(hprim.FLAGS),
    )


def _lab_result(analyte: tuple[str, str, str, str, str], value: str, flag: str) -> hprim.Result:
    code, label, unit, low, high = analyte
    return hprim.Result(code, label, value, unit, low, high, flag)


_LAB_RESULTS = st.builds(
    _lab_result, st.sampled_from(_ANALYTES), _VALUES, st.sampled_from(hprim.FLAGS)
)


@cache
def hprim_results(variant: HprimVariant) -> st.SearchStrategy[hprim.Result]:
    """A lab's usual analyses first, then results with arbitrary text."""
    return st.one_of(_LAB_RESULTS, _free_results(variant))


_DATES = st.one_of(st.none(), st.dates(min_value=date(1900, 1, 1), max_value=date(2030, 12, 31)))
_CODES = st.text(alphabet=_CODE_ALPHABET, max_size=10)


@cache
def _report_parts(variant: HprimVariant) -> st.SearchStrategy[hprim.HprimReport]:
    text = _hprim_text(variant)
    names = st.one_of(st.sampled_from(PATIENTS), st.tuples(text, text))
    return st.builds(
        lambda name, pid, birth, results, **kw: hprim.HprimReport(
            variant=variant,
            patient=hprim.Patient(id=pid, surname=name[0], given_name=name[1], birth_date=birth),
            results=tuple(results),
            **kw,
        ),
        names,
        _CODES,
        _DATES,
        st.lists(hprim_results(variant), min_size=1, max_size=8),
        request_id=_CODES,
        date=_DATES,
        sender_code=_CODES,
        sender_name=text,
        recipient_code=_CODES,
        recipient_name=text,
        comments=st.lists(text, max_size=3).map(tuple),
    )


def hprim_reports(variant: HprimVariant | None = None) -> st.SearchStrategy[hprim.HprimReport]:
    """HPRIM reports that `hprim.generate` can write (and `hprim.parse` read back)."""
    if variant is not None:
        return _report_parts(variant)
    return st.one_of(_report_parts("medecin"), _report_parts("sante"))


_HPRIM_VALUES = ("13,2", "98", "0,95", "4,2", "positif", "négatif", "<0,01", ">1000", "absence")
_HPRIM_CODES = ("", "080612-0173", "LAB01", "MED07", "P0042", "A_1-Z")
_HPRIM_NAMES = ("", "Laboratoire de l'Hôpital", "Dr François Lefèvre", "Cabinet médical")
_HPRIM_FILENAMES = ("resultats.hpr", "RÉSULTATS GÉRARD.hpr")
_HPRIM_HEAD = st.binary(min_size=6, max_size=6)
_HPRIM_RESULTS = st.binary(min_size=1, max_size=8)


def _hprim_date(code: int, first_year: int) -> date | None:
    """None for the lower eighth of the codes (the plainest), else a date from the code."""
    if code < 32:
        return None
    return date(first_year + code % 60, 1 + code % 12, 1 + code % 28)


def _hprim_result(code: int, position: int) -> hprim.Result:
    analyte = _pick(_ANALYTES, code)
    if code >> 7:
        value = f"{(code * 37 + position) % 10000 // 100},{(code * 37 + position) % 100:02d}"
    else:
        value = _pick(_HPRIM_VALUES, code >> 3)
    return _lab_result(analyte, value, _pick(hprim.FLAGS, code + position))


def _draw_hprim(draw: st.DrawFn, variant: HprimVariant | None) -> HprimPayload:
    """An HPRIM file in a few choices: a head of 6 bytes, one byte per result.

    The head picks the variant, file name, patient, dates and codes; a
    quarter of the files also carry arbitrary text (with the Santé separators,
    which must be escaped) as sender name and comment.
    """
    head = draw(_HPRIM_HEAD)
    chosen: HprimVariant = _pick(HPRIM_VARIANTS, head[0]) if variant is None else variant
    codes = draw(_HPRIM_RESULTS)
    free = draw(_hprim_text(chosen)) if head[1] >= 192 else None
    surname, given_name = _pick(PATIENTS, head[1])
    report = hprim.HprimReport(
        variant=chosen,
        patient=hprim.Patient(
            id=_pick(_HPRIM_CODES, head[2]),
            surname=surname,
            given_name=given_name,
            birth_date=_hprim_date(head[3], 1920),
        ),
        results=tuple(_hprim_result(c, i) for i, c in enumerate(codes)),
        request_id=_pick(_HPRIM_CODES, head[2] >> 3),
        date=_hprim_date(head[4], 1990),
        sender_code=_pick(_HPRIM_CODES, head[5]),
        sender_name=free if free is not None else _pick(_HPRIM_NAMES, head[5] >> 3),
        recipient_code=_pick(_HPRIM_CODES, head[5] >> 5),
        recipient_name=_pick(_HPRIM_NAMES, head[4] >> 5),
        comments=(free,) if free else (),
    )
    return HprimPayload(
        variant=chosen, data=hprim.generate(report), filename=_pick(_HPRIM_FILENAMES, head[0] >> 1)
    )


def hprim_payloads(variant: HprimVariant | None = None) -> st.SearchStrategy[HprimPayload]:
    """HPRIM files as scenarios carry them (cheap to draw; `hprim_reports` explores more)."""
    return st.composite(lambda draw: _draw_hprim(draw, variant))()


def basic_hprim_report(variant: HprimVariant = "medecin") -> hprim.HprimReport:
    """The fixed HPRIM example: Hélène GÉRARD's blood test, with accents in ISO-8859-1."""
    return hprim.HprimReport(
        variant=variant,
        patient=hprim.Patient(
            id="P0042", surname="GÉRARD", given_name="Hélène", birth_date=date(1957, 4, 3)
        ),
        results=(
            hprim.Result("HB", "Hémoglobine", "13,2", "g/dl", "12", "16", "N"),
            hprim.Result("CREA", "Créatininémie", "98", "µmol/l", "45", "90", "H"),
            hprim.Result("GLY", "Glycémie à jeun", "0,95", "g/l", "0,70", "1,10", "N"),
        ),
        request_id="080612-0173",
        date=date(2008, 6, 12),
        sender_code="LAB01",
        sender_name="Laboratoire de l'Hôpital",
        recipient_code="MED07",
        recipient_name="Dr François Lefèvre",
        comments=("Résultats validés par le biologiste.",),
    )


# --------------------------------------------------------------------------- scenarios


_SCENARIO_FLAGS = st.binary(min_size=9, max_size=9)


@st.composite
def scenarios(draw: st.DrawFn, function: Function) -> Scenario:
    """Scenarios of one function, from the plain to the awkward.

    Nine flag bytes choose charset, final line break, large body, transfer
    encoding, subject, recipients and (one letter in eight) no accents; then
    come the letter's line codes and the function's files. Each byte shrinks
    to the plainest choice.
    """
    flags = draw(_SCENARIO_FLAGS)
    charset: Charset = _pick(CHARSETS, flags[0])
    size = _large_size(flags[2], flags[3], flags[4])
    ascii_only = flags[8] >= 224
    body, unit = _draw_letter(draw, charset, flags[1] < 128, size, ascii_only)
    allowed = allowed_transfer_encodings(unit, charset)
    # A letter written without accents is mostly sent as 7bit, what it is written for.
    seven = ascii_only and "7bit" in allowed and flags[5] < 192
    encoding = "7bit" if seven else _pick(allowed, flags[5])
    files: tuple[Attachment, ...] = ()
    payload: HprimPayload | None = None
    if function == "attachments":
        files = _draw_files(draw, draw(_FILE_CODES))
    elif function == "hprim-net":
        payload = _draw_hprim(draw, None)
    return Scenario(
        function=function,
        subject=_draw_subject(draw, flags[6]),
        body=body,
        charset=charset,
        transfer_encoding=encoding,
        attachments=files,
        hprim=payload,
        extra_recipients=flags[7] % 3,
    )


def basic_scenario(function: Function) -> Scenario:
    """The fixed first example of each function: what every working pair must pass."""
    payload = None
    if function == "hprim-net":
        payload = HprimPayload("medecin", hprim.generate(basic_hprim_report()), "resultats.hpr")
    return Scenario(
        function=function,
        subject="Compte rendu de consultation",
        body=basic_letter(),
        charset="iso-8859-1",
        transfer_encoding="quoted-printable",
        attachments=(basic_attachment(),) if function == "attachments" else (),
        hprim=payload,
    )
