"""What `--profiles` names: a folder replaces the shipped profiles, files join them.

A vendor's first step is to copy profiles/ and edit it; `run --profiles MYCOPY` used to
fail with `sources.yaml: duplicate source ...` because the shipped sources and claims
were loaded beside the copy's.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.matrix.spec import MatrixSpec
from conformance.paths import PROFILES_DIR
from conformance.profiles.claims import shipped_claims
from conformance.profiles.loader import ProfileError, lint, load_profiles, load_sources
from conformance.profiles.practice import load_practice_software

CLAIM_QUOTE = "Toutes les Messageries OSM sont inter opérables de principe"


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A copy of the shipped profiles with one edit in each kind of file."""
    target = tmp_path / "MYCOPY"
    shutil.copytree(PROFILES_DIR, target)
    _edit(target / "openssl.yaml", "name: OpenSSL cms", "name: OpenSSL cms (our build)")
    _edit(target / "sources.yaml", "title: ESPS comparison table", "title: Our comparison table")
    _edit(target / "claims.yaml", CLAIM_QUOTE, "Our own reading of the slide")
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{path}: {old!r} not found"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _acme(directory: Path) -> Path:
    """A vendor's own profile, extending a shipped one."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "acme-mail.yaml"
    path.write_text(
        "id: acme-mail\nextends: openssl\nidentity:\n  name: ACME Mail\n"
        "provenance:\n  identity.name: {assumed: true, reason: a vendor's own build}\n",
        encoding="utf-8",
    )
    return path


def test_a_copied_folder_replaces_the_shipped_profiles_sources_and_claims(copy: Path) -> None:
    spec = MatrixSpec(profile_paths=(str(copy),))
    profiles = spec.profiles()
    assert profiles["openssl"].identity.name == "OpenSSL cms (our build)"
    assert set(profiles) == set(load_profiles())  # the same ids, each the copy's
    assert spec.sources()["comparison-table"].title.startswith("Our comparison table")
    pair = spec.claims().expected_pair("smm", "mmua")
    assert pair is not None and pair.quote == "Our own reading of the slide"
    practice = spec.practice()
    assert practice is not None and practice == load_practice_software()
    assert lint([copy]) == []


def test_a_folder_without_claims_has_none(copy: Path) -> None:
    (copy / "claims.yaml").unlink()
    (copy / "practice-software.yaml").unlink()
    spec = MatrixSpec(profile_paths=(str(copy),))
    assert spec.claims().expected_pair("smm", "mmua") is None
    assert spec.practice() is None


def test_run_with_a_copied_folder(copy: Path, tmp_path: Path) -> None:
    (copy / "practice-software.yaml").unlink()  # the folder's data, not the shipped one
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "conformance", "run", "--profiles", str(copy),
         "--sender", "openssl", "--receiver", "reference", "--function", "sign",
         "--examples", "1", "--no-rejections", "--jobs", "1", "--quiet", "--out", str(out)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert "duplicate source" not in done.stderr
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert [a["name"] for a in results["agents"] if a["id"] == "openssl"] == [
        "OpenSSL cms (our build)"
    ]
    assert results["practice_software"] == []


def test_files_named_alone_join_the_shipped_set(tmp_path: Path) -> None:
    acme = _acme(tmp_path / "vendor")
    spec = MatrixSpec(profile_paths=(str(acme),))
    profiles = spec.profiles()
    assert "acme-mail" in profiles
    assert set(profiles) == set(load_profiles()) | {"acme-mail"}
    assert profiles["openssl"].identity.name == "OpenSSL cms"
    assert spec.claims() is shipped_claims()
    assert spec.sources() == load_sources([PROFILES_DIR / "sources.yaml"])[0]


def test_the_sources_beside_a_file_named_alone_are_added(tmp_path: Path) -> None:
    acme = _acme(tmp_path / "vendor")
    entry = "  - id: acme-datasheet\n    title: ACME Mail datasheet\n    kind: project\n"
    (acme.parent / "sources.yaml").write_text(f"sources:\n{entry}", encoding="utf-8")
    sources = MatrixSpec(profile_paths=(str(acme),)).sources()
    assert sources["acme-datasheet"].title == "ACME Mail datasheet"
    assert "comparison-table" in sources


def test_a_file_of_a_copied_folder_named_alone(copy: Path) -> None:
    """Its folder's sources.yaml says what the shipped one says: one source, no conflict."""
    acme = _acme(copy)
    _edit(copy / "sources.yaml", "title: Our comparison table", "title: ESPS comparison table")
    assert "acme-mail" in MatrixSpec(profile_paths=(str(acme),)).profiles()


def test_a_source_defined_differently_in_two_files_is_a_conflict(copy: Path) -> None:
    acme = _acme(copy)
    with pytest.raises(ProfileError, match="differs from the one in"):
        MatrixSpec(profile_paths=(str(acme),)).profiles()


def test_a_source_twice_in_one_file_is_still_a_duplicate(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    entry = "  - id: twice\n    title: T\n    kind: project\n"
    path.write_text(f"sources:\n{entry}{entry}", encoding="utf-8")
    _, problems = load_sources([path])
    assert [p.message for p in problems] == ["sources[1].id: duplicate source 'twice'"]


def test_a_file_named_alone_replaces_the_shipped_profile_of_its_id(copy: Path) -> None:
    """A vendor's own build of a shipped product: the named file wins, once."""
    _edit(copy / "sources.yaml", "title: Our comparison table", "title: ESPS comparison table")
    profiles = MatrixSpec(profile_paths=(str(copy / "openssl.yaml"),)).profiles()
    assert profiles["openssl"].identity.name == "OpenSSL cms (our build)"
    assert set(profiles) == set(load_profiles())


def test_an_id_named_twice_is_reported(copy: Path, tmp_path: Path) -> None:
    other = tmp_path / "other" / "openssl.yaml"
    other.parent.mkdir()
    shutil.copy(copy / "openssl.yaml", other)
    with pytest.raises(ProfileError, match="duplicate profile id 'openssl'"):
        MatrixSpec(profile_paths=(str(copy / "openssl.yaml"), str(other))).profiles()
