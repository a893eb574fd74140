"""A slapd interrupted while it starts is stopped before its folder is removed.

A SIGTERM to a command (conformance.signals: it unwinds as Ctrl-C does) can land while
`slapd.serve` waits for slapd to listen. The wait raised, the folder was removed while
slapd still ran and wrote in it, and the folder was left (seen once in a full `-n 2`
run of tests/test_signals.py).
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from conformance.directory import slapd
from conformance.directory.tree import build_tree
from conformance.pki.model import load_pki

MISSING = slapd.missing()


@pytest.mark.skipif(MISSING is not None, reason=MISSING or "")
def test_an_interrupted_start_stops_slapd_before_its_folder_goes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started: list[subprocess.Popen[bytes]] = []

    def interrupted(process: subprocess.Popen[bytes], *args: Any, **kwargs: Any) -> None:
        started.append(process)
        raise KeyboardInterrupt  # what a SIGTERM unwinds as, here while slapd starts

    monkeypatch.setattr(slapd, "wait_listening", interrupted)
    with pytest.raises(KeyboardInterrupt), slapd.serve(build_tree(load_pki())):
        pass
    (process,) = started
    assert process.poll() is not None, "slapd outlived the interrupted start"
    argv = [str(a) for a in process.args]  # type: ignore[union-attr]
    config = Path(argv[argv.index("-f") + 1])
    assert not config.parent.exists(), "slapd's folder is left"
