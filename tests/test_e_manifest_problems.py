"""`vectors verify` lists every problem of a manifest entry at once: an unknown key is
listed beside the entry's other checks (its other fields stay readable), while a field
missing or of the wrong type still stops the entry's checks (docs/vectors.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.vectors.common import shipped_cast

PRODUCT = "smm"
MAIL = b"From: a@example.org\r\nTo: b@example.org\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
KNOWN = "known: file, recipient, function, plaintext, sender, crls"


def _verify(
    folder: Path, entries: list[dict[str, object]], capsys: pytest.CaptureFixture[str]
) -> list[str]:
    """The problems `vectors verify` lists for `entries` (it must refuse them: exit 2)."""
    (folder / "a.eml").write_bytes(MAIL)
    (folder / "manifest.json").write_text(json.dumps({"messages": entries}))
    argv = ["vectors", "verify", str(folder), "--as", PRODUCT, "--receiver", PRODUCT]
    assert main(argv) == 2
    err = capsys.readouterr().err
    return [line.removeprefix("osm-conformance: error: ") for line in err.splitlines()]


def test_unknown_key_is_listed_with_the_entrys_other_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    entry = {"file": "a.eml", "recipient": "pro99", "function": "sgn", "extra": 1}
    lines = _verify(tmp_path, [entry], capsys)
    where = f"{tmp_path / 'manifest.json'}: messages[0]"
    assert lines[:2] == [
        f"{where}.extra: unknown field; {KNOWN}",
        f"{where}.function: unknown function 'sgn'; expected one of sign, encrypt, "
        "sign-encrypt, hprim-net, attachments, first-contact",
    ]
    assert lines[2].startswith(f"{where}.recipient: unknown identity 'pro99' (no ")
    assert len(lines) == 3


def test_unknown_key_does_not_hide_a_recipient_the_message_does_not_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recipient = shipped_cast().users(PRODUCT)[1]
    entry = {"file": "a.eml", "recipient": recipient, "function": "sign", "extra": 1}
    lines = _verify(tmp_path, [entry], capsys)
    assert lines[0].endswith(f"messages[0].extra: unknown field; {KNOWN}")
    assert lines[1].startswith(f"{tmp_path / 'a.eml'}: not addressed to {recipient} <")
    assert len(lines) == 2


def test_wrong_type_beside_an_unknown_key_still_stops_the_entry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    entry = {"file": 3, "recipient": "pro99", "function": "sgn", "extra": 1}
    lines = _verify(tmp_path, [entry], capsys)
    where = f"{tmp_path / 'manifest.json'}: messages[0]"
    assert lines == [
        f"{where}.file: expected a string, got 3",
        f"{where}.extra: unknown field; {KNOWN}",
    ]
