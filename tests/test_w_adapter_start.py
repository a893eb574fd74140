"""`run` refuses, before any cell, a selected adapter whose engine.argv cannot start: its
program not found (not on PATH, no such file), or the script an interpreter is given
(`python3 adapters/x.py`) not there, relative paths being taken from the directory the
suite runs in. Exit 2, naming the profile file, engine.argv and the path as resolved.

Before, every cell of the adapter ran and was a harness error (`internal: adapter exited
2 and wrote no status`), exit 1, after the whole matrix (14 s for two examples)."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.errors import UserError
from conformance.matrix.spec import MatrixSpec
from conformance.paths import REPO_DIR

SHIPPED_ARGV = "argv: [python3, examples/adapters/fictimail.py]"


@pytest.fixture(autouse=True)
def _here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # where relative paths of engine.argv are taken from
    monkeypatch.setenv("OSM_CONFORMANCE_TOKEN", "software")
    (tmp_path / "adapters").mkdir()
    (tmp_path / "adapters" / "present.py").write_text("print('hello')\n", "utf-8")
    run = tmp_path / "adapters" / "run.sh"
    run.write_text("#!/bin/sh\nexit 0\n", "utf-8")
    run.chmod(run.stat().st_mode | stat.S_IXUSR)


def _profile(tmp_path: Path, argv: str | None = None) -> Path:
    """The shipped example adapter's profile, its argv replaced (None: kept as shipped)."""
    text = (REPO_DIR / "examples" / "adapters" / "fictimail.yaml").read_text("utf-8")
    assert SHIPPED_ARGV in text
    folder = tmp_path / "profiles"
    folder.mkdir(exist_ok=True)
    path = folder / "fictimail.yaml"
    path.write_text(text if argv is None else text.replace(SHIPPED_ARGV, f"argv: {argv}"))
    return path


def _check(path: Path) -> None:
    spec = MatrixSpec(
        profile_paths=(str(path),),
        senders=("fictimail",),
        receivers=("reference",),
        functions=("sign",),
    )
    spec.check()


def test_run_refuses_an_adapter_whose_script_is_not_there(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The shipped example run from another directory than the checkout's root."""
    path = _profile(tmp_path)
    out = tmp_path / "out"
    argv = ["run", "--profiles", str(path), "--agent", "fictimail", "--function", "sign"]
    argv += ["--examples", "1", "--no-rejections", "-q", "--out", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    resolved = tmp_path / "examples" / "adapters" / "fictimail.py"
    assert err.startswith(
        f"osm-conformance: error: {path}: engine.argv: examples/adapters/fictimail.py: "
        f"no such file ({resolved}, the script python3 runs"
    ), err
    assert "\n" not in err
    assert not (out / "results.json").exists()  # refused before any cell


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        ("[osm-no-such-program]", "engine.argv: 'osm-no-such-program' is not a program on PATH"),
        ("[adapters/absent.sh]", "adapters/absent.sh: no such file"),
        ("[python3, adapters/absent.py]", "engine.argv: adapters/absent.py: no such file ("),
        ("[python3, -u, ./absent.py]", "engine.argv: ./absent.py: no such file ("),
        ("[/usr/bin/env, python3, adapters/absent.py]", "adapters/absent.py: no such file ("),
        ("[bash, adapters/absent.sh, --verbose]", "adapters/absent.sh: no such file ("),
    ],
)
def test_what_cannot_start_is_refused(tmp_path: Path, argv: str, says: str) -> None:
    path = _profile(tmp_path, argv)
    with pytest.raises(UserError) as refused:
        _check(path)
    assert str(refused.value).startswith(f"{path}: "), refused.value
    assert says in str(refused.value)


@pytest.mark.parametrize(
    "argv",
    [
        "[python3, adapters/present.py]",  # relative, there from the current directory
        "[python3, -u, ./adapters/present.py]",
        f"[{sys.executable}, {{here}}/adapters/present.py]",  # absolute
        "[/usr/bin/env, python3, adapters/present.py]",
        "[adapters/run.sh, --flag]",  # an executable file, relative
        "[python3, present.py]",  # a bare name: python3's business, not a path here
        "[python3, -m, json.tool]",  # a module, not a script
        "[sh, -c, 'exit 0']",  # code given inline
        "[printf, ok]",  # a program on PATH
    ],
)
def test_what_would_start_is_let_through(tmp_path: Path, argv: str) -> None:
    _check(_profile(tmp_path, argv.replace("{here}", os.fspath(tmp_path))))
