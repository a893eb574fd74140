"""`pki export` into a folder that is not new: an earlier export is cleared of the
identities it listed (and of nothing else), any other non-empty folder is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.pki import load_pki


def _export(out: Path, *ids: str) -> int:
    argv = ["pki", "export", str(out)]
    for ident in ids:
        argv += ["--identity", ident]
    return main(argv)


def test_a_smaller_export_over_an_earlier_one_holds_only_its_identities(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "export"
    assert _export(out, "pro01", "pro02") == 0
    mine = out / "identities" / "pro02" / "imported-by-vendor.txt"
    mine.write_text("the vendor's own note\n", encoding="utf-8")
    (out / "vendor-notes.txt").write_text("kept\n", encoding="utf-8")
    assert _export(out, "pro01") == 0
    listed = json.loads((out / "pki.json").read_text(encoding="utf-8"))["identities"]
    assert listed == ["pro01"]
    assert sorted(load_pki(out).identities) == ["pro01"]
    # pro02's folder keeps only the file the suite did not write.
    assert [p.name for p in (out / "identities" / "pro02").iterdir()] == [mine.name]
    assert (out / "vendor-notes.txt").is_file()
    assert _export(out, "pro03") == 0
    assert sorted(p.name for p in (out / "identities").iterdir()) == ["pro02", "pro03"]
    assert not (out / "identities" / "pro01").exists()
    assert "Traceback" not in capsys.readouterr().err


def test_a_folder_that_is_not_an_export_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "product"
    (out / "identities" / "pro01").mkdir(parents=True)
    (out / "identities" / "pro01" / "sign.pem").write_text("the vendor's\n", encoding="utf-8")
    assert _export(out, "pro01") == 2
    err = capsys.readouterr().err
    assert f"{out}: not empty and not an earlier export" in err
    assert (out / "identities" / "pro01" / "sign.pem").read_text() == "the vendor's\n"
    assert not (out / "pki.json").exists()
    # A PKI built by `pki init` is not an export either.
    (out / "identities" / "pro01" / "sign.pem").unlink()
    (out / "pki.json").write_text('{"generator": "osm-conformance pki init"}\n')
    assert _export(out, "pro01") == 2
    assert "not an earlier export" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _export(empty, "pro01") == 0
