"""A server of the machine that is there but does not start (slapd, Dovecot, Postfix): a
missing component with a one-line reason (which server, the exit status or errno, the
last lines it said), never a traceback nor a harness error; and the gateways page that
says a hop was not run instead of describing it as started.

The failing servers are stand-in programs the modules are pointed at (their program
path, a module constant), in this process: no system file is touched.
"""

from __future__ import annotations

import signal
import stat
from pathlib import Path

import pytest
from test_report_sample import sample_results

from conformance.cli import main
from conformance.directory import slapd
from conformance.directory.tree import build_tree
from conformance.errors import MissingComponent
from conformance.loopback import LOOPBACK, ServerNotStarted, cannot_run, free_port
from conformance.mail import dovecot, postfix
from conformance.mail.endpoint import Endpoint, HopSettings
from conformance.matrix.cast import Cast
from conformance.pki.model import load_pki
from conformance.profiles import load_profiles
from conformance.report import render_report
from conformance.results import NotObserved

SAID = "fatal: bad configuration at line 3"


def _program(tmp_path: Path, name: str, script: str, *, executable: bool = True) -> Path:
    path = tmp_path / name
    path.write_text(f"#!/bin/sh\n{script}\n", encoding="utf-8")
    path.chmod(stat.S_IRWXU if executable else stat.S_IRUSR | stat.S_IWUSR)
    return path


def _answers_version_then_fails(tmp_path: Path, name: str, version_flag: str) -> Path:
    """Says its version (so `missing()` lets it by), then fails at once when started."""
    return _program(
        tmp_path,
        name,
        f'[ "$1" = "{version_flag}" ] && {{ echo 1.0; exit 0; }}\n'
        f'echo "starting" >&2\necho "{SAID}" >&2\nexit 1',
    )


def _one_line(text: str) -> None:
    assert "\n" not in text and "Traceback" not in text and "File " not in text


# --- the probe ------------------------------------------------------------------------


def test_a_program_that_cannot_say_its_version_cannot_run(tmp_path: Path) -> None:
    fails = _program(tmp_path, "fails", f'echo "{SAID}" >&2; exit 1')
    assert cannot_run(fails, "--version") == f"`{fails} --version` exited with status 1: {SAID}"
    not_executable = _program(tmp_path, "plain", "exit 0", executable=False)
    assert cannot_run(not_executable, "-VV") == (
        f"cannot execute {not_executable}: Permission denied (EACCES)"
    )
    assert cannot_run(_program(tmp_path, "works", "echo 1.0"), "--version") is None


# --- slapd ------------------------------------------------------------------------------

needs_slapd = pytest.mark.skipif(slapd.missing() is not None, reason=slapd.missing() or "")


@needs_slapd
def test_a_slapd_that_cannot_be_executed_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(slapd, "SLAPD", _program(tmp_path, "slapd", "exit 0", executable=False))
    reason = slapd.missing()
    assert reason is not None and "Permission denied (EACCES)" in reason
    with pytest.raises(MissingComponent, match="EACCES"), slapd.serve(build_tree(load_pki())):
        pass


@needs_slapd
def test_a_first_contact_cell_is_not_run_when_slapd_cannot_be_executed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(slapd, "SLAPD", _program(tmp_path, "slapd", "exit 0", executable=False))
    cast = Cast({"reference": load_profiles()["reference"]}, workdir=tmp_path)
    try:
        world = cast.world(directory=True)
    finally:
        cast.close()
    assert world.directory is None
    assert world.directory_missing is not None and "EACCES" in world.directory_missing


@needs_slapd
def test_a_slapd_that_exits_at_once_is_a_one_line_server_not_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(slapd, "SLAPD", _answers_version_then_fails(tmp_path, "slapd", "-VV"))
    with pytest.raises(ServerNotStarted) as raised, slapd.serve(build_tree(load_pki())):
        pass
    assert isinstance(raised.value, MissingComponent) and raised.value.server == "slapd"
    assert str(raised.value) == f"slapd did not start: exited with status 1: starting | {SAID}"


@needs_slapd
def test_a_slapd_that_never_listens_says_where_it_did_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    never = _program(tmp_path, "slapd", '[ "$1" = "-VV" ] && exit 0\nexec sleep 30')
    monkeypatch.setattr(slapd, "SLAPD", never)
    monkeypatch.setattr(slapd, "START_TIMEOUT_S", 1.0)
    port = free_port()
    with pytest.raises(ServerNotStarted) as raised, slapd.serve(build_tree(load_pki()), port=port):
        pass
    assert str(raised.value) == (
        f"slapd did not start: nothing listened on {LOOPBACK}:{port} within 1 s: it said nothing"
    )


@needs_slapd
def test_directory_serve_and_faults_exit_3_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(slapd, "SLAPD", _answers_version_then_fails(tmp_path, "slapd", "-VV"))
    monkeypatch.setattr(signal, "signal", lambda *_: None)  # `serve`'s Ctrl-C handler: not here
    said = f"osm-conformance: error: slapd did not start: exited with status 1: starting | {SAID}"
    for argv in (
        ["directory", "serve", "--port", str(free_port())],
        ["directory", "faults", "--sender", "reference"],
    ):
        assert main(argv) == 3
        err = capsys.readouterr().err.strip()
        _one_line(err)
        assert err == said


# --- Dovecot --------------------------------------------------------------------------

needs_dovecot = pytest.mark.skipif(dovecot.missing() is not None, reason=dovecot.missing() or "")


@needs_dovecot
def test_a_dovecot_that_cannot_say_its_version_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dovecot, "DOVECOT", _program(tmp_path, "dovecot", "exit 1"))
    assert dovecot.missing() == (
        f"IMAP delivery needs a Dovecot that runs: `{tmp_path / 'dovecot'} --version` "
        "exited with status 1"
    )


@needs_dovecot
def test_a_dovecot_that_exits_at_once_is_a_one_line_server_not_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stand_in = _answers_version_then_fails(tmp_path, "dovecot", "--version")
    monkeypatch.setattr(dovecot, "DOVECOT", stand_in)
    server = dovecot.serve({}, tls_cert=tmp_path / "cert", tls_key=tmp_path / "key")
    with pytest.raises(ServerNotStarted) as raised, server:
        pass
    assert raised.value.server == "dovecot"
    assert str(raised.value) == f"dovecot did not start: exited with status 1: starting | {SAID}"


# --- Postfix --------------------------------------------------------------------------

needs_postfix = pytest.mark.skipif(postfix.missing() is not None, reason=postfix.missing() or "")
NEXT_HOP = Endpoint(LOOPBACK, 9, "smtp")


@needs_postfix
def test_a_postfix_start_that_fails_is_a_one_line_server_not_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stand_in = _program(tmp_path, "postfix", f'echo "postfix: {SAID}" >&2; exit 1')
    monkeypatch.setattr(postfix, "POSTFIX", stand_in)
    with pytest.raises(ServerNotStarted) as raised, postfix.postfix_hop(NEXT_HOP, HopSettings()):
        pass
    assert isinstance(raised.value, MissingComponent) and raised.value.server == "postfix"
    assert str(raised.value) == (
        f"postfix did not start: `postfix start` exited with status 1: postfix: {SAID}"
    )


@needs_postfix
def test_a_postfix_that_cannot_be_executed_names_the_errno(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stand_in = _program(tmp_path, "postfix", "exit 0", executable=False)
    monkeypatch.setattr(postfix, "POSTFIX", stand_in)
    with pytest.raises(ServerNotStarted) as raised, postfix.postfix_hop(NEXT_HOP, HopSettings()):
        pass
    assert str(raised.value) == (
        f"postfix did not start: cannot execute {stand_in}: Permission denied (EACCES)"
    )


# --- the gateways page ----------------------------------------------------------------

WHY = "postfix did not start: `postfix start` exited with status 1: it said nothing"


def _not_run_page(tmp_path: Path, hop: str, lang: str) -> str:
    results = sample_results(tmp_path)
    plain = results.cell("docteur-net-cps", "openssl", "sign")
    assert plain is not None
    results.run.settings.update(
        transport="smtp",
        via=[["postfix"]],
        delivery="imap",
        delivery_detail="Dovecot 2.3.19.1",
        hops={
            "postfix": {
                "stands_for": postfix_stands_for("en"),
                "stands_for_fr": postfix_stands_for("fr"),
                "simulated": False,
                "version": None,
            }
        },
    )
    why = NotObserved(kind="hop-missing", hop=hop, detail=WHY)
    results.cells.append(
        plain.model_copy(
            update={
                "via": ["postfix"],
                "transport": "smtp",
                "verdict": "unsupported",
                "observed": False,
                "reason": f"not run: {WHY}",
                "not_observed": why,
            }
        )
    )
    render_report(results, tmp_path, lang=lang)
    return (tmp_path / "gateways.html").read_text("utf-8").replace("&#39;", "'")


def postfix_stands_for(lang: str) -> str:
    from conformance.mail.route import HOP_STANDS_FOR, POSTFIX

    text = HOP_STANDS_FOR[POSTFIX]
    return text.fr if lang == "fr" else text.en


def _hop_item(page: str) -> str:
    start = page.index('<li data-hop="postfix">')
    return page[start : page.index("</li>", start)]


def test_the_gateways_page_says_a_hop_that_did_not_start_was_not_run(tmp_path: Path) -> None:
    item = _hop_item(_not_run_page(tmp_path, "postfix", "fr"))
    assert "non exécuté" in item and f"({WHY})" in item
    assert "démarré" not in item and "logiciel réel" not in item and "version ?" not in item
    english = _hop_item(_not_run_page(tmp_path / "en", "postfix", "en"))
    assert "not run" in english and "started" not in english and "real software" not in english


def test_the_gateways_page_says_a_dovecot_that_did_not_start_delivered_nothing(
    tmp_path: Path,
) -> None:
    page = _not_run_page(tmp_path, "dovecot", "fr")
    start = page.index('class="delivery')
    delivery = page[start : page.index("</dd>", start)]
    assert "non exécuté" in delivery and f"({WHY})" in delivery
    assert "démarré" not in delivery and "2.3.19.1" not in delivery
