"""The MIME entity of a scenario: structure, encodings, RFC 2231 file names."""

from __future__ import annotations

import base64
import binascii
from email import policy
from email.message import Message
from email.parser import BytesParser

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.scenarios import Scenario, basic_scenario, build_entity
from conformance.scenarios.compare import part_filename
from conformance.scenarios.content import ascii_fallback, encode_quoted_printable
from conformance.scenarios.model import TransferEncoding


def _lines(entity: bytes) -> list[bytes]:
    assert b"\n" not in entity.replace(b"\r\n", b""), "a bare LF in the entity"
    assert b"\r" not in entity.replace(b"\r\n", b""), "a bare CR in the entity"
    return entity.split(b"\r\n")


def test_basic_letter_entity() -> None:
    entity = build_entity(basic_scenario("sign"))
    head, _, body = entity.partition(b"\r\n\r\n")
    assert head == (
        b"Content-Type: text/plain; charset=iso-8859-1\r\n"
        b"Content-Transfer-Encoding: quoted-printable"
    )
    assert b"Je vous adresse Mme H=E9l=E8ne G=C9RARD pour avis cardiologique." in body
    assert all(len(line) <= 76 and line.isascii() for line in _lines(entity))
    assert binascii.a2b_qp(body).decode("iso-8859-1") == basic_scenario("sign").body


def test_basic_attachment_entity_uses_rfc2231() -> None:
    scenario = basic_scenario("attachments")
    entity = build_entity(scenario)
    lines = _lines(entity)
    assert lines[0].startswith(b'Content-Type: multipart/mixed; boundary="=_osm_')
    assert b'Content-Type: application/pdf; name="compte-rendu echographie.pdf"' in lines
    assert b"Content-Disposition: attachment;" in lines
    assert b" filename*=UTF-8''compte-rendu%20%C3%A9chographie.pdf;" in lines
    assert b' filename="compte-rendu echographie.pdf"' in lines
    assert entity.endswith(b"--\r\n")
    message = BytesParser(policy=policy.default).parsebytes(entity)
    parts = list(message.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "application/pdf"]
    assert parts[1]["Content-Transfer-Encoding"] == "base64"
    assert parts[1].get_content() == scenario.attachments[0].data
    assert parts[1].get_filename() == "compte-rendu échographie.pdf"
    legacy_parts = BytesParser(policy=policy.compat32).parsebytes(entity).get_payload()
    assert isinstance(legacy_parts, list)
    legacy = legacy_parts[1]
    assert isinstance(legacy, Message)
    assert part_filename(legacy) == "compte-rendu échographie.pdf"


def test_basic_hprim_entity_is_octet_stream_base64() -> None:
    scenario = basic_scenario("hprim-net")
    assert scenario.hprim is not None
    entity = build_entity(scenario)
    message = BytesParser(policy=policy.compat32).parsebytes(entity)
    payload = message.get_payload()
    assert isinstance(payload, list)
    letter, hprim_part = payload
    assert isinstance(letter, Message) and isinstance(hprim_part, Message)
    assert letter.get_content_type() == "text/plain"
    assert hprim_part.get_content_type() == "application/octet-stream"
    assert hprim_part["Content-Transfer-Encoding"] == "base64"
    assert part_filename(hprim_part) == "resultats.hpr"
    hprim_text = hprim_part.get_payload()
    assert isinstance(hprim_text, str)
    assert base64.b64decode(hprim_text) == scenario.hprim.data


def test_entity_is_deterministic() -> None:
    scenario = basic_scenario("attachments")
    assert build_entity(scenario) == build_entity(scenario)


@pytest.mark.parametrize("encoding", ["7bit", "8bit", "base64"])
def test_other_encodings(encoding: TransferEncoding) -> None:
    body = "Bonjour,\r\nÀ bientôt.\r\n" if encoding != "7bit" else "Bonjour,\r\n"
    scenario = Scenario("sign", body=body, charset="utf-8", transfer_encoding=encoding)
    head, _, raw = build_entity(scenario).partition(b"\r\n\r\n")
    assert f"Content-Transfer-Encoding: {encoding}".encode() in head
    decoded = base64.b64decode(raw) if encoding == "base64" else raw
    assert decoded == body.encode("utf-8")


def test_quoted_printable_keeps_every_byte() -> None:
    raw = b"From here\r\n.\r\nfin  \r\nune\rbare\nligne\t\r\n" + b"x" * 200 + b"=\r\n"
    encoded = encode_quoted_printable(raw)
    lines = encoded.split(b"\r\n")
    assert lines[0] == b"=46rom here"
    assert lines[1] == b"=2E"
    assert lines[2] == b"fin =20"
    assert lines[3] == b"une=0Dbare=0Aligne=09"
    assert all(len(line) <= 76 for line in lines)
    assert binascii.a2b_qp(encoded) == raw


# What quoted-printable treats specially, to be drawn together more often than bytes alone.
_QP_PIECES = st.sampled_from(
    [
        b"\r",
        b"\n",
        b"\r\n",
        b".",
        b"From ",
        b"From",
        b" ",
        b"\t",
        b"=",
        b"a",
        b"\xe9",
        b"\0",
        b"x" * 70,
    ]
)
_QP_LITERAL = frozenset(range(0x21, 0x7F)) - {0x3D} | {0x09, 0x20}


@given(st.one_of(st.binary(max_size=300), st.lists(_QP_PIECES, max_size=40).map(b"".join)))
def test_quoted_printable_encodes_exactly_what_it_must(raw: bytes) -> None:
    """Decodes to the text; lines of at most 76 characters; and a byte is encoded only
    when it must be: not printable, "=", a blank ending a line, or a "." or the "F" of
    "From " starting one."""
    encoded = encode_quoted_printable(raw)
    assert binascii.a2b_qp(encoded) == raw
    physical = encoded.split(b"\r\n")
    for n, line in enumerate(physical):
        assert len(line) <= 76
        soft = line.endswith(b"=")  # a soft line break: the tokens end in hex digits
        body = line[:-1] if soft else line
        hard_end = not soft
        i = 0
        while i < len(body):
            if body[i] != 0x3D:
                assert body[i] in _QP_LITERAL, (n, line)
                assert not (hard_end and i == len(body) - 1 and body[i] in (9, 32)), line
                assert not (i == 0 and (body.startswith((b".", b"From ")))), line
                i += 1
                continue
            byte = int(body[i + 1 : i + 3], 16)
            rest = body[i + 3 :]
            needed = (
                byte not in _QP_LITERAL
                or (byte in (9, 32) and hard_end and not rest)
                or (i == 0 and byte == 0x2E)
                or (i == 0 and byte == 0x46 and rest.startswith((b"rom ", b"rom=20")))
            )
            assert needed, (n, line, i)
            i += 3


def test_scenario_refuses_impossible_content() -> None:
    with pytest.raises(ValueError, match="not in iso-8859-1"):
        Scenario("sign", body="25 €", charset="iso-8859-1")
    with pytest.raises(ValueError, match="7bit cannot carry"):
        Scenario("sign", body="é", charset="utf-8", transfer_encoding="7bit")
    with pytest.raises(ValueError, match="8bit cannot carry"):
        Scenario("sign", body="x" * 999, transfer_encoding="8bit")
    with pytest.raises(ValueError, match="8bit cannot carry"):
        Scenario("sign", body="a\rb", transfer_encoding="8bit")
    with pytest.raises(ValueError, match="needs an HPRIM payload"):
        Scenario("hprim-net")


def test_ascii_fallback() -> None:
    assert ascii_fallback("Lettre à Mme GÉRARD n°2.pdf") == "Lettre a Mme GERARD n_2.pdf"


def test_describe_names_what_is_special() -> None:
    body = "From Lyon  \r\n- liste\r\nune\rligne\r\n" + "x" * 1200
    text = Scenario("sign", subject="Résultats", body=body, extra_recipients=2).describe()
    for words in (
        "3 recipient(s)",
        "non-ASCII subject",
        "1 line(s) over 998 octets",
        "1 bare CR",
        "line(s) 1 trailing whitespace",
        'line(s) 1 starting with "From "',
        'line(s) 2 starting with "-"',
        "no final line break",
    ):
        assert words in text, words
    assert "empty letter" in Scenario("encrypt").describe()
    assert "HPRIM medecin file 'resultats.hpr'" in basic_scenario("hprim-net").describe()
    assert "non-ASCII name" in basic_scenario("attachments").describe()
