"""Every command that draws examples with hypothesis keeps its storage (the Unicode
table) in the user's cache, as `run` does: `adapter check` too."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conformance.paths import REPO_DIR

FICTIMAIL = REPO_DIR / "examples" / "adapters" / "fictimail.py"


def test_adapter_check_leaves_no_hypothesis_directory_where_it_is_started(
    tmp_path: Path,
) -> None:
    started, cache = tmp_path / "here", tmp_path / "cache"
    started.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "HYPOTHESIS_STORAGE_DIRECTORY"}
    env |= {"OSM_CONFORMANCE_CACHE": str(cache), "OSM_CONFORMANCE_TOKEN": "software"}
    argv = [sys.executable, "-m", "conformance", "adapter", "check", "--function", "sign"]
    # Five examples: enough for the generated ones to draw text (hypothesis's Unicode table).
    argv += ["--examples", "5", "--no-rejections", "--", "python3", str(FICTIMAIL)]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=started, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert sorted(p.name for p in started.iterdir()) == []
    assert list((cache / "hypothesis").rglob("charmap.json.gz"))
