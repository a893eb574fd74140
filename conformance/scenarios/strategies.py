"""Hypothesis strategies for scenarios, and the fixed basic scenario of each function.

Built for shrinking: every choice lists its plainest option first (hypothesis
shrinks `sampled_from` and `one_of` towards the first), a letter is a list of
lines that shrinks line by line, and the expensive features (long lines, large
bodies) are made by repeating a sentence so they cost a few choices, not
thousands. A failing example thus shrinks to a short letter showing only the
feature that broke the exchange.
"""

from __future__ import annotations

from datetime import date
from functools import cache

from hypothesis import strategies as st

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
    Attachment,
    Charset,
    HprimPayload,
    HprimVariant,
    Scenario,
    allowed_transfer_encodings,
)
from conformance.smime.options import Function

LARGE_BODY_ODDS = 32  # about one letter in this many is large (20 kB to 300 kB)


# --------------------------------------------------------------------------- letters


@cache  # strategies are immutable: build each once, not at every draw
def _sentences(charset: Charset) -> st.SearchStrategy[str]:
    extra = UTF8_ONLY if charset == "utf-8" else ()
    return st.sampled_from(SENTENCES + extra)


def _alphabet(charset: Charset) -> str:
    return FRENCH_LETTERS + (UTF8_EXTRA if charset == "utf-8" else "")


def _long_line(sentence: str, length: int) -> str:
    return ((sentence + " ") * (length // (len(sentence) + 1) + 1))[:length]


@cache
def letter_lines(charset: Charset) -> st.SearchStrategy[str]:
    """One line of a letter: ordinary first, then each special kind."""
    s = _sentences(charset)
    return st.one_of(
        s,
        st.just(""),
        st.text(alphabet=_alphabet(charset), max_size=60),
        st.tuples(s, st.sampled_from([" ", "  ", "\t", " \t"])).map("".join),  # trailing ws
        s.map(lambda x: "From " + x),
        st.one_of(st.sampled_from(["-", "--", "-- ", "---"]), s.map(lambda x: "- " + x)),
        st.just("."),
        st.tuples(s, st.sampled_from(["\r", "\n"]), s).map("".join),  # bare CR / LF
        st.tuples(s, st.integers(999, 2500)).map(lambda t: _long_line(*t)),  # > 998 octets
    )


_LARGE = st.sampled_from([False] * (LARGE_BODY_ODDS - 1) + [True])
_FINAL_BREAK = st.sampled_from([True, False])


@cache
def _line_lists(charset: Charset) -> st.SearchStrategy[list[str]]:
    return st.lists(letter_lines(charset), max_size=12)


@st.composite
def letters(draw: st.DrawFn, charset: Charset) -> str:
    """A letter body with CRLF line breaks; empty, ordinary, special or (rarely) large.

    A large body repeats the drawn letter (or a sentence, if it is empty) and
    is decided last, so shrinking can turn it off and keep the lines it found.
    """
    lines = draw(_line_lists(charset))
    final_break = draw(_FINAL_BREAK)
    body = "\r\n".join(lines) + ("\r\n" if final_break and lines else "")
    # sampled_from draws uniformly and shrinks to its first element: "not large"
    if draw(_LARGE):
        size = draw(st.integers(20_000, 300_000))
        unit = body if body.endswith("\r\n") else body + "\r\n"
        if unit == "\r\n":
            unit = SENTENCES[1] + "\r\n"
        body = unit * (size // len(unit) + 1)
    return body


@cache
def subjects() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(SUBJECTS),
        st.text(alphabet=FRENCH_LETTERS + UTF8_EXTRA, max_size=120),
    )


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
_KINDS = {
    "pdf": (PDF_MEDIA_TYPE, ".pdf", pdf_like),
    "png": (PNG_MEDIA_TYPE, ".png", png_like),
    "dicom": (DICOM_MEDIA_TYPE, ".dcm", dicom_like),
}


@cache
def filenames(extension: str) -> st.SearchStrategy[str]:
    base = st.one_of(
        st.sampled_from(_FILENAME_BASES),
        st.text(alphabet=_FILENAME_ALPHABET, min_size=1, max_size=40)
        .map(str.strip).filter(bool),
    )
    return base.map(lambda b: b + extension)


@st.composite
def attachments(draw: st.DrawFn) -> Attachment:
    """A PDF-like, PNG-like or DICOM-like file with a (often accented) name."""
    media_type, extension, build = _KINDS[draw(st.sampled_from(list(_KINDS)))]
    payload = draw(st.binary(max_size=4096))
    return Attachment(filename=draw(filenames(extension)), media_type=media_type,
                      data=build(payload))


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
        value=field, unit=field, low=field, high=field,
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
            results=tuple(results), **kw),
        names, _CODES, _DATES, st.lists(hprim_results(variant), min_size=1, max_size=8),
        request_id=_CODES, date=_DATES, sender_code=_CODES, sender_name=text,
        recipient_code=_CODES, recipient_name=text,
        comments=st.lists(text, max_size=3).map(tuple),
    )


def hprim_reports(variant: HprimVariant | None = None) -> st.SearchStrategy[hprim.HprimReport]:
    """HPRIM reports that `hprim.generate` can write (and `hprim.parse` read back)."""
    if variant is not None:
        return _report_parts(variant)
    return st.one_of(_report_parts("medecin"), _report_parts("sante"))


def hprim_payloads(variant: HprimVariant | None = None) -> st.SearchStrategy[HprimPayload]:
    return st.tuples(
        hprim_reports(variant), st.sampled_from(["resultats.hpr", "RÉSULTATS GÉRARD.hpr"])
    ).map(lambda t: HprimPayload(variant=t[0].variant, data=hprim.generate(t[0]),
                                 filename=t[1]))


_ANY_HPRIM = hprim_payloads()


def basic_hprim_report(variant: HprimVariant = "medecin") -> hprim.HprimReport:
    """The fixed HPRIM example: Hélène GÉRARD's blood test, with accents in ISO-8859-1."""
    return hprim.HprimReport(
        variant=variant,
        patient=hprim.Patient(id="P0042", surname="GÉRARD", given_name="Hélène",
                              birth_date=date(1957, 4, 3)),
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


_FILES = st.lists(attachments(), min_size=1, max_size=3, unique_by=lambda a: a.filename)
_CHARSETS = st.sampled_from(CHARSETS)
_RECIPIENTS = st.integers(0, 2)


@st.composite
def scenarios(draw: st.DrawFn, function: Function) -> Scenario:
    """Scenarios of one function, from the plain to the awkward."""
    charset: Charset = draw(_CHARSETS)
    body = draw(letters(charset))
    encoding = draw(st.sampled_from(allowed_transfer_encodings(body, charset)))
    files: tuple[Attachment, ...] = ()
    payload: HprimPayload | None = None
    if function == "attachments":
        files = tuple(draw(_FILES))
    elif function == "hprim-net":
        payload = draw(_ANY_HPRIM)
    return Scenario(
        function=function,
        subject=draw(subjects()),
        body=body,
        charset=charset,
        transfer_encoding=encoding,
        attachments=files,
        hprim=payload,
        extra_recipients=draw(_RECIPIENTS),
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
