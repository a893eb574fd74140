"""Every problem at once: `vectors verify` lists a manifest entry's missing or mistyped
field in its own `messages[i].field` words beside the other entries' problems, and
`vectors import` lists every bad line of both records before refusing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from agents_support import software_keys

from conformance.cli import main
from conformance.errors import UserError
from conformance.matrix.cast import Cast
from conformance.results import Results, RunInfo
from conformance.vectors.common import shipped_cast
from conformance.vectors.export import export_vectors
from conformance.vectors.manual import read_record

# Keys in software for this module's export only.
pytestmark = pytest.mark.usefixtures("software_keys")
__all__ = ["software_keys"]

PRODUCT = "smm"
SIGN = "messages/reference/sign.eml"
MAIL = b"From: a@example.org\r\nTo: b@example.org\r\nContent-Type: text/plain\r\n\r\nhi\r\n"


def _recipient(cast: Cast) -> str:
    return cast.users(PRODUCT)[1]


# --- 1. verify: shape errors in the same words, with the other entries' problems -------


def test_verify_lists_shape_errors_with_every_other_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recipient = _recipient(shipped_cast())
    (tmp_path / "a.eml").write_bytes(MAIL)
    entries = [
        {"recipient": recipient, "function": "sign"},
        {"file": 3, "recipient": recipient, "function": "sign"},
        {"file": "a.eml", "recipient": recipient, "function": "frob"},
        {"file": "absent.eml", "recipient": recipient, "function": "sign", "colour": "red"},
    ]
    (tmp_path / "manifest.json").write_text(json.dumps({"messages": entries, "extra": 1}))
    argv = ["vectors", "verify", str(tmp_path), "--as", PRODUCT, "--receiver", PRODUCT]
    assert main(argv) == 2
    err = capsys.readouterr().err
    where = f"{tmp_path / 'manifest.json'}: "
    lines = [line.removeprefix("osm-conformance: error: ") for line in err.splitlines()]
    assert lines == [
        f"{where}extra: unknown field; known: messages",
        f"{where}messages[0].file: missing required field; expected the .eml file, "
        "relative to the manifest",
        f"{where}messages[1].file: expected a string, got 3",
        f"{where}messages[2].function: unknown function 'frob'; expected one of sign, "
        "encrypt, sign-encrypt, hprim-net, attachments, first-contact",
        f"{where}messages[3].colour: unknown field; known: file, recipient, function, "
        "plaintext, sender, crls",
        f"{where}messages[3].file: 'absent.eml' does not exist in {tmp_path}",
    ]
    assert "Field required" not in err and "messages.0" not in err


def test_verify_entry_of_the_wrong_kind_and_an_empty_list(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["vectors", "verify", str(tmp_path), "--as", PRODUCT, "--receiver", PRODUCT]
    (tmp_path / "manifest.json").write_text(json.dumps({"messages": ["a.eml"]}))
    assert main(argv) == 2
    assert "manifest.json: messages[0]: expected a mapping, got 'a.eml'" in capsys.readouterr().err
    (tmp_path / "manifest.json").write_text(json.dumps({"messages": []}))
    assert main(argv) == 2
    assert "manifest.json: messages: empty; expected at least 1 entry" in capsys.readouterr().err


# --- 2. import: every bad line of both records, then refused ---------------------------


@pytest.fixture(scope="module")
def vectors(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("vectors")
    export_vectors(PRODUCT, out, senders=["reference", "sermentis-mms"], functions=["sign"])
    return out


def _results(folder: Path) -> Path:
    run = RunInfo(seed=0, examples=1, started="", complete=True, suite_version="0")
    path = folder / "results.json"
    Results(run=run, agents=[], cells=[], pairs=[]).dump(path)
    return path


def test_import_lists_every_bad_line_then_refuses(
    vectors: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = "messages/sermentis-mms/sign.eml"
    record = tmp_path / "bad1.csv"
    record.write_text(
        "file,opened,signature,decrypted,content_ok,notes\n"
        f"{SIGN},maybe,valid,no,yes,\n"
        f"{other},yes,valid,no,yes,\n"
        f"{other},no,,,,\n"
        "messages/nope/sign.eml,no,,,,\n"
        f"{SIGN},yes,valid\n",
        encoding="utf-8",
    )
    negative = json.loads((vectors / "manifest.json").read_text())["negatives"][0]["file"]
    negatives = tmp_path / "neg.csv"
    negatives.write_text(
        f"file,refused,notes\n{negative},maybe,\nnegative/x.eml,yes,\n{negative},yes,a,b\n",
        encoding="utf-8",
    )
    out = tmp_path / "x.json"
    argv = ["vectors", "import", str(_results(tmp_path)), str(record), "--as", PRODUCT]
    argv += ["--vectors", str(vectors), "--negative", str(negatives), "--out", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    for expected in (
        f"{record}:2: column 'opened': 'maybe' is not yes/no (oui/non)",
        f"{record}:4: {other!r} is already recorded at {record}:3",
        f"{record}:5: unknown vector file 'messages/nope/sign.eml' (not listed in",
        f"{record}:6: {SIGN!r} is already recorded at {record}:2",
        f"{record}:6: column 'decrypted' is empty (expected yes or no)",
        f"{record}:6: column 'content_ok' is empty (expected yes or no)",
        f"{negatives}:2: column 'refused': 'maybe' is not yes/no (oui/non)",
        f"{negatives}:3: unknown negative vector 'negative/x.eml'",
        f"{negatives}:4: more values than the 3 columns of line 1",
    ):
        assert expected in err, err
    assert len(err.splitlines()) == 9  # one line each, nothing else
    assert not out.exists()  # nothing written, no verdict invented


def test_read_record_lists_every_bad_line_and_an_unknown_column_once(tmp_path: Path) -> None:
    record = tmp_path / "rec.csv"
    record.write_text(
        f"file,opened,colour\n{SIGN},no,blue\n{SIGN},perhaps,\nx.eml,no,green\n", encoding="utf-8"
    )
    with pytest.raises(UserError) as caught:
        read_record(record)
    assert str(caught.value).splitlines() == [
        f"{record}:2: unknown column(s) 'colour'; expected file, opened, signature, decrypted, "
        "content_ok, notes",
        f"{record}:3: column 'opened': 'perhaps' is not yes/no (oui/non)",
    ]
    yaml = tmp_path / "rec.yaml"
    yaml.write_text(
        f"- file: {SIGN}\n  opened: maybe\n- just text\n- file: {SIGN}\n  opened: yes\n",
        encoding="utf-8",
    )
    with pytest.raises(UserError) as caught:
        read_record(yaml)
    assert str(caught.value).splitlines() == [
        f"{yaml}:1: column 'opened': 'maybe' is not yes/no (oui/non)",
        f"{yaml}:3: expected a mapping with keys file, opened, signature, decrypted, "
        "content_ok, notes",
        f"{yaml}:4: column 'signature' is empty (expected valid, invalid or absent)",
        f"{yaml}:4: column 'decrypted' is empty (expected yes or no)",
        f"{yaml}:4: column 'content_ok' is empty (expected yes or no)",
    ]
