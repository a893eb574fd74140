"""Small leftovers: the output checks in one place (paths.check_output_folder/_file), no
stray results.json.tmp, the golden hint naming --dir, report's default --out named as
such, token init's --pki default, and one type for seconds (nan and inf refused)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from conformance.cli import build_parser, main
from conformance.cli_support import seconds
from conformance.errors import UserError
from conformance.paths import check_output_file, check_output_folder
from conformance.profiles.loader import load_profile
from conformance.results import Results, RunInfo
from conformance.vectors import golden


def _results() -> Results:
    run = RunInfo(seed=0, examples=1, started="", complete=True, suite_version="0")
    return Results(run=run, agents=[], cells=[], pairs=[])


def _unwritable(monkeypatch: pytest.MonkeyPatch, *denied: Path) -> None:
    """os.access says no for these paths (root may write anywhere)."""
    real: Callable[..., bool] = os.access

    def access(path: object, mode: int, **kwargs: object) -> bool:
        if Path(str(path)) in denied and mode & os.W_OK:
            return False
        return real(path, mode, **kwargs)

    monkeypatch.setattr(os, "access", access)


# --- 3. the output checks, in paths.py ------------------------------------------------


def test_an_existing_folder_without_write_access_is_named_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not "cannot create it" for a folder that exists (vectors' own copy said so)."""
    _unwritable(monkeypatch, tmp_path)
    with pytest.raises(UserError) as raised:
        check_output_folder(tmp_path)
    assert str(raised.value) == f"--out {tmp_path}: cannot write into it (permission denied)"
    with pytest.raises(UserError) as raised:
        check_output_folder(tmp_path / "new", "--dir")
    assert str(raised.value) == (
        f"--dir {tmp_path / 'new'}: cannot create it ({tmp_path}: permission denied)"
    )
    assert not (tmp_path / "new").exists()


def test_an_output_file_is_checked_without_making_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    check_output_file(tmp_path / "a" / "b" / "results.json")
    assert list(tmp_path.iterdir()) == []
    kept = tmp_path / "kept.json"
    kept.write_text("{}")
    _unwritable(monkeypatch, kept)
    with pytest.raises(UserError) as raised:
        check_output_file(kept, "--junit-xml")
    assert str(raised.value) == f"--junit-xml {kept}: cannot write it (permission denied)"


def test_run_with_a_bad_junit_path_makes_no_out_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--junit-xml is checked before --out is made: bad input leaves nothing behind."""
    afile = tmp_path / "afile"
    afile.write_text("x")
    out = tmp_path / "out"
    argv = ["run", "--agent", "reference", "--function", "sign", "--examples", "1"]
    argv += ["--no-rejections", "--quiet", "--out", str(out), "--junit-xml", str(afile / "j")]
    assert main(argv) == 2
    assert f"--junit-xml's folder {afile}: exists and is not a directory" in (
        capsys.readouterr().err
    )
    assert not out.exists()


# --- 4. Results.dump ------------------------------------------------------------------


def test_a_failed_dump_leaves_no_tmp_file(tmp_path: Path) -> None:
    target = tmp_path / "results.json"
    target.mkdir()  # the rename over it fails
    with pytest.raises(OSError):
        _results().dump(target)
    assert list(tmp_path.iterdir()) == [target]


# --- 5. vectors golden: the hint names --dir ------------------------------------------


def test_the_golden_hint_names_the_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made = golden.generate(load_profile("reference"), "sign")
    monkeypatch.setattr(golden, "generate_all", lambda profile_ids=None: [made])
    assert golden.check(tmp_path) == [
        f"reference/sign: missing from {tmp_path} "
        f"(run `osm-conformance vectors golden --write --dir {tmp_path}`)"
    ]
    assert golden.write_command(golden.GOLDEN_DIR) == "osm-conformance vectors golden --write"


# --- 6. report's default --out, token init --pki --------------------------------------


def test_report_names_its_default_out_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _results().dump(tmp_path / "results.json")
    _unwritable(monkeypatch, tmp_path)
    assert main(["report", str(tmp_path / "results.json")]) == 2
    assert capsys.readouterr().err.strip() == (
        f"osm-conformance: error: the results folder (report's default --out) {tmp_path}: "
        "cannot write into it (permission denied)"
    )


def test_token_init_says_its_pki_default(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["token", "init", "--help"])
    said = " ".join(capsys.readouterr().out.split())
    assert "(default: the shipped test PKI)" in said
    assert "vectors/pki" not in said


# --- 7. one type for seconds ----------------------------------------------------------


@pytest.mark.parametrize("text", ["0", "-1", "nan", "inf", "soon"])
def test_seconds_refuses_what_would_never_time_out(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        seconds(text)


@pytest.mark.parametrize(
    "argv",
    [["serve", "--duration", "nan"], ["adapter", "check", "x", "--timeout", "inf"]],
)
def test_serve_and_adapter_check_share_it(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as raised:
        build_parser(argv[0]).parse_args(argv)
    assert raised.value.code == 2
    assert "expected a positive number of seconds" in capsys.readouterr().err
