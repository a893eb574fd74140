"""What the regional association publishes: a report rendered from a results.json whose
evidence is not there links nowhere dead, says what it measured under, and a bad --out
is a usage error, not a traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_report import local_links, pages, resolve_link
from test_report_sample import sample_results

from conformance.cli import main


def test_a_report_without_its_evidence_folder_holds_no_dead_link(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    results = sample_results(run)
    results.dump(run / "results.json")
    shutil.rmtree(run / "evidence")  # results.json mailed or copied alone
    out = tmp_path / "report"
    assert main(["report", str(run / "results.json"), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    absent = sum(len(c.evidence) for c in results.cells)
    assert absent > 10
    assert err.count("warning") == 1, err  # one line, not one per file
    assert "evidence path(s) name no file under the run folder" in err
    for page in pages(out):
        for link in local_links(page):
            assert resolve_link(page, link).is_file(), (page, link)
    cell = next(c for c in results.cells if c.evidence)
    index = (out / "index.html").read_text("utf-8")
    assert f"<code>{cell.evidence[0]}</code>" in index  # still named, as text


@pytest.mark.parametrize("out", ["a-file", "a-file/below"])
def test_report_to_an_out_that_cannot_be_a_folder_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], out: str
) -> None:
    run = tmp_path / "run"
    sample_results(run).dump(run / "results.json")
    (tmp_path / "a-file").write_text("not a folder")
    assert main(["report", str(run / "results.json"), "--out", str(tmp_path / out)]) == 2
    assert f"--out {tmp_path / out}: " in capsys.readouterr().err


def test_every_page_says_the_policy_its_verdicts_were_measured_under(tmp_path: Path) -> None:
    """`run --policy modern` fails what osm-2008 passes: a published matrix names it."""
    run = tmp_path / "run"
    results = sample_results(run)
    results.run.settings["policy"] = "modern"
    results.dump(run / "results.json")
    assert main(["report", str(run / "results.json"), "--lang", "fr"]) == 0
    for page in pages(run):
        html = page.read_text("utf-8")
        assert ">Politique</dt><dd><code>modern</code></dd>" in html, page
