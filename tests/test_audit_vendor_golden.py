"""vectors golden --dir: a directory that holds other things keeps them; bad files are named.

`--write` over the whole corpus used to remove every subdirectory of --dir, whatever
it held; a corpus .json that is not UTF-8, or not an object, was a traceback.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.cli import main
from conformance.profiles.loader import load_profile
from conformance.vectors import golden


@pytest.fixture
def one_golden(monkeypatch: pytest.MonkeyPatch) -> golden.Golden:
    """The whole corpus reduced to one message, so that a --write of it all is quick."""
    made = golden.generate(load_profile("reference"), "sign")
    monkeypatch.setattr(golden, "generate_all", lambda profile_ids=None: [made])
    return made


def test_write_keeps_what_is_not_the_corpus(tmp_path: Path, one_golden: golden.Golden) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "thesis.txt").write_text("mine")
    (tmp_path / "notes" / "data.json").write_text("{}")
    stale = tmp_path / "retired-profile"
    stale.mkdir()
    (stale / "sign.eml").write_text("old")
    (stale / "sign.json").write_text("{}")
    golden.write(tmp_path)
    assert (tmp_path / "notes" / "thesis.txt").read_text() == "mine"
    assert (tmp_path / "notes" / "data.json").is_file()
    assert not stale.exists()  # a corpus profile no one writes any more
    assert (tmp_path / "reference" / "sign.eml").read_bytes() == one_golden.message
    assert golden.check(tmp_path) == []


def test_a_corpus_file_that_is_not_json_text_is_named(
    tmp_path: Path, one_golden: golden.Golden
) -> None:
    golden.write(tmp_path)
    reading = tmp_path / "reference" / "sign.json"
    reading.write_bytes(b"\xff\xfe")
    assert golden.check(tmp_path) == [f"{reading}: not UTF-8 text (invalid start byte at byte 0)"]
    reading.write_text("[1]")
    assert golden.check(tmp_path) == [f"{reading}: expected a JSON object"]


def test_dir_that_is_a_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    argv = ["vectors", "golden", "--write", "--profile", "reference", "--dir", str(target)]
    assert main(argv) == 2
    assert f"--dir {target}: not a directory" in capsys.readouterr().err
