"""A cache folder that cannot be made (OSM_CONFORMANCE_CACHE naming a file, a CI job whose
HOME is read-only) is a usage error naming the folder and what sets it, not a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.cli import main
from conformance.errors import UserError
from conformance.paths import cache_dir


def test_a_cache_that_is_a_file_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a_file = tmp_path / "cache"
    a_file.write_text("", encoding="utf-8")
    monkeypatch.setenv("OSM_CONFORMANCE_CACHE", str(a_file))
    with pytest.raises(UserError, match=r"OSM_CONFORMANCE_CACHE.*cache: exists and is not a dir"):
        cache_dir()


def test_an_xdg_cache_that_cannot_be_made_says_how_to_move_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("", encoding="utf-8")  # a file: nothing can be made beneath it
    monkeypatch.delenv("OSM_CONFORMANCE_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    with pytest.raises(UserError, match="blocked/osm-conformance: cannot create it") as raised:
        cache_dir()
    assert "OSM_CONFORMANCE_CACHE" in str(raised.value)


def test_run_with_an_unusable_cache_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    a_file = tmp_path / "cache"
    a_file.write_text("", encoding="utf-8")
    monkeypatch.setenv("OSM_CONFORMANCE_CACHE", str(a_file))
    monkeypatch.delenv("HYPOTHESIS_STORAGE_DIRECTORY", raising=False)
    argv = ["run", "--sender", "reference", "--receiver", "reference", "--function", "sign"]
    code = main([*argv, "--examples", "1", "--no-rejections", "--out", str(tmp_path / "out")])
    assert code == 2
    assert f"OSM_CONFORMANCE_CACHE {a_file}: exists" in capsys.readouterr().err
