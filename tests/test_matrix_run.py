"""`osm-conformance run` and the pytest plugin: results.json, xdist, JUnit, interruption.

Small selections of built-in agents (software keys) keep each run to seconds;
a vendor's changed copy of a shipped product (S.M.M. sending AES-GCM) makes
the run contradict the published claims, so that the contradiction flags
are exercised.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from conformance.cli import main
from conformance.functions import MESSAGE_FUNCTIONS
from conformance.paths import PROFILES_DIR, REPO_DIR
from conformance.results import Results, load_results
from conformance.schemas import render, schemas

ENV = {**os.environ, "OSM_CONFORMANCE_TOKEN": "software"}


@pytest.fixture(autouse=True)
def _software_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OSM_CONFORMANCE_TOKEN", "software")


def gcm_smm(directory: Path) -> Path:
    """The shipped S.M.M. profile changed to encrypt with AES-GCM, which OSM products refuse."""
    text = (PROFILES_DIR / "smm.yaml").read_text(encoding="utf-8")
    assert text.count("\nprovenance:\n") == 1
    text = text.replace(
        "\nprovenance:\n",
        "\nsend:\n  encryption:\n    content: aes256-gcm\n"
        "provenance:\n"
        "  send.encryption.content: {assumed: true, reason: a vendor's test build}\n",
    )
    path = directory / "smm.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def cell(results: Results, sender: str, receiver: str, function: str) -> Any:
    found = results.cell(sender, receiver, function)
    assert found is not None, (sender, receiver, function)
    return found


def test_run_writes_results_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    argv = ["run", "--quiet", "--jobs", "1", "--examples", "3", "--seed", "77"]
    argv += ["--function", "sign", "--function", "encrypt", "--out", str(out)]
    # A file named alone joins the shipped set, replacing the shipped profile of its id.
    argv += ["--profiles", str(gcm_smm(tmp_path))]
    for agent in ("smm", "docteur-net-cps", "reference"):
        argv += ["--sender", agent, "--receiver", agent]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "osm-conformance: 18 cells, 9 pairs" in printed and "seed 77" in printed
    assert "contradictions with the published claims: 4" in printed

    raw = json.loads((out / "results.json").read_text(encoding="utf-8"))
    results = Results.model_validate(raw)  # the schema's model accepts the file as written
    assert load_results(out / "results.json") == results
    run = results.run
    assert (run.seed, run.examples, run.complete) == (77, 3, True)
    assert run.functions == ["sign", "encrypt"]
    assert run.started <= (run.finished or "") and run.duration_s is not None
    assert run.settings["cells_planned"] == run.settings["cells_done"] == 18
    assert sorted(run.engines) == ["docteur-net-cps", "reference", "smm"]
    assert all("osm-conformance" in v for v in run.engines.values()), run.engines

    agents = {a.id: a for a in results.agents}
    assert sorted(agents) == ["docteur-net-cps", "reference", "smm"]
    assert agents["smm"].homologation == "osm" and agents["smm"].engine == "builtin"
    assert agents["smm"].sends["encryption"]["content"] == "aes256-gcm"
    assert agents["smm"].criteria["minimum_configuration"].source is not None

    assert len(results.cells) == 18
    # Claimed and held: the source's "every OSM product interoperates".
    ok = cell(results, "docteur-net-cps", "smm", "encrypt")
    assert (ok.verdict, ok.expected, ok.contradiction) == ("pass", "pass", False)
    assert ok.expected_source and ok.expected_source.startswith("interoperability-slide")
    # Claimed and contradicted: this S.M.M. build sends what Docteur Net refuses.
    bad = cell(results, "smm", "docteur-net-cps", "encrypt")
    assert (bad.verdict, bad.expected, bad.contradiction) == ("fail", "pass", True)
    assert "aes256-gcm" in (bad.reason or ""), bad.reason
    signed = cell(results, "smm", "docteur-net-cps", "sign")
    assert (signed.verdict, signed.contradiction) == ("pass", False)
    # No claim about the reference agent.
    ref = cell(results, "reference", "smm", "sign")
    assert ref.expected is None and not ref.contradiction
    for c in results.cells:
        assert c.examples <= 3 and c.evidence, (c.sender, c.receiver, c.function)
        for rel in c.evidence:
            assert (out / rel).is_file(), rel

    pairs = {(p.sender, p.receiver): p for p in results.pairs}
    assert len(pairs) == 9
    assert pairs[("smm", "docteur-net-cps")].interop == "partial"
    assert pairs[("smm", "docteur-net-cps")].expected == "full"
    assert pairs[("smm", "docteur-net-cps")].contradiction
    assert pairs[("docteur-net-cps", "smm")].interop == "full"
    assert not pairs[("docteur-net-cps", "smm")].contradiction
    assert pairs[("smm", "reference")].expected is None

    # It does not read its own AES-GCM either (the OSM base accepts CBC ciphers only).
    found = {
        (c.sender, c.receiver, c.function, c.expected, c.observed) for c in results.contradictions
    }
    assert found == {
        (sender, receiver, function, expected, observed)
        for sender, receiver in (("smm", "docteur-net-cps"), ("smm", "smm"))
        for function, expected, observed in ((None, "full", "partial"), ("encrypt", "pass", "fail"))
    }
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "<html" in html and "docteur-net-cps" in html


def test_schemas_in_docs_are_in_sync() -> None:
    for path, schema in schemas().items():
        assert path.parent == REPO_DIR / "docs"
        assert path.read_text(encoding="utf-8") == render(schema), (
            f"{path.name} is stale: run `osm-conformance schemas --write`"
        )


def test_run_with_two_workers_and_junit(tmp_path: Path) -> None:
    out = tmp_path / "out"
    junit = tmp_path / "cells.xml"
    argv = ["run", "--quiet", "--jobs", "2", "--examples", "2", "--function", "sign"]
    argv += ["--sender", "reference", "--sender", "docteur-net-cps"]
    argv += ["--receiver", "reference", "--receiver", "docteur-net-cps"]
    argv += ["--out", str(out), "--junit-xml", str(junit)]
    assert main(argv) == 0
    results = load_results(out / "results.json")
    assert results.run.complete and results.run.settings["cells_done"] == 4
    assert sorted((c.sender, c.receiver) for c in results.cells) == [
        ("docteur-net-cps", "docteur-net-cps"),
        ("docteur-net-cps", "reference"),
        ("reference", "docteur-net-cps"),
        ("reference", "reference"),
    ]
    assert all(c.verdict == "pass" for c in results.cells)
    recorded = junit_cells(junit)
    assert len(recorded) == 4
    for name, data in recorded.items():
        assert name == f"test_cell[{data['sender']}->{data['receiver']}:{data['function']}]"
        same = cell(results, data["sender"], data["receiver"], data["function"])
        assert same.verdict == data["verdict"] and same.examples == data["examples"]


def junit_cells(path: Path) -> dict[str, dict[str, Any]]:
    """Each JUnit test case's name and its osm_cell property (the cell as JSON); the
    rejection matrix's cases (osm_rejection) are left out."""
    found = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        if "osm_rejection" in props:
            continue
        found[str(case.get("name"))] = json.loads(str(props["osm_cell"]))
    return found


def test_interrupted_run_writes_what_it_has(tmp_path: Path) -> None:
    """Ctrl-C during a run with two workers: results.json holds the cells done, incomplete."""
    out = tmp_path / "out"
    # Enough examples per cell that nine cells cannot finish between the first
    # progress line and the signal (with 3 the whole run sometimes beat it).
    argv = [sys.executable, "-m", "conformance", "run", "--jobs", "2", "--examples", "100"]
    argv += ["--sender", "reference", "--receiver", "reference", "--receiver", "docteur-net-cps"]
    # Ten cells (a progress line per cell): the five functions without first-contact.
    argv += [a for f in MESSAGE_FUNCTIONS for a in ("--function", f)]
    argv += ["--out", str(out)]
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV, cwd=tmp_path
    )
    assert proc.stderr is not None
    progress = b""
    deadline = time.monotonic() + 60
    while b" 1/" not in progress and time.monotonic() < deadline:
        chunk = proc.stderr.read1(4096)  # type: ignore[attr-defined]
        if not chunk:
            break
        progress += chunk
    assert b"cells 1/10," in progress, progress[-500:]  # the total is known under xdist too
    proc.send_signal(signal.SIGINT)
    stdout, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, stdout[-1000:]
    assert b"INCOMPLETE RUN" in stdout
    results = load_results(out / "results.json")
    done = results.run.settings["cells_done"]
    assert not results.run.complete
    assert results.run.settings["cells_planned"] == 10
    assert 1 <= done < 10 and len(results.cells) == done
    found = [(c.function, c.receiver, c.verdict, c.reason) for c in results.cells]
    assert all(c.verdict in ("pass", "error") for c in results.cells), found
    assert (out / "index.html").is_file()


def test_a_run_leaves_no_hypothesis_directory_where_it_is_started(tmp_path: Path) -> None:
    """hypothesis's storage (its Unicode table) goes to the user's cache, not the cwd."""
    started, cache = tmp_path / "here", tmp_path / "cache"
    started.mkdir()
    env = {k: v for k, v in ENV.items() if k != "HYPOTHESIS_STORAGE_DIRECTORY"}
    env["OSM_CONFORMANCE_CACHE"] = str(cache)
    argv = [sys.executable, "-m", "conformance", "run", "--jobs", "1", "--examples", "5"]
    argv += ["--sender", "reference", "--receiver", "mmua", "--function", "sign"]
    argv += ["--no-rejections", "--quiet", "--out", str(tmp_path / "out")]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=started, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert sorted(p.name for p in started.iterdir()) == []
    assert list((cache / "hypothesis").rglob("charmap.json.gz"))


TEST_INERT = """\
import pytest

def test_plugin_loaded_and_idle(pytestconfig: pytest.Config) -> None:
    assert pytestconfig.pluginmanager.has_plugin("osm_conformance")
    assert pytestconfig.pluginmanager.get_plugin("osm-matrix") is None
"""


def test_plugin_is_inert_without_osm_matrix(tmp_path: Path) -> None:
    (tmp_path / "test_other.py").write_text(TEST_INERT, encoding="utf-8")
    argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs", "-W"]
    argv += ["error::pytest.PytestDeprecationWarning", "--pyargs", "test_other.py"]
    argv += ["conformance.matrix.test_matrix"]
    done = subprocess.run(argv, capture_output=True, text=True, env=ENV, cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stdout[-2000:]
    assert "1 passed, 1 skipped" in done.stdout, done.stdout[-2000:]
    assert "the interop matrix runs only with --osm-matrix" in done.stdout
    assert "osm-conformance:" not in done.stdout and not list(tmp_path.rglob("results.json"))


def test_this_session_has_no_matrix(pytestconfig: pytest.Config) -> None:
    assert pytestconfig.pluginmanager.has_plugin("osm_conformance")
    assert pytestconfig.pluginmanager.get_plugin("osm-matrix") is None


def test_plugin_in_a_vendors_ci_with_junit(tmp_path: Path) -> None:
    """What docs/matrix.md tells vendors to run: pytest itself, JUnit out, one case per cell."""
    junit = tmp_path / "junit.xml"
    argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"]
    argv += ["-W", "error::pytest.PytestDeprecationWarning", "-o", "junit_family=xunit1"]
    argv += ["--pyargs", "conformance.matrix.test_matrix", "--osm-matrix"]
    argv += ["--osm-sender", "reference", "--osm-receiver", "reference"]
    argv += ["--osm-function", "sign", "--osm-function", "encrypt", "--osm-examples", "2"]
    argv += ["--osm-seed", "5", "--osm-out", "out", f"--junit-xml={junit}"]
    done = subprocess.run(argv, capture_output=True, text=True, env=ENV, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "2 passed" in done.stdout and "warning" not in done.stdout, done.stdout[-3000:]
    recorded = junit_cells(junit)
    assert sorted(recorded) == [
        "test_cell[reference->reference:encrypt]",
        "test_cell[reference->reference:sign]",
    ]
    assert {d["verdict"] for d in recorded.values()} == {"pass"}
    results = load_results(tmp_path / "out" / "results.json")
    assert results.run.seed == 5 and results.run.complete and len(results.cells) == 2


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_evidence_validator_pages_follow_run_lang(tmp_path: Path, lang: str) -> None:
    out = tmp_path / "out"
    argv = ["run", "--quiet", "--jobs", "1", "--examples", "1", "--no-rejections"]
    argv += ["--function", "sign", "--sender", "reference", "--receiver", "reference"]
    argv += ["--lang", lang, "--out", str(out)]
    assert main(argv) == 0
    pages = list((out / "evidence").rglob("*.checks.html"))
    assert pages
    for page in pages:
        assert f'<html lang="{lang}">' in page.read_text(encoding="utf-8"), page


@pytest.mark.parametrize("what", ["out", "junit-folder", "junit-dir"])
def test_run_refuses_outputs_it_could_not_write_before_any_cell(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], what: str
) -> None:
    """A run must not spend minutes and then lose its results to a path it cannot
    write: `--out` and `--junit-xml` are checked first (usage error, exit 2)."""
    afile = tmp_path / "afile"
    afile.write_text("x")
    out, junit = tmp_path / "out", tmp_path / "junit.xml"
    expected = {
        "out": (afile, junit, f"--out {afile}: exists and is not a directory"),
        "junit-folder": (out, afile / "j.xml", f"--junit-xml's folder {afile}: exists"),
        "junit-dir": (out, tmp_path, f"--junit-xml {tmp_path}: a directory, not a file"),
    }
    out, junit, message = expected[what]
    argv = ["run", "--agent", "reference", "--function", "sign", "--examples", "1"]
    argv += ["--no-rejections", "--quiet", "--out", str(out), "--junit-xml", str(junit)]
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out" / "evidence").exists()  # no cell ran


def test_a_selection_without_a_cell_is_refused_before_pytest_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["run", "--sender", "reference", "--receiver", "openssl", "--agent", "nss"]
    assert main([*argv, "--quiet", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--agent nss: neither a selected sender nor a selected receiver" in err
    assert "pytest" not in err and "ERROR:" not in err
