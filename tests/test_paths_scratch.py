"""Working folders in memory (tmpfs) carry their process id, and a later process removes
those of processes that are gone: a killed run no longer leaves its files in RAM."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from conformance import paths


def _dead_pid() -> int:
    pid = 4_000_000  # above the usual pid_max, then downwards until none runs there
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            pass
        pid -= 1


def test_the_folders_of_a_gone_process_are_removed_once(tmp_path: Path) -> None:
    mine = Path(tempfile.mkdtemp(prefix=paths.scratch_prefix("openssl"), dir=tmp_path))
    assert re.fullmatch(rf"osm-openssl-{os.getpid()}-[a-z0-9_]{{8}}", mine.name)
    gone = tmp_path / f"osm-go-pkcs7-{_dead_pid()}-abcd_123"
    (gone / "gpgsm").mkdir(parents=True)
    (gone / "gpgsm" / "00001-in.p7m").write_bytes(b"x")
    other = tmp_path / "proc-main-1-x"  # SoftHSM's, swept by its own rule
    other.mkdir()
    paths._remove_stale_scratch(tmp_path)
    assert not gone.exists()
    assert mine.is_dir() and other.is_dir()
    gone.mkdir()
    paths._remove_stale_scratch(tmp_path)  # once per process: the next process sweeps it
    assert gone.is_dir()
