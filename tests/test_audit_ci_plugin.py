"""The pytest plugin as a vendor's CI uses it: a bad --osm-* option is a usage error before
any cell (pytest's exit 4, one line naming it, no traceback); a listing (--collect-only,
--fixtures) leaves an earlier run's results.json alone; the matrix asked for but not
collected fails the job; the vendor's own tests beside the matrix are not cells."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ENV = {**os.environ, "OSM_CONFORMANCE_TOKEN": "software"}
MATRIX = ["--pyargs", "conformance.matrix.test_matrix", "--osm-matrix"]
ONE_CELL = ["--osm-sender", "reference", "--osm-receiver", "reference", "--osm-function", "sign"]


def _pytest(cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *argv]
    return subprocess.run(command, capture_output=True, text=True, env=ENV, cwd=cwd, timeout=120)


@pytest.mark.parametrize(
    ("option", "said"),
    [
        (["--osm-examples", "0"], "--osm-examples must be at least 1"),
        (["--osm-variants", "0"], "--osm-variants must be at least 1"),
        (["--osm-sender", "nosuch"], "unknown profile nosuch"),
        (["--osm-agent", "nosuch"], "unknown profile nosuch"),
        (["--osm-profiles", "missing.yaml"], "missing.yaml: no such profile file"),
        (["--osm-profiles", "broken.yaml"], "broken.yaml:2: YAML syntax error"),
        (["--osm-policy", "bogus"], "invalid choice: 'bogus'"),
        (["--osm-large-attachment", "0"], "'0' is not a size"),
        (["--osm-max-message-bytes", "-1", "--osm-transport", "smtp"], "'-1' is not a size"),
        (["--osm-max-message-bytes", "10M"], "add --osm-transport smtp"),
        (["--osm-out", "a-file"], "a-file: exists and is not a directory"),
        (
            ["--osm-agent", "nss"],
            "--osm-agent nss: neither a selected sender nor a selected receiver",
        ),
    ],
)
def test_a_bad_plugin_option_is_a_usage_error(tmp_path: Path, option: list[str], said: str) -> None:
    (tmp_path / "broken.yaml").write_text("id: broken\n  bad: [\n", encoding="utf-8")
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    done = _pytest(tmp_path, *MATRIX, *ONE_CELL, *option)
    output = done.stdout + done.stderr
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, output[-3000:]
    assert said in output, output[-3000:]
    assert "Traceback" not in output, output[-3000:]


@pytest.mark.parametrize("listing", ["--collect-only", "--fixtures"])
def test_a_listing_keeps_the_results_of_the_last_run(tmp_path: Path, listing: str) -> None:
    out = tmp_path / "osm-results"
    out.mkdir()
    earlier = '{"a": "run that really happened"}'
    (out / "results.json").write_text(earlier, encoding="utf-8")
    done = _pytest(tmp_path, *MATRIX, *ONE_CELL, f"--osm-out={out}", listing)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert json.loads((out / "results.json").read_text(encoding="utf-8")) == json.loads(earlier)


def test_the_matrix_asked_for_but_not_collected_fails_the_job(tmp_path: Path) -> None:
    """`--osm-matrix` without the matrix's module ran the vendor's tests only and exited 0:
    a green CI job that tested nothing."""
    (tmp_path / "test_own.py").write_text("def test_own() -> None:\n    pass\n", encoding="utf-8")
    out = tmp_path / "osm-results"
    done = _pytest(tmp_path, "test_own.py", "--osm-matrix", f"--osm-out={out}", *ONE_CELL)
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, (done.stdout + done.stderr)[-3000:]
    assert "--pyargs conformance.matrix.test_matrix" in done.stderr
    assert not (out / "results.json").exists()


def test_a_vendors_own_tests_beside_the_matrix_are_not_cells(tmp_path: Path) -> None:
    """A vendor's own parametrised test, failing, in the session: it was a harness `error`
    cell of sender '1' in results.json, and the run was counted incomplete."""
    own = "import pytest\n\n@pytest.mark.parametrize('n', [1])\ndef test_own(n: int) -> None:\n"
    (tmp_path / "test_own.py").write_text(own + "    assert n == 2\n", encoding="utf-8")
    out = tmp_path / "osm-results"
    done = _pytest(
        tmp_path, "test_own.py", *MATRIX, *ONE_CELL, "--osm-examples=1", f"--osm-out={out}"
    )
    assert "1 failed, 1 passed" in done.stdout, (done.stdout + done.stderr)[-3000:]
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert [(c["sender"], c["verdict"]) for c in results["cells"]] == [("reference", "pass")]
    assert results["run"]["complete"] is True


def test_via_is_read_as_run_reads_it(tmp_path: Path) -> None:
    """`--osm-via a,b` is two route variants, as `run --via` reads it (the plugin once split
    only on '+' and collected one cell on the route 'a,b', which then failed); an unknown
    hop is a usage error."""
    via = ["--osm-transport", "smtp", "--osm-via", "footer, footer,subject-tag", "--collect-only"]
    done = _pytest(tmp_path, *MATRIX, *ONE_CELL, *via, "-v")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    ids = re.findall(r"test_cell\[([^\]]*)\]", output)
    assert sorted(ids) == [  # the plain route, then the two variants, once each
        "reference->reference:sign",
        "reference->reference:sign@footer",
        "reference->reference:sign@subject-tag",
    ], output[-3000:]
    bad = _pytest(tmp_path, *MATRIX, *ONE_CELL, "--osm-transport", "smtp", "--osm-via", "nosuch")
    assert bad.returncode == pytest.ExitCode.USAGE_ERROR, (bad.stdout + bad.stderr)[-3000:]
    assert "unknown hop 'nosuch'" in bad.stdout + bad.stderr
