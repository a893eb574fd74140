"""Imaging-size messages (`run --large-attachment`, `bench_large`): a size the run cannot
carry or the temporary folder cannot hold is a usage error before anything is written; a
SIGTERM removes the bench's folder; a gate that cannot be evaluated is refused, one answered
in part says so; `run.examples` records the one example run."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import namedtuple
from pathlib import Path

import pytest
from process_support import alive, descendants

from conformance import bench_large
from conformance.cli import main
from conformance.core.vocabulary import FUNCTIONS
from conformance.matrix.gates import partly, report
from conformance.matrix.spec import DEFAULT_EXAMPLES, LARGE_DISK_FACTOR, MatrixSpec
from conformance.paths import REPO_DIR
from conformance.results import Results, RunInfo
from conformance.scenarios.large import large_entity_size, largest_attachment, write_large_entity
from conformance.smime.options import REFERENCE_MAX_BYTES

_Usage = namedtuple("_Usage", "total used free")
SELECTION = ["--sender", "reference", "--receiver", "reference", "--function", "sign-encrypt"]


def _free(monkeypatch: pytest.MonkeyPatch, free: int) -> None:
    """The temporary folder's free space as `free` bytes, in this process."""
    monkeypatch.setattr(shutil, "disk_usage", lambda path: _Usage(free * 2, free, free))


@pytest.fixture
def no_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """`run`'s session (pytest.main, as conformance.matrix.cli calls it) raises: a refusal
    that stopped firing fails the test, instead of starting a run of imaging size."""

    def started(argv: list[str], plugins: list[object]) -> int:
        raise AssertionError("the run started")

    monkeypatch.setattr(pytest, "main", started)


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("size", [1000, 1001, 57 * 4 * 1024 + 7, 3_000_001])
@pytest.mark.parametrize("function", ["sign-encrypt", "attachments", "hprim-net"])
def test_the_entity_size_is_known_without_writing_it(function: str, size: int) -> None:
    written = write_large_entity(function, size, io.BytesIO())  # type: ignore[arg-type]
    assert large_entity_size(function, size) == written.size  # type: ignore[arg-type]


def test_the_largest_attachment_is_the_built_in_senders_content_limit() -> None:
    largest = largest_attachment(FUNCTIONS)
    sizes = [large_entity_size(f, largest) for f in FUNCTIONS]
    assert max(sizes) <= REFERENCE_MAX_BYTES
    assert max(large_entity_size(f, largest + 1) for f in FUNCTIONS) > REFERENCE_MAX_BYTES


@pytest.mark.parametrize("size", ["99999999999999999999999", "1G", "just over"])
@pytest.mark.usefixtures("no_run")
def test_run_refuses_a_size_over_what_the_sender_takes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], size: str
) -> None:
    largest = largest_attachment(["sign-encrypt"])  # computed: a stale figure runs for real
    if size == "just over":
        size = str(largest + 1)
    out = tmp_path / "out"
    assert main(["run", "--large-attachment", size, *SELECTION, "--out", str(out)]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "the largest attachment the built-in sender takes (sending for reference; " in line
    assert f"over {largest} bytes ({largest // 1024**2}M)" in line
    assert f"{REFERENCE_MAX_BYTES} bytes" in line
    assert not out.exists()  # refused before any cell


@pytest.mark.usefixtures("no_run")
def test_run_refuses_a_size_the_temporary_folder_cannot_hold(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    size = 100 * 1024 * 1024
    _free(monkeypatch, 2 * LARGE_DISK_FACTOR * size - 1)  # room for 2 cells at a time, less 1
    out = tmp_path / "out"
    two_cells = [*SELECTION, "--sender", "openssl", "--out", str(out)]
    assert main(["run", "--large-attachment", "100M", "-j", "2", *two_cells]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "--large-attachment 104857600: 2 cell(s) at a time" in line
    assert "the temporary folder" in line and "TMPDIR" in line
    assert not out.exists()
    # One cell at a time, or room for two: accepted (checked, not run).
    spec = MatrixSpec(
        senders=("reference", "openssl"),
        receivers=("reference",),
        functions=("sign-encrypt",),
        large_attachment=size,
    )
    spec.check(workers=1)
    _free(monkeypatch, 2 * LARGE_DISK_FACTOR * size)
    spec.check(workers=2)


@pytest.mark.usefixtures("no_run")
def test_examples_with_a_large_attachment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    argv = ["run", "--large-attachment", "1M", "--examples", "5", *SELECTION]
    assert main([*argv, "--out", str(out)]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert line.endswith("--examples 5: --large-attachment runs one example per cell "
                         "(leave --examples out)")  # fmt: skip
    assert not out.exists()
    # Not given: one example with a large attachment (run.examples records it), else 25.
    assert MatrixSpec(large_attachment=1 << 20).examples == 1
    assert MatrixSpec(examples_given=1, large_attachment=1 << 20).examples == 1
    assert MatrixSpec().examples == DEFAULT_EXAMPLES
    assert MatrixSpec(examples_given=5).examples == 5


@pytest.mark.usefixtures("no_run")
def test_the_non_conformant_gate_is_refused_with_a_large_attachment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    argv = ["run", "--large-attachment", "1M", "--fail-on", "non-conformant,finding"]
    assert main([*argv, *SELECTION, "--out", str(out)]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "--fail-on non-conformant: cannot be evaluated with --large-attachment" in line
    assert "no validator" in line
    assert not out.exists()


def test_a_gate_answered_in_part_says_so() -> None:
    started = "2026-12-04T00:00:00+00:00"
    run = RunInfo(seed=1, examples=1, started=started, complete=True, suite_version="t")
    without = Results(run=run, agents=[], cells=[], pairs=[])  # no rejection matrix
    text, failed = report([], ["finding", "regression"], partly(without, without))
    assert not failed
    assert "finding: ok: 0 item(s), 0 waived (interop cells only: this run has no rejection" in text
    assert "regression: ok: 0 item(s), 0 waived (interop cells only" in text
    assert report([], ["finding"])[0].endswith("finding: ok: 0 item(s), 0 waived")


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_a_large_run_records_its_example_and_its_gates_scope(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The tester's run, less --examples and non-conformant: what ran is what is said."""
    out = tmp_path / "out"
    argv = ["run", "-q", "-j", "1", "--large-attachment", "1M", "--fail-on", "finding"]
    argv += ["--sender", "openssl", "--receiver", "reference", "--function", "sign-encrypt"]
    assert main([*argv, "--out", str(out)]) in (0, 4)
    printed = capsys.readouterr().out
    assert "(interop cells only: this run has no rejection matrix)" in printed
    data = json.loads((out / "results.json").read_text("utf-8"))
    assert data["run"]["examples"] == 1
    note = (out / "evidence/openssl/reference/sign-encrypt/large.txt").read_text("utf-8")
    assert "openssl takes the content whole: held in memory several times over" in note
    assert "once" not in note


def test_the_docs_give_the_limits_the_code_applies() -> None:
    text = (REPO_DIR / "docs" / "matrix.md").read_text("utf-8")
    largest = largest_attachment(FUNCTIONS)
    assert f"at most {largest:,} bytes (`{largest // 1024**2}M`)" in text
    assert f"writes up to {LARGE_DISK_FACTOR} times the attachment" in text
    assert "(a 143 MB content, a 196 MB message)" in text  # large.sent.eml: 196,364,761 bytes


# --- bench_large -----------------------------------------------------------------------------


def _no_bench(size: int) -> list[bench_large.Step]:
    raise AssertionError("the bench ran")


@pytest.mark.parametrize("size", ["99999999999999999999999", "1G"])
def test_the_bench_refuses_a_size_the_sender_cannot_take(
    size: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench_large, "bench", _no_bench)
    assert bench_large.main([f"--size={size}"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert line.startswith(f"bench_large: --size {int(size) if size.isdigit() else 1 << 30}: ")


def test_the_bench_refuses_a_size_the_temporary_folder_cannot_hold(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench_large, "bench", _no_bench)
    size = 200 * 1024 * 1024
    _free(monkeypatch, bench_large.DISK_FACTOR * size - 1)
    assert bench_large.main(["--size", "200M"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert line.startswith(f"bench_large: --size {size}: the bench keeps up to ")
    assert "the temporary folder" in line


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_sigterm_stops_the_bench_and_removes_its_folder(tmp_path: Path) -> None:
    """Terminated while `agent reference send` writes the message: the tool is stopped with
    the bench (nothing left writing into the removed folder), the folder removed, exit 143."""
    bench = subprocess.Popen(
        [sys.executable, "-m", "conformance.bench_large", "--size", "40M"],
        env={**os.environ, "TMPDIR": str(tmp_path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not list(tmp_path.glob("osm-bench-large-*/message")):
            assert bench.poll() is None, bench.communicate()
            assert time.monotonic() < deadline, "the bench did not start sending"
            time.sleep(0.05)
        below = descendants(bench.pid)
        assert below, "no tool running"
        bench.send_signal(signal.SIGTERM)
        _, err = bench.communicate(timeout=60)
    finally:
        if bench.poll() is None:
            os.killpg(bench.pid, signal.SIGKILL)
            bench.wait()
    assert bench.returncode == 143, err
    assert err.strip().splitlines()[-1] == "bench_large: terminated"
    assert not list(tmp_path.glob("osm-bench-large-*"))
    time.sleep(0.2)  # the orphaned tool reaped
    assert not [p for p in below if alive(p)]


class _Config:
    """What _workers reads of a pytest config: xdist's -n (a number once read), or a
    worker's input."""

    def __init__(self, numprocesses: object = None, workerinput: object = None) -> None:
        self.numprocesses = numprocesses
        if workerinput is not None:
            self.workerinput = workerinput

    def getoption(self, name: str, default: object = None) -> object:
        return self.numprocesses if name == "numprocesses" else default


@pytest.mark.parametrize(
    ("config", "workers"),
    [
        (_Config(), 1),
        (_Config(numprocesses=3), 3),
        (_Config(numprocesses=0), 1),  # -n 0: no worker, the session runs the cells
        (_Config(workerinput={"workercount": 2}), 2),
    ],
)
def test_the_plugin_checks_the_room_for_the_cells_its_workers_run_at_once(
    config: _Config, workers: int
) -> None:
    """Under the pytest plugin too, the disk check counts the cells run at a time (it
    assumed one whatever -n said)."""
    from conformance.pytest_plugin import _workers

    assert _workers(config) == workers  # type: ignore[arg-type]


@pytest.mark.parametrize("size", [145, 1000, 250_001])
def test_the_series_is_the_size_asked(size: int) -> None:
    """The DICOM-like series of `--large-attachment N` is N bytes, its head included (it
    was 4 bytes longer: the head counted as 140 bytes, written as 144)."""
    from conformance.scenarios.large import series_chunks

    assert sum(len(chunk) for chunk in series_chunks(size)) == size
