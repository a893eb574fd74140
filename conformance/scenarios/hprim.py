"""HPRIM lab results: a generator and a parser for HPRIM Médecin and HPRIM Santé.

HPRIM-Net must deliver the lab's file byte for byte AND parse to the same
results; this module gives both sides of that check. No maintained Python
library reads HPRIM (the specifications are the association's, not public), so
the formats are written here from what the public sources document; every
assumption is listed in docs/scenarios.md ("HPRIM").

HPRIM Médecin (version 3.0 of 1997, as documented readers parse it): a header of
12 lines (patient code, SURNAME, given name, address 1, address 2, postcode and
town, birth date dd/mm/yyyy, social security number, lab reference, date
dd/mm/yyyy, sender code and name, recipient code and name), free text, then a
machine-readable block from ``****LAB****`` to ``****FIN****`` made of ``RES|``
lines: RES|label|code|type|value|unit|low|high|flag|status|value2|unit2|low2|high2|
and the end mark ``****FINFICHIER****``. Lines end with CRLF (DOS text files).

HPRIM Santé (ASTM E1238/E1394 records): H (header, declaring the delimiters),
P (patient), OBR (request), OBX (one result each), C (comment), L (end), each
record ended by CR. The delimiters declared in real files are ``|`` for fields
and ``~^\\&`` for component, repetition, escape, sub-component (HPRIM swaps ``~``
and ``^`` relative to HL7); the parser honours whatever the H record declares.
Records over 220 characters continue on ``A|`` records.

Text is ISO-8859-1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from conformance.errors import UserError

Variant = Literal["medecin", "sante"]
FLAGS = ("", "N", "L", "H", "LL", "HH")  # normal, low, high, panic low, panic high

ENCODING = "iso-8859-1"
MEDECIN_EOL = b"\r\n"
SANTE_EOL = b"\r"
SANTE_MAX_RECORD = 220  # characters per physical record before an A| continuation

LAB_BEGIN = "****LAB****"
LAB_END = "****FIN****"
LAB_END_ALIASES = (LAB_END, "****FINLAB****")  # accepted when reading
FILE_END = "****FINFICHIER****"
MEDECIN_HEADER_LINES = 12
RES_FIELDS = 14  # RES + 13 data fields, each terminated by "|"

_NUMBER = re.compile(r"^[<>]?-?\d+(?:[.,]\d+)?$")


class HprimError(UserError):
    """Malformed HPRIM input; the message names the line (1-based) at fault."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"HPRIM line {line}: {message}")
        self.line = line


@dataclass(frozen=True)
class Patient:
    id: str
    surname: str
    given_name: str
    birth_date: date | None = None


@dataclass(frozen=True)
class Result:
    """One analysis: values stay text ("12,5", "<0,01", "positif") as the lab wrote them."""

    code: str
    label: str
    value: str
    unit: str = ""
    low: str = ""
    high: str = ""
    flag: str = ""

    def as_tuple(self) -> tuple[str, str, str, str, str, str, str]:
        return (self.code, self.label, self.value, self.unit, self.low, self.high, self.flag)


@dataclass(frozen=True)
class HprimReport:
    variant: Variant
    patient: Patient
    results: tuple[Result, ...]
    request_id: str = ""
    date: date | None = None
    sender_code: str = ""
    sender_name: str = ""
    recipient_code: str = ""
    recipient_name: str = ""
    comments: tuple[str, ...] = ()  # free text (Médecin) or C records (Santé)


def value_type(value: str) -> Literal["N", "A"]:
    """Numeric (N) or alphanumeric (A), as the RES type field and OBX NM/ST say."""
    return "N" if _NUMBER.match(value) else "A"


# --------------------------------------------------------------------------- generate


def generate(report: HprimReport) -> bytes:
    """The HPRIM file for this report, in its variant. ValueError if it cannot be written."""
    text = _generate_medecin(report) if report.variant == "medecin" else _generate_sante(report)
    try:
        return text.encode(ENCODING)
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"HPRIM is ISO-8859-1: {exc.object[exc.start : exc.end]!r} cannot be written"
        ) from exc


def _check_plain(value: str, what: str, forbidden: str) -> str:
    bad = [c for c in value if c in forbidden or ord(c) < 32 or ord(c) == 127]
    if bad:
        raise ValueError(f"HPRIM {what} {value!r} holds {bad[0]!r}, which the format cannot carry")
    return value


def _check_flag(res: Result) -> None:
    if res.flag not in FLAGS:
        raise ValueError(f"HPRIM abnormality flag {res.flag!r} is not one of {FLAGS[1:]}")


def _fr_date(d: date | None) -> str:
    return d.strftime("%d/%m/%Y") if d else ""


def _generate_medecin(r: HprimReport) -> str:
    def line(value: str, what: str) -> str:
        return _check_plain(value, what, "")

    def party(code: str, name: str, what: str) -> str:
        _check_plain(code, f"{what} code", " ")
        return line(f"{code} {name}" if name else code, what)

    p = r.patient
    header = [
        line(p.id, "patient id"),
        line(p.surname, "surname"),
        line(p.given_name, "given name"),
        "",  # address 1
        "",  # address 2
        "",  # postcode and town
        _fr_date(p.birth_date),
        "",  # social security number
        line(r.request_id, "request id"),
        _fr_date(r.date),
        party(r.sender_code, r.sender_name, "sender"),
        party(r.recipient_code, r.recipient_name, "recipient"),
    ]
    body = []
    for text in r.comments:
        if text.startswith("****"):
            raise ValueError(f"HPRIM free text line {text!r} would read as a block mark")
        body.append(line(text, "free text"))
    if r.results:
        body.append(LAB_BEGIN)
        for res in r.results:
            fields = [
                res.label,
                res.code,
                value_type(res.value),
                res.value,
                res.unit,
                res.low,
                res.high,
                res.flag,
                "F",
                "",
                "",
                "",
                "",
            ]
            for f in fields:
                _check_plain(f, "RES field", "|")
            _check_flag(res)
            if not res.label:
                raise ValueError("HPRIM Médecin RES line needs a label")
            body.append("RES|" + "|".join(fields) + "|")
        body.append(LAB_END)
    body.append(FILE_END)
    return "".join(x + "\r\n" for x in header + body)


@dataclass(frozen=True)
class _Delimiters:
    field: str = "|"
    component: str = "~"
    repetition: str = "^"
    escape: str = "\\"
    subcomponent: str = "&"

    @property
    def declaration(self) -> str:
        return self.component + self.repetition + self.escape + self.subcomponent

    def escape_text(self, value: str) -> str:
        e = self.escape
        table = {
            e: f"{e}E{e}",
            self.field: f"{e}F{e}",
            self.component: f"{e}S{e}",
            self.repetition: f"{e}R{e}",
            self.subcomponent: f"{e}T{e}",
        }
        return "".join(table.get(c, c) for c in value)

    def components(self, value: str, line: int, count: int) -> list[str]:
        """The first `count` components of a field, unescaped, padded with ""."""
        parts = [self.unescape_text(x, line) for x in value.split(self.component)]
        return (parts + [""] * count)[:count]

    def unescape_text(self, value: str, line: int) -> str:
        e = self.escape
        if e not in value:
            return value
        table = {
            "E": e,
            "F": self.field,
            "S": self.component,
            "R": self.repetition,
            "T": self.subcomponent,
        }
        out, i = [], 0
        while i < len(value):
            c = value[i]
            if c == e:
                end = value.find(e, i + 1)
                code = value[i + 1 : end] if end > 0 else ""
                if code not in table:
                    raise HprimError(line, f"unknown escape sequence {value[i : i + 4]!r}")
                out.append(table[code])
                i = end + 1
            else:
                out.append(c)
                i += 1
        return "".join(out)


_SANTE = _Delimiters()


def _compact(d: date | None) -> str:
    return d.strftime("%Y%m%d") if d else ""


def _generate_sante(r: HprimReport) -> str:
    d = _SANTE

    def esc(value: str, what: str) -> str:
        return d.escape_text(_check_plain(value, what, ""))

    def comp(*values: str) -> str:
        return d.component.join(values).rstrip(d.component)

    p = r.patient
    records = [
        "H|"
        + d.declaration
        + "|"
        + "|".join(
            [
                "RESULTATS.HPR",
                "",
                comp(esc(r.sender_code, "sender code"), esc(r.sender_name, "sender")),
                "",
                "ORU",
                "",
                "",
                comp(esc(r.recipient_code, "recipient code"), esc(r.recipient_name, "recipient")),
                "",
                "P",
                "H2.2" + d.component + "C",
                _compact(r.date),
            ]
        ),
        "|".join(
            [
                "P",
                "1",
                esc(p.id, "patient id"),
                "",
                "",
                comp(esc(p.surname, "surname"), esc(p.given_name, "given name")),
                "",
                _compact(p.birth_date),
            ]
        ),
    ]
    for n, text in enumerate(r.comments, 1):
        records.append(f"C|{n}|L|{esc(text, 'comment')}|G")
    if r.results:
        records.append(f"OBR|1|{esc(r.request_id, 'request id')}||||||{_compact(r.date)}")
        for n, res in enumerate(r.results, 1):
            kind = "NM" if value_type(res.value) == "N" else "ST"
            ident = comp(esc(res.code, "code"), esc(res.label, "label"), "L")
            span = (
                f"{esc(res.low, 'low')}{d.component}{esc(res.high, 'high')}"
                if res.low or res.high
                else ""
            )
            _check_flag(res)
            records.append(
                "|".join(
                    [
                        "OBX",
                        str(n),
                        kind,
                        ident,
                        "",
                        esc(res.value, "value"),
                        esc(res.unit, "unit"),
                        span,
                        esc(res.flag, "flag"),
                        "",
                        "",
                        "F",
                    ]
                )
            )
    records.append("L|1")
    return "".join(_continue(rec) + "\r" for rec in records)


def _continue(record: str) -> str:
    """Split a long record over A| continuation records of at most 220 characters."""
    if len(record) <= SANTE_MAX_RECORD:
        return record
    chunks = [record[:SANTE_MAX_RECORD]]
    rest = record[SANTE_MAX_RECORD:]
    step = SANTE_MAX_RECORD - 2
    while rest:
        chunks.append("A|" + rest[:step])
        rest = rest[step:]
    return "\r".join(chunks)


# --------------------------------------------------------------------------- parse


def detect_variant(data: bytes) -> Variant:
    """HPRIM Santé files open with the H record; anything else is read as Médecin."""
    return "sante" if re.match(rb"H([^\w\s])[^\w\s]{4}\1", data) else "medecin"


def parse(data: bytes, variant: Variant | None = None) -> HprimReport:
    """Read an HPRIM file. HprimError, naming the line, on malformed input."""
    text = data.decode(ENCODING)  # every byte is a Latin-1 character: cannot fail
    variant = variant or detect_variant(data)
    return _parse_medecin(text) if variant == "medecin" else _parse_sante(text)


def _parse_fr_date(value: str, line: int, what: str) -> date | None:
    if not value.strip():
        return None
    m = re.fullmatch(r"(\d{2})/(\d{2})/(\d{4})", value.strip())
    if not m:
        raise HprimError(line, f"{what} {value!r} is not a date dd/mm/yyyy")
    try:
        return date(int(m[3]), int(m[2]), int(m[1]))
    except ValueError as exc:
        raise HprimError(line, f"{what} {value!r}: {exc}") from exc


def _parse_compact_date(value: str, line: int, what: str) -> date | None:
    if not value:
        return None
    m = re.fullmatch(r"(\d{4})(\d{2})(\d{2})\d*", value)
    if not m:
        raise HprimError(line, f"{what} {value!r} is not a date YYYYMMDD[hhmm]")
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError as exc:
        raise HprimError(line, f"{what} {value!r}: {exc}") from exc


def _split_party(value: str) -> tuple[str, str]:
    code, _, name = value.partition(" ")
    return code, name


def _parse_medecin(text: str) -> HprimReport:
    lines = re.split(r"\r\n|\n|\r", text)
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) < MEDECIN_HEADER_LINES:
        raise HprimError(len(lines) + 1, f"header has {len(lines)} lines, HPRIM Médecin needs 12")
    h = lines[:MEDECIN_HEADER_LINES]
    sender_code, sender_name = _split_party(h[10])
    recipient_code, recipient_name = _split_party(h[11])
    patient = Patient(
        id=h[0], surname=h[1], given_name=h[2], birth_date=_parse_fr_date(h[6], 7, "birth date")
    )
    comments: list[str] = []
    results: list[Result] = []
    state = "text"  # text -> lab -> after
    for number, line in enumerate(lines[MEDECIN_HEADER_LINES:], MEDECIN_HEADER_LINES + 1):
        if state == "text":
            if line == LAB_BEGIN:
                state = "lab"
            elif line == FILE_END:
                state = "end"
            elif line.startswith("****"):
                raise HprimError(number, f"unexpected mark {line!r} outside a LAB block")
            else:
                comments.append(line)
        elif state == "lab":
            if line in LAB_END_ALIASES:
                state = "after"
            elif line.startswith("RES|"):
                results.append(_parse_res(line, number))
            else:
                raise HprimError(number, f"a LAB block holds RES| lines only, not {line[:40]!r}")
        elif state == "after":
            if line == FILE_END:
                state = "end"
            elif line not in LAB_END_ALIASES:  # ****FINLAB**** then ****FIN****
                raise HprimError(number, f"text after the LAB block: {line[:40]!r}")
        else:
            raise HprimError(number, f"text after {FILE_END}: {line[:40]!r}")
    if state == "lab":
        raise HprimError(len(lines), f"LAB block not closed by {LAB_END}")
    return HprimReport(
        variant="medecin",
        patient=patient,
        results=tuple(results),
        request_id=h[8],
        date=_parse_fr_date(h[9], 10, "date"),
        sender_code=sender_code,
        sender_name=sender_name,
        recipient_code=recipient_code,
        recipient_name=recipient_name,
        comments=tuple(comments),
    )


def _parse_res(line: str, number: int) -> Result:
    fields = line.split("|")
    if fields[-1] == "":
        fields.pop()  # the terminating "|"
    if len(fields) < 5:
        raise HprimError(number, f"RES line has {len(fields) - 1} fields, at least 4 needed")
    if len(fields) > RES_FIELDS:
        raise HprimError(number, f"RES line has {len(fields) - 1} fields, at most 13 allowed")
    fields += [""] * (RES_FIELDS - len(fields))
    _, label, code, kind, value, unit, low, high, flag = fields[:9]
    if not label:
        raise HprimError(number, "RES line without a label")
    if kind not in ("N", "A", "C", ""):
        raise HprimError(number, f"RES result type {kind!r} is not N, A or C")
    if flag not in FLAGS:
        raise HprimError(number, f"RES abnormality flag {flag!r} is not one of {FLAGS[1:]}")
    return Result(code=code, label=label, value=value, unit=unit, low=low, high=high, flag=flag)


def _sante_records(text: str) -> list[tuple[int, str]]:
    """Physical lines joined into logical records (A| continuations), with line numbers."""
    physical = re.split(r"\r\n|\r|\n", text)
    if physical and physical[-1] == "":
        physical.pop()
    field = physical[0][1:2] if physical and physical[0].startswith("H") else "|"
    records: list[tuple[int, str]] = []
    for number, line in enumerate(physical, 1):
        if line.startswith("A" + field):
            if not records:
                raise HprimError(number, "continuation record A before any record")
            first, previous = records[-1]
            records[-1] = (first, previous + line[2:])
        elif line == "":
            raise HprimError(number, "empty record")
        else:
            records.append((number, line))
    return records


def _parse_sante(text: str) -> HprimReport:
    records = _sante_records(text)
    if not records:
        raise HprimError(1, "empty file: HPRIM Santé opens with an H record")
    number, header = records[0]
    if len(header) < 6 or header[0] != "H":
        raise HprimError(number, f"HPRIM Santé opens with an H record, not {header[:10]!r}")
    f = header[1]
    d = _Delimiters(
        field=f, component=header[2], repetition=header[3], escape=header[4], subcomponent=header[5]
    )
    if len({d.field, d.component, d.repetition, d.escape, d.subcomponent}) != 5:
        raise HprimError(number, f"H record declares clashing delimiters {header[1:6]!r}")

    def fields(rec: str, n: int, minimum: int) -> list[str]:
        parts = rec.split(f)
        if len(parts) < minimum:
            raise HprimError(
                n, f"{parts[0]} record has {len(parts) - 1} fields, at least {minimum - 1} needed"
            )
        return parts + [""] * (20 - len(parts)) if len(parts) < 20 else parts

    hf = fields(header, number, 2)
    sender_code, sender_name = d.components(hf[4], number, 2)
    recipient_code, recipient_name = d.components(hf[9], number, 2)
    report_date = _parse_compact_date(hf[13], number, "message date")
    patient: Patient | None = None
    request_id = ""
    comments: list[str] = []
    results: list[Result] = []
    ended = False
    for number, rec in records[1:]:
        kind = rec.split(f, 1)[0]
        if ended:
            raise HprimError(number, f"record {kind!r} after the L (end) record")
        if kind == "P":
            if patient is not None:
                raise HprimError(number, "a second P record: one patient per report here")
            pf = fields(rec, number, 7)
            surname, given = d.components(pf[5], number, 2)
            patient = Patient(
                id=d.unescape_text(pf[2], number),
                surname=surname,
                given_name=given,
                birth_date=_parse_compact_date(pf[7], number, "birth date"),
            )
        elif kind == "OBR":
            request_id = d.unescape_text(fields(rec, number, 3)[2], number)
        elif kind == "OBX":
            if patient is None:
                raise HprimError(number, "OBX record before the P (patient) record")
            results.append(_parse_obx(fields(rec, number, 6), d, number))
        elif kind == "C":
            comments.append(d.unescape_text(fields(rec, number, 4)[3], number))
        elif kind == "L":
            ended = True
        elif kind == "H":
            raise HprimError(number, "a second H record")
        else:
            raise HprimError(number, f"unknown record type {kind[:10]!r}")
    if patient is None:
        raise HprimError(records[-1][0], "no P (patient) record")
    if not ended:
        raise HprimError(records[-1][0], "no L (end) record: the file is truncated")
    return HprimReport(
        variant="sante",
        patient=patient,
        results=tuple(results),
        request_id=request_id,
        date=report_date,
        sender_code=sender_code,
        sender_name=sender_name,
        recipient_code=recipient_code,
        recipient_name=recipient_name,
        comments=tuple(comments),
    )


def _parse_obx(of: list[str], d: _Delimiters, number: int) -> Result:
    kind = of[2]
    if kind not in ("NM", "ST", "TX", "CE", "FT", ""):
        raise HprimError(number, f"OBX value type {kind!r} is unknown")
    code, label = d.components(of[3], number, 2)
    if not code and not label:
        raise HprimError(number, "OBX record without an analysis code or label")
    span = of[7]
    if d.component in span:
        low, high = d.components(span, number, 2)
    else:
        m = re.fullmatch(r"\s*(-?[\d.,]+)\s*-\s*(-?[\d.,]+)\s*", span)
        low, high = (m[1], m[2]) if m else (d.unescape_text(span, number), "")
    flag = d.unescape_text(of[8], number)
    if flag not in FLAGS:
        raise HprimError(number, f"OBX abnormality flag {flag!r} is not one of {FLAGS[1:]}")
    return Result(
        code=code,
        label=label,
        value=d.unescape_text(of[5], number),
        unit=d.unescape_text(of[6], number),
        low=low,
        high=high,
        flag=flag,
    )


def describe_difference(expected: HprimReport, received: HprimReport) -> list[str]:
    """Short reasons why two reports differ (empty when equal)."""
    if expected == received:
        return []
    reasons: list[str] = []
    if expected.patient != received.patient:
        reasons.append(f"patient {_who(expected.patient)} became {_who(received.patient)}")
    if len(expected.results) != len(received.results):
        reasons.append(f"{len(received.results)} results, expected {len(expected.results)}")
    for n, (a, b) in enumerate(zip(expected.results, received.results, strict=False), 1):
        if a != b:
            names = ("code", "label", "value", "unit", "low", "high", "flag")
            diffs = [
                f"{k} {x!r} became {y!r}"
                for k, x, y in zip(names, a.as_tuple(), b.as_tuple(), strict=True)
                if x != y
            ]
            reasons.append(f"result {n} ({a.code} {a.label}): " + ", ".join(diffs))
    for name in (
        "request_id",
        "date",
        "sender_code",
        "sender_name",
        "recipient_code",
        "recipient_name",
        "comments",
        "variant",
    ):
        x, y = getattr(expected, name), getattr(received, name)
        if x != y:
            reasons.append(f"{name} {x!r} became {y!r}")
    return reasons


def _who(p: Patient) -> str:
    return f"{p.given_name} {p.surname} ({p.id}, born {p.birth_date})"
