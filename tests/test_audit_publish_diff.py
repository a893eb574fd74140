"""`diff` and `report --baseline` across runs judged under different policies warn that a
changed verdict may be the policy's, not the product's."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_report_sample import sample_results

from conformance.cli import main


@pytest.mark.parametrize("command", ["diff", "report"])
def test_runs_under_different_policies_are_compared_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    paths = []
    for policy in ("osm-2008", "modern"):
        run = tmp_path / policy
        results = sample_results(run)
        results.run.settings["policy"] = policy
        results.dump(run / "results.json")
        paths.append(run / "results.json")
    old, new = paths
    argv = (
        ["diff", str(old), str(new)]
        if command == "diff"
        else ["report", str(new), "--baseline", str(old)]
    )
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "different policies (osm-2008 -> modern)" in err, err
    assert main(["diff", str(old), str(old)]) == 0
    assert "policies" not in capsys.readouterr().err
