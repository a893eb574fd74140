"""`pki init --dir` over a folder it did not build, or one it built and the user added to:
refused when pki init did not build it (a vectors export with the tester's record), and
only the files pki init wrote are ever replaced or removed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.errors import UserError
from conformance.pki import load_pki
from conformance.pki.build import build_pki
from conformance.pki.export import EXPORTED_FROM


def _export_like(folder: Path) -> dict[str, bytes]:
    """A folder laid out as a vectors export: its pki.json is a pki export's."""
    manifest = {"format": 1, "seed": 2008, "exported_from": EXPORTED_FROM, "identities": []}
    files = {
        "pki.json": json.dumps(manifest).encode(),
        "record.csv": b"file,opened,signature,decrypted,content_ok,notes\nm.eml,yes,,,,MY NOTES\n",
        "messages/reference/sign.eml": b"From: a\n\nbody\n",
    }
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return files


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def test_init_refuses_a_vectors_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "vx"
    target.mkdir()
    files = _export_like(target)
    assert main(["pki", "init", "--dir", str(target)]) == 2
    err = capsys.readouterr().err
    assert "not a test PKI built by pki init" in err
    assert f"its pki.json is from {EXPORTED_FROM}" in err
    assert _tree(target) == files  # the tester's record and the messages untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vx"]  # nothing staged


def test_init_refuses_a_pki_json_without_its_generator(tmp_path: Path) -> None:
    (tmp_path / "pki.json").write_text('{"format": 1, "identities": []}\n')
    with pytest.raises(UserError, match="has no generator 'osm-conformance pki init'"):
        build_pki(tmp_path, seed=3, only=[])


def test_rebuild_keeps_the_users_files(tmp_path: Path) -> None:
    target = tmp_path / "pki"
    build_pki(target, seed=3, only=["pro01"])
    root = (target / "ca" / "root.pem").read_bytes()
    mine = {
        "notes.txt": b"my notes",
        "ca/my-ca.pem": b"mine",
        "identities/pro01/my.p12": b"a product's import",
        "nssdb/cert9.db": b"a product's database",
    }
    for name, data in mine.items():
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        (target / name).write_bytes(data)
    build_pki(target, seed=4, only=[])
    tree = _tree(target)
    assert {name: tree.get(name) for name in mine} == mine
    # pro01 is no longer built: its files go, the user's file in its folder stays.
    assert sorted(p.name for p in (target / "identities" / "pro01").iterdir()) == ["my.p12"]
    assert (target / "ca" / "root.pem").read_bytes() != root
    pki = load_pki(target)
    assert pki.seed == 4 and pki.identities == {}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pki"]  # no staging, no .old
