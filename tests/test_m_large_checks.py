"""The large-attachment checks answer alike under `run` and the pytest plugin: another
number of examples is refused by both (the plugin ran one and recorded it, silently); the
built-in sender's limit applies only when a selected sender sends through the built-in
engine; `--fail-on contradiction` says it read no sent message; the bench titles a run by
every option that made it differ from the default one."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import namedtuple
from pathlib import Path

import pytest

from conformance.agents.tools import ENGINE_MODE_ENV, engine_mode
from conformance.cli import main
from conformance.errors import UserError
from conformance.matrix import cli as run_cli
from conformance.matrix.gates import partly, report
from conformance.matrix.spec import DEFAULT_EXAMPLES, MatrixSpec
from conformance.results import Results, RunInfo
from conformance.scenarios.large import largest_attachment

_Usage = namedtuple("_Usage", "total used free")
OPENSSL = ["--sender", "openssl", "--receiver", "openssl", "--function", "sign-encrypt"]


class _Started(Exception):
    """`run` got past its checks: its session would have started, with this argv."""

    def __init__(self, argv: list[str]) -> None:
        super().__init__("the run started")
        self.argv = argv


@pytest.fixture
def no_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """`run` checks, then stops where its session (pytest.main) would start; the room on
    disk is plenty, and the environment `run` sets is restored."""

    def started(argv: list[str], plugins: list[object]) -> int:
        raise _Started(argv)

    monkeypatch.setattr(pytest, "main", started)
    monkeypatch.setattr(shutil, "disk_usage", lambda path: _Usage(1 << 60, 0, 1 << 60))
    monkeypatch.setattr(run_cli, "hypothesis_in_cache", lambda: None)
    monkeypatch.setenv(ENGINE_MODE_ENV, engine_mode())


# --- --examples with a large attachment: one check, `run` and the plugin --------------------


def test_the_plugin_refuses_examples_with_a_large_attachment(tmp_path: Path) -> None:
    """`--osm-examples=5 --osm-large-attachment=1M` ran one example and recorded it as run,
    where `run --examples 5 --large-attachment 1M` exits 2 (a listing: nothing would run)."""
    argv = ["--pyargs", "conformance.matrix.test_matrix", "--osm-matrix", "--collect-only"]
    argv += ["--osm-sender", "reference", "--osm-receiver", "reference"]
    argv += ["--osm-function", "sign", "--osm-examples=5", "--osm-large-attachment=1M"]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *argv],
        capture_output=True,
        text=True,
        env={**os.environ, "OSM_CONFORMANCE_TOKEN": "software"},
        cwd=tmp_path,
        timeout=120,
    )
    output = done.stdout + done.stderr
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, output[-3000:]
    said = "--osm-examples 5: --osm-large-attachment runs one example per cell (leave "
    assert said + "--osm-examples out)" in output, output[-3000:]
    assert "Traceback" not in output


@pytest.mark.parametrize(("given", "refused"), [(None, False), (1, False), (5, True), (0, True)])
def test_the_spec_refuses_examples_other_than_one(given: int | None, refused: bool) -> None:
    spec = MatrixSpec(
        senders=("reference",),
        receivers=("reference",),
        functions=("sign",),
        examples_given=given,
        large_attachment=1 << 20,
    )
    if refused:
        with pytest.raises(UserError, match=f"^--osm-examples {given}: --osm-large-attachment"):
            spec.check("--osm-")
    else:
        spec.check("--osm-")
        assert spec.examples == 1
    assert MatrixSpec(examples_given=given).examples == (
        DEFAULT_EXAMPLES if given is None else given
    )


def test_run_gives_the_plugin_examples_only_when_given(no_run: None, tmp_path: Path) -> None:
    """Not given, the plugin's default (None: the spec's) applies: one with a large attachment."""
    argv = ["run", "--large-attachment", "1M", "--sender", "reference", "--receiver", "reference"]
    with pytest.raises(_Started) as started:
        main([*argv, "--out", str(tmp_path / "out")])
    assert not [a for a in started.value.argv if a.startswith("--osm-examples")]
    with pytest.raises(_Started) as started:
        main(["run", "--examples", "3", "--sender", "reference", "--out", str(tmp_path / "o")])
    assert "--osm-examples=3" in started.value.argv


def test_run_help_says_examples_other_than_one(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "or with --examples other than 1 or --fail-on non-conformant" in text


# --- the built-in sender's limit: only for a sender that sends through it -------------------


def test_a_real_engine_sender_is_not_refused_the_built_in_limit(
    no_run: None, tmp_path: Path
) -> None:
    """openssl to openssl: no built-in agent sends, openssl takes the content whole; 760M
    was refused as over "the largest attachment the built-in sender takes"."""
    size = largest_attachment(["sign-encrypt"]) + 1
    with pytest.raises(_Started) as started:
        main(["run", "--large-attachment", str(size), *OPENSSL, "--out", str(tmp_path / "o")])
    assert f"--osm-large-attachment={size}" in started.value.argv


def test_a_built_in_sender_in_the_selection_is_named(
    no_run: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    size = largest_attachment(["sign-encrypt"]) + 1
    argv = ["run", "--large-attachment", str(size), *OPENSSL, "--sender", "reference"]
    assert main([*argv, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert "the largest attachment the built-in sender takes (sending for reference; " in err
    assert "openssl" not in err


def test_the_apicrypt_model_sends_through_the_built_in_engine() -> None:
    spec = MatrixSpec(
        senders=("apimail-apicrypt",),
        receivers=("reference",),
        functions=("sign",),
        large_attachment=largest_attachment(["sign"]) + 1,
    )
    with pytest.raises(UserError, match="sending for apimail-apicrypt; "):
        spec.check()


@pytest.mark.usefixtures("no_run")  # its own disk_usage, patched after, is what counts
def test_a_size_no_agent_limits_is_still_bounded_by_the_temporary_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "disk_usage", lambda path: _Usage(1 << 40, 0, 1 << 40))
    argv = ["run", "--large-attachment", "99999999999999999999999", *OPENSSL]
    assert main([*argv, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert "the temporary folder" in err and "built-in" not in err


# --- --fail-on contradiction with a large attachment -----------------------------------------


def _results(**settings: object) -> Results:
    started = "2026-12-04T00:00:00+00:00"
    run = RunInfo(
        seed=1, examples=1, started=started, complete=True, suite_version="t", settings=settings
    )
    return Results(run=run, agents=[], cells=[], pairs=[])


def test_the_contradiction_gate_says_it_read_no_sent_message() -> None:
    large = _results(large_attachment=1 << 20)
    text, failed = report([], ["contradiction"], partly(large))
    assert not failed
    assert text.endswith("contradiction: ok: 0 item(s), 0 waived (claims only: no sent message "
                         "is read)")  # fmt: skip
    plain = _results(large_attachment=None)
    assert "contradiction" not in partly(plain)
    assert "contradiction" not in partly(_results())  # a results.json written before it
