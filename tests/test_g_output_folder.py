"""An --out folder that exists but that the user cannot write into is a usage error before
any work (report, choose, run), not a PermissionError traceback once the work is done."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.paths import REPO_DIR
from conformance.results import Results, RunInfo

# Root writes anywhere: the commands run as `nobody` to meet a folder they cannot write.
AS_NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


@pytest.fixture
def shared() -> Iterator[Path]:
    """A folder `nobody` can enter (pytest's tmp_path is root's alone), with a results.json
    and a read-only `rodir`."""
    folder = Path(tempfile.mkdtemp(prefix="osm-g-out-"))
    folder.chmod(0o755)
    run = RunInfo(seed=0, examples=1, started="", complete=True, suite_version="0")
    Results(run=run, agents=[], cells=[], pairs=[]).dump(folder / "results.json")
    (folder / "results.json").chmod(0o644)
    (folder / "rodir").mkdir(mode=0o555)
    (folder / "rodir").chmod(0o555)
    yield folder
    (folder / "rodir").chmod(0o755)
    shutil.rmtree(folder)


def _as_another_user(folder: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    if os.geteuid() != 0:
        prefix: list[str] = []
    elif shutil.which("setpriv") is None:
        pytest.skip("root without setpriv: every folder is writable")
    else:
        prefix = AS_NOBODY
    env = {**os.environ, "HOME": str(folder), "OSM_CONFORMANCE_CACHE": str(folder / "cache")}
    return subprocess.run(
        [*prefix, sys.executable, "-m", "conformance", *argv],
        capture_output=True, text=True, timeout=300, check=False, cwd=folder, env=env,
    )  # fmt: skip


COMMANDS = {
    "report": ["report", "results.json"],
    "choose": ["choose", str(REPO_DIR / "examples" / "practice" / "hellodoc.yaml"),
               "--results", "results.json"],
    "run": ["run", "--sender", "reference", "--receiver", "reference", "--function", "sign",
            "--examples", "1", "--no-rejections"],
}  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
def test_an_out_folder_without_write_access_is_a_usage_error(
    shared: Path, command: list[str]
) -> None:
    rodir = shared / "rodir"
    done = _as_another_user(shared, *command, "--out", str(rodir))
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (
        f"osm-conformance: error: --out {rodir}: cannot write into it (permission denied)"
    )
    assert list(rodir.iterdir()) == []
