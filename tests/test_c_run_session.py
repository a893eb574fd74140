"""`run`'s pytest session: a selection that leaves the rejection matrix no cell is a
complete run, and the session loads only the plugins it names, not every pytest plugin
installed where it runs."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from conformance.cli import main
from conformance.results import load_results

ENV = {**os.environ, "OSM_CONFORMANCE_TOKEN": "software"}


@pytest.fixture(autouse=True)
def _software_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OSM_CONFORMANCE_TOKEN", "software")


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_an_agent_that_is_no_selected_receiver_has_no_rejection_cell(
    tmp_path: Path, jobs: str
) -> None:
    """`--agent smm --receiver reference`: smm's row only, and no rejection cell (smm
    receives nothing here): 0 planned, the run complete (it was "interrupted", exit 130,
    one planned cell never done: pytest's item of an empty parameter set)."""
    out, junit = tmp_path / "out", tmp_path / "cells.xml"
    argv = ["run", "--quiet", "--jobs", jobs, "--agent", "smm", "--receiver", "reference"]
    argv += ["--function", "sign", "--examples", "1", "--out", str(out)]
    assert main([*argv, "--junit-xml", str(junit)]) == 0
    results = load_results(out / "results.json")
    settings = results.run.settings
    assert results.run.complete and settings["cells_planned"] == settings["cells_done"] == 1
    assert settings["rejections"] is True  # asked for, not --no-rejections
    assert settings["rejection_cells_planned"] == settings["rejection_cells_done"] == 0
    assert results.rejections is not None and results.rejections.cells == []
    names = [case.get("name") for case in ET.parse(junit).getroot().iter("testcase")]
    assert names == ["test_cell[smm->reference:sign]"]  # no placeholder case


def test_the_session_names_its_plugins_and_loads_no_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The session's argv and environment; the caller's environment is left as it was."""
    seen: dict[str, Any] = {}

    def fake_main(argv: list[str], plugins: list[object]) -> int:
        seen["argv"] = argv
        seen["env"] = {
            k: os.environ.get(k)
            for k in ("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "PYTEST_PLUGINS", "PYTEST_ADDOPTS")
        }
        return 0

    monkeypatch.setattr(pytest, "main", fake_main)
    monkeypatch.setenv("PYTEST_ADDOPTS", "-x")
    monkeypatch.setenv("PYTEST_PLUGINS", "some_vendor_plugin")
    monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    argv = ["run", "--quiet", "--jobs", "2", "--sender", "reference", "--receiver", "reference"]
    main([*argv, "--function", "sign", "--out", str(tmp_path / "out")])  # 2: no results.json
    pairs = list(zip(seen["argv"], seen["argv"][1:], strict=False))
    assert ("-p", "conformance.pytest_plugin") in pairs and ("-p", "xdist.plugin") in pairs
    assert seen["env"] == {
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        "PYTEST_PLUGINS": None,
        "PYTEST_ADDOPTS": None,
    }
    assert os.environ["PYTEST_ADDOPTS"] == "-x"
    assert os.environ["PYTEST_PLUGINS"] == "some_vendor_plugin"
    assert "PYTEST_DISABLE_PLUGIN_AUTOLOAD" not in os.environ


PROBE = """\
import os
from pathlib import Path

Path(os.environ["OSM_PROBE_DIR"], f"loaded-{os.getpid()}").write_text("")
"""


def probe_plugin(site: Path) -> None:
    """A pytest plugin installed as any is (a pytest11 entry point), which says it was
    loaded by leaving a file, as pytest-benchmark leaves .benchmarks/."""
    site.mkdir()
    (site / "osm_probe.py").write_text(PROBE, encoding="utf-8")
    info = site / "osm_probe-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: osm-probe\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[pytest11]\nosm_probe = osm_probe\n")


def test_run_loads_no_installed_pytest_plugin_its_workers_neither(tmp_path: Path) -> None:
    site, marks, here = tmp_path / "site", tmp_path / "marks", tmp_path / "here"
    probe_plugin(site)
    marks.mkdir()
    here.mkdir()
    env = {**ENV, "OSM_PROBE_DIR": str(marks)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))
    # The probe works: pytest itself loads it.
    listed = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--co", "-q"]
    subprocess.run(listed, capture_output=True, env=env, cwd=here, timeout=120)
    assert list(marks.iterdir())
    for mark in marks.iterdir():
        mark.unlink()

    out, junit = tmp_path / "out", tmp_path / "cells.xml"
    argv = [sys.executable, "-m", "conformance", "run", "--jobs", "2", "--examples", "1"]
    argv += ["--sender", "reference", "--receiver", "reference", "--function", "sign"]
    argv += ["--out", str(out), "--junit-xml", str(junit)]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=here, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert list(marks.iterdir()) == []  # neither the session nor its two workers
    assert list(here.iterdir()) == []
    assert "Warning" not in done.stderr, done.stderr[-2000:]
    assert "cells 1/1" in done.stderr  # the progress line, under pytest-xdist
    cases = list(ET.parse(junit).getroot().iter("testcase"))
    assert len(cases) == 1 + 9  # the cell, the reference's nine rejection cells
    assert load_results(out / "results.json").run.complete
