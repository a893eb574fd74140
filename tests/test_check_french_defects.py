"""`check --lang fr` words what the core readers found in French: the MIME reader's defects
(boundaries, limits, line ends, encodings, header bytes) and why a CMS object could not be
read reach a French report with no English sentence left, while the English report and the
JSON keep the readers' own English words."""

from __future__ import annotations

import base64
import re
from typing import get_args

import pytest
from check_support import HEADER, SIGNED, TRUST

from conformance.check import CheckReport, run_checks
from conformance.check.i18n import DEFECTS_FR, Words, defect_text
from conformance.check.render import html_page, text_table
from conformance.core.mime import Defect, DefectCode

TEXT = b"Content-Type: text/plain\r\n\r\nx\r\n"


def _multipart(body: bytes, boundary: bytes = b"B") -> bytes:
    return HEADER + b'Content-Type: multipart/mixed; boundary="' + boundary + b'"\r\n\r\n' + body


def _deep(levels: int) -> bytes:
    body = TEXT
    for i in range(levels):
        b = f"b{i}".encode()
        head = b"Content-Type: multipart/mixed; boundary=" + b + b"\r\n\r\n--" + b + b"\r\n"
        body = head + body + b"\r\n--" + b + b"--\r\n"
    return HEADER + body


def _signature(der: bytes) -> bytes:
    """The reference signed message with its CMS object replaced by `der`."""
    start = SIGNED.index(b"MIIOFQ")
    end = SIGNED.index(b"------=_smime", start)
    return SIGNED[:start] + base64.encodebytes(der).replace(b"\n", b"\r\n") + SIGNED[end:]


def _forged() -> bytes:
    """The reference message, a bit of its signature value (the SignerInfo's last field,
    the end of the CMS object) flipped."""
    start = SIGNED.index(b"MIIOFQ")
    der = bytearray(base64.b64decode(b"".join(SIGNED[start:].split(b"------=_smime")[0].split())))
    der[-8] ^= 1
    return _signature(bytes(der))


# (message, rule, the core reader's English words, their French)
CASES = {
    "no close delimiter": (
        _multipart(b"--B\r\n" + TEXT),
        "MIME-004",
        "no close delimiter --B-- (truncated multipart)",
        "pas de délimiteur de fin --B-- (multipart tronqué)",
    ),
    "no delimiter": (
        _multipart(b"hello\r\n"),
        "MIME-004",
        "no boundary delimiter '--B' in the body",
        "aucune ligne de délimitation '--B' dans le corps",
    ),
    "no boundary": (
        HEADER + b"Content-Type: multipart/mixed\r\n\r\nhello\r\n",
        "MIME-004",
        "multipart/mixed without a boundary parameter",
        "multipart/mixed sans paramètre boundary",
    ),
    "bad and too long boundary": (
        _multipart(b"x\r\n", b"x" * 250),
        "MIME-004",
        "boundary parameter longer than 200 characters",
        "paramètre boundary de plus de 200 caractères",
    ),
    "too many parts": (
        _multipart(b"".join(b"--B\r\n" + TEXT for _ in range(300)) + b"--B--\r\n"),
        "MIME-004",
        "more than 256 MIME parts (limit max_parts): the rest not examined",
        "plus de 256 parties MIME (limite max_parts) : la suite n'est pas examinée",
    ),
    "too deep": (
        _deep(12),
        "MIME-004",
        "nesting deeper than 8 levels (limit max_depth): parts not examined",
        "imbrication de plus de 8 niveaux (limite max_depth) : parties non examinées",
    ),
    "bare LF": (
        SIGNED.replace(b"\r\n", b"\n", 3),
        "MIME-001",
        "3 bare LF (first at line 1)",
        "3 LF isolé(s) (le premier à la ligne 1)",
    ),
    "long line": (
        HEADER + TEXT + b"a" * 1200 + b"\r\n",
        "MIME-002",
        "line 10 has 1200 octets",
        "la ligne 10 a 1200 octets",
    ),
    "8-bit in 7bit": (
        HEADER + b"Content-Transfer-Encoding: 7bit\r\n\r\n\xc3\xa9t\xc3\xa9\r\n",
        "MIME-006",
        "4 8-bit octet(s), first b'\\xc3' in body line 1",
        "4 octet(s) de 8 bits, le premier b'\\xc3' à la ligne 1 du corps",
    ),
    "bad base64 padding": (
        HEADER + b"Content-Transfer-Encoding: base64\r\n\r\naGVsbG8\r\n",
        "MIME-007",
        "base64 is not valid: Incorrect padding",
        "base64 non valide : remplissage « = » ou longueur incorrects",
    ),
    "header byte": (
        SIGNED.replace(b"Subject: Compte", b"Subject: Com\x00pte", 1),
        "HDR-006",
        "byte b'\\x00' in header line 5",
        "octet b'\\x00' dans la ligne d'en-tête 5",
    ),
    "signature not base64": (
        SIGNED.replace(b"MIIOFQ", b"!MIIOFQ", 1),
        "CMS-001",
        "the body does not decode (base64 is not valid: byte b'!' is not in the alphabet)",
        "le corps ne se décode pas (base64 non valide : l'octet b'!' n'est pas de l'alphabet)",
    ),
    "signature does not verify": (
        _forged(),
        "CMS-009",
        "signer 1: the signature does not verify with the signer's key",
        "signataire 1 : la signature ne se vérifie pas avec la clé du signataire",
    ),
    "not a ContentInfo": (
        _signature(b"\x30\x03\x02\x01\x05"),
        "CMS-001",
        "not a CMS ContentInfo: invalid CMS/ASN.1: ",
        "pas un ContentInfo CMS : CMS/ASN.1 non valide (l'analyseur ASN.1 dit : « ",
    ),
}

# English words a French detail never holds outside what it quotes ('...', « ... »).
_ENGLISH = re.compile(
    r"\b(the|of|with|without|not|no|is|in|than|more|first|line|bytes?|nesting|levels|"
    r"parts|close|body|valid|does|decode)\b"
)
_QUOTED = re.compile(r"'[^']*'|«[^»]*»|\S*[/=\\]\S*")


def _flat(text: str) -> str:
    return " ".join(text.split())


def _failed(report: CheckReport, rule_id: str) -> list[str]:
    return [c.found for c in report.by_id(rule_id) if c.status != "SUCCESS"]


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_french_report_has_no_english_defect_left(case: str) -> None:
    message, rule_id, english, french = CASES[case]
    report = run_checks(message, **TRUST)  # type: ignore[arg-type]
    assert any(english in found for found in _failed(report, rule_id)), report.by_id(rule_id)
    in_french = _flat(text_table(report, width=200, lang="fr"))
    in_english = _flat(text_table(report, width=200, lang="en"))
    assert english in in_english and english not in in_french
    assert french in in_french
    html = html_page(report, "fr")
    assert english.replace("'", "&#39;") not in html and english not in html
    assert any(english in c["found"] for c in report.to_json()["checks"])  # the JSON: English
    words = Words("fr")
    for check in report.checks:
        if check.status == "SUCCESS":
            continue
        text, _ = words.detail(check, "found")
        assert not _ENGLISH.search(_QUOTED.sub("", text)), (check.id, text)


def test_every_defect_of_the_core_reader_has_its_french() -> None:
    assert set(DEFECTS_FR) == set(get_args(DefectCode))
    # A defect of each code, its values as the reader records them, worded in French.
    values: dict[str, str | int] = {
        "header_line": 2,
        "byte": "b'\\xe9'",
        "content_type": "multipart/mixed",
        "boundary": "'b'",
        "max": 8,
        "delimiter": "--b",
        "count": 2,
        "line": 3,
        "octets": 1200,
        "body_line": 1,
        "escape": "b'=ZZ'",
        "encoding": "'x-uuencode'",
    }
    for code in get_args(DefectCode):
        said = defect_text(Defect(code, "1", 1, "english", tuple(values.items())))
        assert said.en == "english" and "{" not in said.fr and said.fr != "english", code
