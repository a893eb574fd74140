"""The A/B benchmark: the paired statistics, the checks on a checkout, one real pair (no
timing asserted: the figures are whatever this machine gives)."""

from __future__ import annotations

import math
import re
import subprocess
from pathlib import Path

import pytest

from conformance import bench_compare
from conformance.matrix.bench import PINNED_FUNCTIONS

ROOT = Path(__file__).resolve().parents[1]


def test_compare_gives_the_mean_paired_difference_and_its_standard_error() -> None:
    result = bench_compare.compare([110.0, 104.0, 106.0], [100.0, 100.0, 100.0])
    assert result.this_mean == pytest.approx(320 / 3)
    assert result.other_mean == 100.0
    assert result.difference == pytest.approx(20 / 3)
    # differences 10, 4, 6: standard deviation sqrt(28/3), over sqrt(3)
    assert result.standard_error == pytest.approx(math.sqrt(28 / 3) / math.sqrt(3))
    assert result.percent == pytest.approx(20 / 3)
    assert math.isnan(bench_compare.compare([1.0], [2.0]).standard_error)
    with pytest.raises(ValueError):
        bench_compare.compare([1.0], [])


def test_a_directory_that_is_not_a_checkout_is_refused_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bench_compare.main([str(tmp_path), "--pairs", "1", "--seconds", "0"]) == 2
    err = capsys.readouterr().err
    assert str(tmp_path) in err and "not a checkout of osm-conformance" in err


def test_a_checkout_whose_benchmark_fails_is_an_error_not_a_figure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "conformance").mkdir()
    (tmp_path / "conformance" / "__init__.py").write_text("")
    (tmp_path / "conformance" / "bench.py").write_text("raise RuntimeError('broken bench')\n")
    assert bench_compare.main([str(tmp_path), "--pairs", "1", "--seconds", "0"]) == 2
    err = capsys.readouterr().err
    assert "the measurement failed" in err and "broken bench" in err


def test_this_checkout_against_itself_runs_both_sides_in_alternation(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert bench_compare.main([str(ROOT), "--pairs", "2", "--seconds", "0"]) == 0
    out = capsys.readouterr().out
    assert "pair 1:" in out and "(this first)" in out
    assert "pair 2:" in out and "(other first)" in out
    rates = [float(x) for x in re.findall(r"(?:this|other) +([0-9.]+),?", out.split("\n", 3)[3])]
    assert len(rates) >= 4 and all(rate > 0 for rate in rates)
    assert re.search(r"this - other: [+-][0-9.]+ exchanges/s \([+-][0-9.]+ % ± [0-9.]+ %", out)


def test_a_child_that_imported_another_copy_of_the_suite_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A stand-in checkout whose package says it lives elsewhere, as a copy found
    # first on the path would: its measurement completes, and is refused.
    package = tmp_path / "conformance"
    (package / "pki").mkdir(parents=True)
    (package / "__init__.py").write_text("__file__ = '/elsewhere/conformance/__init__.py'\n")
    (package / "pki" / "__init__.py").write_text("")
    (package / "pki" / "model.py").write_text(
        "import types\ndef load_pki():\n    return types.SimpleNamespace(identities={None: None})\n"
    )
    (package / "bench.py").write_text(
        "import types\n"
        "SENDER = RECEIVER = None\n"
        "def _software_keys(pki): return None, None\n"
        "def letter(size): return b''\n"
        "def Exchange(*args): return None\n"
        "def measure(exchange, seconds):\n"
        "    return types.SimpleNamespace(count=3, build=0.5, read=0.5)\n"
    )
    assert bench_compare.main([str(tmp_path), "--pairs", "1", "--seconds", "0"]) == 2
    err = capsys.readouterr().err
    assert "imported another copy of the suite (/elsewhere/conformance" in err


def test_a_checkout_is_named_by_its_commit_and_says_when_it_was_changed(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    bench = repo / "conformance" / "bench.py"
    bench.parent.mkdir(parents=True)
    bench.write_text("# one\n")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "one"], check=True)
    head = subprocess.run(
        [*git, "rev-parse", "--short", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    assert bench_compare.checkout(repo).label == head
    bench.write_text("# two\n")
    assert bench_compare.checkout(repo).label == f"{head} with uncommitted changes"
    plain = tmp_path / "plain"
    (plain / "conformance").mkdir(parents=True)
    (plain / "conformance" / "bench.py").write_text("")
    assert bench_compare.checkout(plain).label == "not a git checkout"


def test_one_pair_says_it_has_no_error_estimate(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_compare.main([str(ROOT), "--pairs", "1", "--seconds", "0"]) == 0
    out = capsys.readouterr().out
    assert "one pair: no error estimate" in out and "standard error" not in out


def test_the_matrix_selection_is_the_default_one_unless_one_is_given() -> None:
    args = bench_compare._parser().parse_args(["x", "--matrix"])
    default = bench_compare.matrix_selection(args)
    assert default[:4] == ["--examples", "25", "--seed", "2008"]
    assert default.count("--function") == len(PINNED_FUNCTIONS)
    for agent in bench_compare.MATRIX_AGENTS:
        assert default.count(agent) == 2  # as sender and as receiver
    args = bench_compare._parser().parse_args(
        ["x", "--matrix", "--sender", "smm", "--function", "sign", "--examples", "3"]
    )
    # A sender alone: every receiver, as `run --sender` means.
    assert bench_compare.matrix_selection(args) == [
        "--examples", "3", "--seed", "2008", "--function", "sign", "--sender", "smm",
    ]  # fmt: skip


def test_a_matrix_pair_runs_the_selection_in_both_and_compares_the_verdicts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    selection = ["--sender", "reference", "--receiver", "mmua", "--function", "sign"]
    argv = [str(ROOT), "--matrix", "--pairs", "1", "--examples", "2", *selection]
    assert bench_compare.main(argv) == 0
    out = capsys.readouterr().out
    assert "CPU ms per exchange of `run --examples 2 --seed 2008 --function sign" in out
    figures = re.search(r"pair 1: this +([0-9.]+), other +([0-9.]+)", out)
    assert figures is not None and all(float(x) > 0 for x in figures.groups())
    assert "ms per exchange (lower is faster)" in out
    assert "verdicts: the same in both checkouts" in out


def test_a_matrix_run_that_fails_is_an_error_naming_the_checkout(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = [str(ROOT), "--matrix", "--pairs", "1", "--sender", "no-such-agent"]
    assert bench_compare.main(argv) == 2
    err = capsys.readouterr().err
    assert f"{ROOT}: the run failed (exit code 2)" in err and "no-such-agent" in err


def test_checkouts_whose_engines_ran_differently_are_not_compared(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A checkout without the built NSS harness runs cmsutil as a process per call: its
    # figure would measure that, not the code.
    def run(where: bench_compare.Checkout, selection: object) -> bench_compare.MatrixRun:
        built = "cmsutil, gpgsm" if where.path == ROOT else "gpgsm"
        return bench_compare.MatrixRun(5.0, (), f"harness mode, harnesses built: {built}")

    other = ROOT / "tests"  # any checkout: `checkout` only looks for conformance/bench.py
    monkeypatch.setattr(bench_compare, "checkout", lambda path: bench_compare.Checkout(path, "x"))
    monkeypatch.setattr(bench_compare, "matrix_run", run)
    assert bench_compare.main([str(other), "--matrix", "--pairs", "2"]) == 2
    err = capsys.readouterr().err
    assert "the checkouts ran the real engines differently" in err
    assert "this: harness mode, harnesses built: cmsutil, gpgsm; other: harness mode" in err
