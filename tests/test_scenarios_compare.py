"""compare(): intact content passes, each kind of damage gives a readable reason."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.core.vocabulary import FUNCTIONS, Function
from conformance.scenarios import Scenario, basic_scenario, build_entity, compare
from conformance.scenarios import hprim as hp
from conformance.scenarios.compare import describe_bytes_difference, entity_differences
from conformance.scenarios.model import Charset, HprimPayload, TransferEncoding
from conformance.scenarios.strategies import basic_hprim_report, scenarios


@pytest.mark.parametrize("function", FUNCTIONS)
def test_basic_scenarios_arrive_intact(function: Function) -> None:
    scenario = basic_scenario(function)
    assert compare(scenario, build_entity(scenario)) == []


@pytest.mark.parametrize("function", FUNCTIONS)
@given(data=st.data())
@settings(max_examples=15)
def test_every_drawn_scenario_is_intact_in_its_own_entity(
    function: Function, data: st.DataObject
) -> None:
    """What lets `compare` take an entity received exactly as sent for intact."""
    scenario = data.draw(scenarios(function))
    entity = build_entity(scenario)
    assert compare(scenario, entity) == []
    assert compare(scenario, entity, sent=entity) == []
    other = entity.replace(b"\r\n", b"\n")  # any other bytes are read and compared
    assert compare(scenario, other, sent=entity) == compare(scenario, other)


@pytest.mark.parametrize("function", ["sign", "attachments", "hprim-net"])
def test_crlf_to_lf_canonicalisation_is_legitimate(function: Function) -> None:
    scenario = replace(basic_scenario(function), transfer_encoding="8bit")
    entity = build_entity(scenario)
    assert compare(scenario, entity.replace(b"\r\n", b"\n")) == []


def test_changed_attachment_byte() -> None:
    scenario = basic_scenario("attachments")
    att = scenario.attachments[0]
    data = bytearray(att.data)
    data[120] ^= 0xFF
    damaged = replace(scenario, attachments=(replace(att, data=bytes(data)),))
    assert compare(scenario, build_entity(damaged)) == [
        "attachment 'compte-rendu échographie.pdf': 1 byte(s) differ from offset 120"
    ]


def test_renamed_and_missing_attachments() -> None:
    scenario = basic_scenario("attachments")
    att = scenario.attachments[0]
    renamed = replace(scenario, attachments=(replace(att, filename="compte-rendu e.pdf"),))
    assert compare(scenario, build_entity(renamed)) == [
        "attachment 'compte-rendu échographie.pdf' arrived named 'compte-rendu e.pdf'"
    ]
    assert compare(scenario, build_entity(basic_scenario("sign"))) == [
        "received a single text/plain entity, expected multipart/mixed with 1 file(s)",
        "attachment 'compte-rendu échographie.pdf' missing",
    ]


def _letter(
    body: str, charset: Charset = "iso-8859-1", encoding: TransferEncoding = "8bit"
) -> Scenario:
    return Scenario("sign", body=body, charset=charset, transfer_encoding=encoding)


def test_lost_trailing_space() -> None:
    sent = _letter("Bonjour  \r\nà demain\t\r\n")
    received = build_entity(_letter("Bonjour\r\nà demain\r\n"))
    assert compare(sent, received) == ["letter: trailing whitespace lost on line(s) 1, 2"]


def test_re_encoded_accents() -> None:
    sent = _letter("Hélène GÉRARD\r\n")
    utf8_labelled_latin1 = _letter("Hélène GÉRARD\r\n".encode().decode("iso-8859-1"))
    reasons = compare(sent, build_entity(utf8_labelled_latin1))
    assert len(reasons) == 1 and reasons[0].startswith("letter: accents re-encoded")
    # relabelled and converted correctly: the text is the same, nothing to report
    assert compare(sent, build_entity(_letter("Hélène GÉRARD\r\n", charset="utf-8"))) == []


def test_other_letter_damage() -> None:
    sent = _letter("une\rligne\r\n", encoding="quoted-printable")
    assert compare(sent, build_entity(_letter("une\r\nligne\r\n"))) == [
        "letter: bare CR or LF inside a line turned into a line break (or back)"
    ]
    sent = _letter("From Lyon\r\n")
    assert compare(sent, build_entity(_letter(">From Lyon\r\n"))) == [
        'letter: "From " line(s) 1 escaped as ">From "'
    ]
    assert compare(sent, build_entity(_letter("From Lyon"))) == [
        "letter: final line break added or lost"
    ]
    long = _letter("x" * 1200, encoding="quoted-printable")
    wrapped = _letter("x" * 998 + "\r\n" + "x" * 202, encoding="quoted-printable")
    assert compare(long, build_entity(wrapped)) == [
        "letter: long line(s) wrapped: 1 lines became 2"
    ]
    assert compare(sent, build_entity(_letter("From Lille\r\n"))) == [
        "letter: line 1 differs from column 7: expected 'yon', got 'ille'"
    ]


def test_hprim_line_endings_changed() -> None:
    scenario = basic_scenario("hprim-net")
    assert scenario.hprim is not None
    lf = replace(scenario.hprim, data=scenario.hprim.data.replace(b"\r\n", b"\n"))
    assert compare(scenario, build_entity(replace(scenario, hprim=lf))) == [
        "HPRIM file 'resultats.hpr': line endings CRLF became LF"
    ]


def test_hprim_sante_cr_became_crlf_and_value_changed() -> None:
    data = hp.generate(basic_hprim_report("sante"))
    scenario = replace(basic_scenario("hprim-net"), hprim=HprimPayload("sante", data))
    crlf = replace(scenario, hprim=HprimPayload("sante", data.replace(b"\r", b"\r\n")))
    assert compare(scenario, build_entity(crlf)) == [
        "HPRIM file 'resultats.hpr': CR line endings became CRLF"
    ]
    changed = replace(scenario, hprim=HprimPayload("sante", data.replace(b"13,2", b"13,3")))
    assert compare(scenario, build_entity(changed)) == [
        f"HPRIM file 'resultats.hpr': 1 byte(s) differ from offset {data.index(b'13,2') + 3}",
        "HPRIM file 'resultats.hpr' parses differently: "
        "result 1 (HB Hémoglobine): value '13,2' became '13,3'",
    ]
    utf8 = replace(scenario, hprim=HprimPayload("sante", data.decode("iso-8859-1").encode("utf-8")))
    assert compare(scenario, build_entity(utf8))[0] == (
        "HPRIM file 'resultats.hpr': ISO-8859-1 accents re-encoded as UTF-8"
    )


def test_hprim_truncated_no_longer_parses() -> None:
    scenario = basic_scenario("hprim-net")
    assert scenario.hprim is not None
    cut = replace(scenario.hprim, data=scenario.hprim.data[:300])
    reasons = compare(scenario, build_entity(replace(scenario, hprim=cut)))
    assert reasons[0] == "HPRIM file 'resultats.hpr': truncated to 300 of 364 bytes"
    assert reasons[1].startswith("HPRIM file 'resultats.hpr' no longer parses: HPRIM line")


def test_unwrapped_empty_and_broken_content() -> None:
    scenario = basic_scenario("sign")
    assert compare(scenario, b"") == ["nothing received: the content is empty"]
    signed = b'Content-Type: multipart/signed; protocol="application/pkcs7-signature"\r\n\r\n'
    assert compare(scenario, signed) == [
        "received entity is still multipart/signed: the receiver did not unwrap it"
    ]
    broken = (
        b"Content-Type: text/plain; charset=iso-8859-1\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nQUJD=x=\r\n"
    )
    assert compare(scenario, broken)[0].startswith("letter: base64 does not decode")
    attachment_entity = build_entity(basic_scenario("attachments"))
    assert compare(scenario, attachment_entity) == [
        "unexpected extra part application/pdf 'compte-rendu échographie.pdf'"
    ]


def test_describe_bytes_difference() -> None:
    assert describe_bytes_difference(b"abc", b"abc") is None
    assert describe_bytes_difference(b"abcdef", b"abc") == "truncated to 3 of 6 bytes"
    assert describe_bytes_difference(b"abc", b"abcdef") == "3 extra byte(s) at the end"
    assert describe_bytes_difference(b"abcdef", b"abXdefg") == (
        "7 bytes instead of 6, first difference at offset 2"
    )
    assert describe_bytes_difference(b"a\nb", b"a\r\nb") == "line endings became CRLF"
    assert describe_bytes_difference(b"a \r\nb", b"a\r\nb") == (
        "trailing whitespace stripped from lines"
    )


@given(data=st.data())
@settings(max_examples=25)
def test_an_expected_entity_is_compared_as_its_scenario_is(data: st.DataObject) -> None:
    """`vectors verify` compares with a plaintext entity, not a scenario: the same
    reasons as the matrix's comparison with the scenario it was built from."""
    functions: list[Function] = ["sign", "encrypt", "attachments"]
    function = data.draw(st.sampled_from(functions))
    scenario = data.draw(scenarios(function))
    other = data.draw(scenarios(function))
    expected = build_entity(scenario)
    received = [
        expected,
        expected.replace(b"\r\n", b"\n"),
        build_entity(other),
        build_entity(replace(scenario, body=scenario.body + "!")),
        build_entity(replace(scenario, attachments=scenario.attachments[1:])),
    ]
    for got in received:
        assert entity_differences(expected, got) == compare(scenario, got)
    assert entity_differences(expected, expected) == []


def test_an_expected_entity_that_does_not_decode_is_its_own_fault() -> None:
    expected = b"Content-Type: text/plain; charset=us-ascii\r\n\r\nd\xe9j\xe0\r\n"
    assert entity_differences(expected, b"Content-Type: text/plain\r\n\r\nok\r\n") == [
        "the expected plaintext's letter does not decode: 'ascii' codec can't decode "
        "byte 0xe9 in position 1: ordinal not in range(128)"
    ]
