"""HPRIM Médecin / Santé: generator, parser, round trip, clear errors."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings

from conformance.errors import UserError
from conformance.scenarios import hprim
from conformance.scenarios.strategies import basic_hprim_report, hprim_reports

ROUND_TRIP = settings(max_examples=80, derandomize=True, deadline=None, database=None)


@ROUND_TRIP
@given(hprim_reports("medecin"))
def test_medecin_round_trip(report: hprim.HprimReport) -> None:
    assert hprim.parse(hprim.generate(report)) == report


@ROUND_TRIP
@given(hprim_reports("sante"))
def test_sante_round_trip(report: hprim.HprimReport) -> None:
    data = hprim.generate(report)
    assert hprim.detect_variant(data) == "sante"
    assert hprim.parse(data) == report


def test_medecin_layout() -> None:
    data = hprim.generate(basic_hprim_report("medecin"))
    lines = data.split(b"\r\n")
    assert b"\n" not in data.replace(b"\r\n", b"")  # CRLF only
    assert lines[1] == "GÉRARD".encode("iso-8859-1")
    assert lines[2] == b"H\xe9l\xe8ne"  # ISO-8859-1, not UTF-8
    assert lines[6] == b"03/04/1957"
    assert lines[10] == "LAB01 Laboratoire de l'Hôpital".encode("iso-8859-1")
    lab = lines.index(b"****LAB****")
    assert lab == 13  # 12 header lines, 1 line of free text
    res = lines[lab + 1]
    assert res == "RES|Hémoglobine|HB|N|13,2|g/dl|12|16|N|F|||||".encode("iso-8859-1")
    assert res.count(b"|") == 14
    assert lines[-3:] == [b"****FIN****", b"****FINFICHIER****", b""]


def test_sante_layout() -> None:
    data = hprim.generate(basic_hprim_report("sante"))
    assert b"\n" not in data  # records end with CR alone
    records = data.split(b"\r")
    assert records[0].startswith(b"H|~^\\&|")
    assert [r.split(b"|")[0] for r in records[:-1]] == [
        b"H",
        b"P",
        b"C",
        b"OBR",
        b"OBX",
        b"OBX",
        b"OBX",
        b"L",
    ]
    assert records[1] == "P|1|P0042|||GÉRARD~Hélène||19570403".encode("iso-8859-1")
    assert records[5] == "OBX|2|NM|CREA~Créatininémie~L||98|µmol/l|45~90|H|||F".encode("iso-8859-1")


def test_sante_escapes_and_continuation() -> None:
    long_label = "Anticorps anti-cardiolipine | IgG ~ sérum ^ & \\ " * 8
    report = replace(
        basic_hprim_report("sante"),
        results=(hprim.Result("CARD", long_label, "12", "U/ml", "", "10", "H"),),
    )
    data = hprim.generate(report)
    records = data.split(b"\r")[:-1]
    assert all(len(r) <= hprim.SANTE_MAX_RECORD for r in records)
    assert any(r.startswith(b"A|") for r in records)
    assert b"\\F\\" in data and b"\\S\\" in data and b"\\R\\" in data and b"\\E\\" in data
    assert hprim.parse(data) == report


def test_sante_reads_declared_delimiters_and_text_ranges() -> None:
    data = (
        b"H|^~\\&|F.HPR||L1^Labo||ORU|||M1^Dr X||P|H2.2^C|200806121030\r"
        b"P|1|42|||MARTIN^Jean||19500101|M\r"
        b"OBR|1|R1||||||20080612\r"
        b"OBX|1|ST|GRS^Globules rouges||4.51|million/mm|4.10-5.70|N|||F\r"
        b"L|1\r"
    )
    report = hprim.parse(data)
    assert report.patient.surname == "MARTIN" and report.patient.given_name == "Jean"
    assert report.sender_name == "Labo" and report.date is not None
    assert report.results[0].as_tuple() == (
        "GRS",
        "Globules rouges",
        "4.51",
        "million/mm",
        "4.10",
        "5.70",
        "N",
    )


def test_medecin_accepts_finlab_and_lf() -> None:
    data = hprim.generate(basic_hprim_report("medecin"))
    variant = data.replace(b"****FIN****", b"****FINLAB****").replace(b"\r\n", b"\n")
    assert hprim.parse(variant) == basic_hprim_report("medecin")


def _medecin_lines() -> list[bytes]:
    return hprim.generate(basic_hprim_report("medecin")).split(b"\r\n")


@pytest.mark.parametrize(
    ("mutate", "line", "words"),
    [
        (lambda ls: ls[:3], 4, "header has 3 lines"),
        (lambda ls: [*ls[:6], b"1957-04-03", *ls[7:]], 7, "birth date"),
        (
            lambda ls: [*ls[:15], b"RES|Cr\xe9at|CREA|N|98|u|45|90|XX|F|||||", *ls[16:]],
            16,
            "abnormality flag",
        ),
        (lambda ls: [*ls[:15], b"RES|x", *ls[16:]], 16, "at least 4"),
        (lambda ls: [*ls[:15], b"TEXTE LIBRE", *ls[16:]], 16, "RES| lines only"),
        (lambda ls: ls[:17], 17, "not closed"),
        (lambda ls: [*ls[:-1], b"encore du texte", b""], 20, "after ****FINFICHIER****"),
    ],
)
def test_medecin_malformed_names_the_line(mutate, line: int, words: str) -> None:  # type: ignore[no-untyped-def]
    data = b"\r\n".join(mutate(_medecin_lines()))
    with pytest.raises(hprim.HprimError) as info:
        hprim.parse(data, "medecin")
    assert info.value.line == line
    assert f"line {line}" in str(info.value) and words in str(info.value)
    assert isinstance(info.value, UserError)


def _sante_records() -> list[bytes]:
    return hprim.generate(basic_hprim_report("sante")).split(b"\r")


@pytest.mark.parametrize(
    ("mutate", "line", "words"),
    [
        (lambda rs: [b"X|1", *rs[1:]], 1, "opens with an H record"),
        (lambda rs: rs[:1] + rs[4:5] + rs[1:], 2, "before the P"),
        (lambda rs: [*rs[:3], b"ZZZ|1|2", *rs[3:]], 4, "unknown record type"),
        (lambda rs: [*rs[:-2], b""], 7, "no L (end) record"),
        (lambda rs: [*rs[:4], b"OBX|1|NM|HB~H\\Q\\||1|g|1~2|N|||F", *rs[5:]], 5, "escape sequence"),
        (lambda rs: [*rs[:4], b"OBX|1|NM|HB~Hb||1|g|1~2|Z|||F", *rs[5:]], 5, "flag"),
        (lambda rs: [*rs[:1], b"P|1", *rs[2:]], 2, "at least 6"),
    ],
)
def test_sante_malformed_names_the_line(mutate, line: int, words: str) -> None:  # type: ignore[no-untyped-def]
    data = b"\r".join(mutate(_sante_records()))
    with pytest.raises(hprim.HprimError) as info:
        hprim.parse(data, "sante")
    assert info.value.line == line, str(info.value)
    assert words in str(info.value)


def test_generate_refuses_what_the_format_cannot_carry() -> None:
    report = basic_hprim_report("medecin")
    with pytest.raises(ValueError, match="ISO-8859-1"):
        hprim.generate(replace(report, sender_name="Honoraires 25 €"))
    bad = hprim.Result("HB", "Hb | total", "1")
    with pytest.raises(ValueError, match="cannot carry"):
        hprim.generate(replace(report, results=(bad,)))
    with pytest.raises(ValueError, match="flag"):
        hprim.generate(replace(report, results=(hprim.Result("HB", "Hb", "1", flag="?"),)))


def test_describe_difference_is_readable() -> None:
    a = basic_hprim_report("medecin")
    first = replace(a.results[0], value="13,3")
    b = replace(a, results=(first, *a.results[1:]))
    assert hprim.describe_difference(a, a) == []
    assert hprim.describe_difference(a, b) == [
        "result 1 (HB Hémoglobine): value '13,2' became '13,3'"
    ]
