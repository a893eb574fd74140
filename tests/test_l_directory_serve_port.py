"""`directory serve --port N`: a port taken between the command's check and slapd's bind
is the port chosen at fault (exit 2, as a port already in use, and as `serve
--imap-port`), while a slapd that cannot run at all stays missing (exit 3)."""

from __future__ import annotations

import signal
import socket
import stat
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.directory import slapd
from conformance.loopback import LOOPBACK, free_port

needs_slapd = pytest.mark.skipif(slapd.missing() is not None, reason=slapd.missing() or "")


@pytest.fixture(autouse=True)
def _no_handlers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(signal, "signal", lambda *_: None)  # `serve`'s Ctrl-C handler: not here


@needs_slapd
def test_a_port_taken_as_slapd_starts_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The check saw the port free; another program has it by the time slapd binds (bound,
    # not listening: nothing answers the probe in slapd's place).
    monkeypatch.setattr(slapd, "port_in_use", lambda *_: False)
    with socket.socket() as taken:
        taken.bind((LOOPBACK, 0))
        port = taken.getsockname()[1]
        assert main(["directory", "serve", "--port", str(port)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    assert err.startswith(
        f"osm-conformance: error: directory serve: {LOOPBACK}:{port} is already in use "
        "(slapd did not start: exited with status "
    )


@needs_slapd
def test_a_slapd_that_fails_on_a_free_port_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "slapd"
    broken.write_text('#!/bin/sh\n[ "$1" = "-VV" ] && exit 0\necho "bad config" >&2\nexit 1\n')
    broken.chmod(stat.S_IRWXU)
    monkeypatch.setattr(slapd, "SLAPD", broken)
    assert main(["directory", "serve", "--port", str(free_port())]) == 3
    assert capsys.readouterr().err.strip() == (
        "osm-conformance: error: slapd did not start: exited with status 1: bad config"
    )
