"""`choose` as a practice reads it: a bad `--out` is a usage error named before anything
runs, and the reasons speak the page's language."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance.choose.inputs import Practice
from conformance.choose.rank import rank
from conformance.choose.view import ranking_text
from conformance.cli import main
from conformance.paths import PROFILES_DIR
from conformance.profiles.loader import load_profiles, load_sources
from conformance.profiles.practice import load_practice_software
from conformance.report.i18n import Translator
from conformance.results import Cell, Results, RunInfo


@pytest.mark.parametrize("out", ["a-file", "a-file/below"])
def test_choose_to_an_out_that_cannot_be_a_folder_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], out: str
) -> None:
    practice = tmp_path / "practice.yaml"
    practice.write_text("platform: windows\n")  # no correspondent: no sub-matrix to run
    (tmp_path / "a-file").write_text("not a folder")
    assert main(["choose", str(practice), "--out", str(tmp_path / out)]) == 2
    err = capsys.readouterr().err
    assert f"--out {tmp_path / out}: " in err
    assert "Traceback" not in err


def test_the_reasons_give_a_cell_s_verdict_in_the_page_s_language() -> None:
    """« pas avec smm ×1 (→ sign-encrypt échec) », never results.json's `fail` or `missing`
    in a French sentence."""
    sources, _ = load_sources([PROFILES_DIR / "sources.yaml"])
    columns = next(s.columns for s in sources.values() if s.columns)
    practice = Practice.model_validate(
        {"platform": "windows", "correspondents": [{"tool": "smm"}, {"tool": "mmua"}]}
    )
    run = RunInfo(seed=1, examples=1, started="", complete=True, suite_version="0")
    fail = Cell(sender="easycrypt-net", receiver="smm", function="sign-encrypt", verdict="fail")
    results = Results(run=run, agents=[], cells=[fail], pairs=[])  # mmua's cells: missing
    ranking = rank(practice, load_profiles(), load_practice_software(), results, sources, columns)
    french = ranking_text(ranking, Translator("fr"))
    assert "smm ×1 (→ sign-encrypt échec)" in french
    assert "mmua ×1 (→ sign-encrypt non exécuté)" in french
    assert not re.search(r"sign-encrypt (fail|missing)\)", french), french
    assert "smm ×1 (→ sign-encrypt fail)" in ranking_text(ranking, Translator("en"))
