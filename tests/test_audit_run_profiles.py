"""A tester's or vendor's own profiles, and `run --profiles`: every bad input named where it
is (file, line), before any cell, never a traceback nor a run of nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.cli import main
from conformance.matrix.spec import MatrixSpec
from conformance.profiles.claims import lint_claims
from conformance.profiles.loader import ProfileError, lint, load_profiles

# A claims file citing a source of the shipped sources.yaml only.
CLAIMS = """\
groups:
  mine:
    members: [acme]
    source: homologation-list
    quote: "Outils déjà homologués OSM par le GIP CPS"
"""


def _folder(tmp_path: Path) -> Path:
    """A profiles folder as a vendor writes it: one draft, no sources.yaml of its own."""
    folder = tmp_path / "mine"
    argv = ["profiles", "new", "acme", "--from", "smm", "--out", str(folder)]
    assert main(argv) == 0
    return folder


def test_a_non_utf8_profile_is_named_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "latin.yaml"
    path.write_bytes(b"id: latin\nidentity:\n  name: caf\xe9\n")
    assert [(p.line, p.message) for p in lint([path])] == [(3, "not UTF-8: byte 0xe9")]


def test_lint_of_a_folder_checks_the_data_files_its_run_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`run --profiles FOLDER` reads FOLDER/claims.yaml: lint must not call it ok."""
    folder = _folder(tmp_path)
    capsys.readouterr()
    (folder / "claims.yaml").write_text("groups:\n  mine: [acme\n", encoding="utf-8")
    assert main(["profiles", "lint", str(folder)]) == 1
    assert "claims.yaml:3: YAML syntax error" in capsys.readouterr().out


def test_a_data_file_named_is_linted_as_what_it_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _folder(tmp_path)
    (folder / "claims.yaml").write_text(CLAIMS.replace("[acme]", "[acme, nobody]"), "utf-8")
    capsys.readouterr()
    assert main(["profiles", "lint", str(folder / "claims.yaml")]) == 1
    out = capsys.readouterr().out
    assert "claims.yaml:3: groups.mine.members[1]: unknown profile 'nobody'" in out
    assert "id: missing required field" not in out  # not read as a profile


def test_claims_of_a_folder_without_sources_cite_the_shipped_ones(tmp_path: Path) -> None:
    """docs/matrix.md: without a sources.yaml the shipped sources apply, to claims too."""
    folder = _folder(tmp_path)
    (folder / "claims.yaml").write_text(CLAIMS, encoding="utf-8")
    assert lint_claims(folder / "claims.yaml", {"acme"}) == []
    assert MatrixSpec(profile_paths=(str(folder),)).claims().pairs == {}  # read, no pair


@pytest.mark.parametrize("content", [[], ["acme.yml"]])
def test_a_folder_with_no_profile_is_refused_not_run_empty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: list[str]
) -> None:
    """It used to lint `ok` and run zero cells, exit 130 as if interrupted."""
    folder = tmp_path / "empty"
    folder.mkdir()
    for name in content:
        (folder / name).write_text("id: acme\n", encoding="utf-8")
    problems = [str(p) for p in lint([folder])]
    assert f"{folder}: no profile (*.yaml) in this folder" in problems
    if content:
        assert f"{folder}/acme.yml: not read: a profile file ends in .yaml" in problems
    with pytest.raises(ProfileError):
        load_profiles([folder])
    argv = ["run", "--profiles", str(folder), "--examples", "1", "--no-rejections", "-q"]
    assert main([*argv, "-j", "1", "--out", str(tmp_path / "out")]) == 2
    assert "no profile (*.yaml) in this folder" in capsys.readouterr().err
    assert not (tmp_path / "out" / "results.json").exists()


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["profiles", "lint", "LONG.yaml"], 1),
        (["profiles", "list", "LONG"], 2),
        (["profiles", "show", "LONG.yaml"], 2),
        (["profiles", "new", "LONG", "--from", "smm", "--out", "TMP"], 2),
        (["run", "--profiles", "LONG.yaml", "--examples", "1", "-q", "--out", "TMP"], 2),
    ],
)
def test_a_name_too_long_is_an_answer_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], code: int
) -> None:
    long = "a" * 300  # a valid profile id, over the file system's 255 bytes
    argv = [a.replace("LONG", long).replace("TMP", str(tmp_path)) for a in argv]
    assert main(argv) == code
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert long in captured.out + captured.err


def test_new_refuses_a_profile_extending_itself(tmp_path: Path) -> None:
    """`new smm --from smm` wrote a file whose extends is a cycle."""
    assert main(["profiles", "new", "smm", "--from", "smm", "--out", str(tmp_path)]) == 2
    assert not (tmp_path / "smm.yaml").exists()


def test_the_show_command_a_draft_suggests_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The draft said `profiles show acme`, which knows only the shipped ids."""
    path = _folder(tmp_path) / "acme.yaml"
    monkeypatch.chdir(tmp_path)
    line = next(ln for ln in path.read_text("utf-8").splitlines() if "profiles show" in ln)
    command = line.split("`")[1].replace("PATH-OF-THIS-FILE", str(path)).split()
    assert command[0] == "osm-conformance"
    capsys.readouterr()
    assert main(command[1:]) == 0
    assert "id: acme" in capsys.readouterr().out


def test_an_empty_accept_list_contradicts_the_functions_it_lists(tmp_path: Path) -> None:
    """A receiver accepting no digest yet listing sign failed every sign cell, blaming no
    one: lint names the list. An empty list no listed function reads through is fine."""
    path = tmp_path / "deaf.yaml"
    path.write_text(
        "id: deaf\nextends: reference\ndraft: true\nreceive:\n  functions: [sign, encrypt]\n"
        "  reads_hprim_net: false\n  smime:\n    digests: []\n    ciphers: []\n"
        "    formats: null\nprovenance:\n  receive: {assumed: true, reason: a test}\n",
        encoding="utf-8",
    )
    assert [(p.line, p.message) for p in lint([path])] == [
        (8, "receive.smime.digests: empty: it reads no message of sign (receive.functions)"),
        (9, "receive.smime.ciphers: empty: it reads no message of encrypt (receive.functions)"),
    ]
    path.write_text(path.read_text("utf-8").replace("[sign, encrypt]", "[encrypt]"), "utf-8")
    assert [p.line for p in lint([path])] == [9]


def test_a_bad_id_is_reported_alone_not_with_what_extends_gives(tmp_path: Path) -> None:
    """`id: 5` left extends unapplied: five false "missing required field" came with it,
    and an unknown extends went unsaid."""
    path = tmp_path / "five.yaml"
    path.write_text("id: 5\nextends: reference\n", encoding="utf-8")
    assert [str(p) for p in lint([path])] == [f"{path}:1: id: expected a string, got 5"]
    path.write_text("id: 5\nextends: nowhere\n", encoding="utf-8")
    assert sorted(p.message for p in lint([path])) == [
        "extends: unknown profile 'nowhere'",
        "id: expected a string, got 5",
    ]


@pytest.mark.parametrize("command", ["show", "new"])
def test_one_profile_asked_a_folder_given_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    """`profiles show ./FOLDER` printed whichever profile of it came first."""
    folder = f"{_folder(tmp_path)}/"
    argv = {
        "show": ["show", folder],
        "new": ["new", "other", "--from", folder, "--out", str(tmp_path)],
    }[command]
    capsys.readouterr()
    assert main(["profiles", *argv]) == 2
    assert "a folder; name one profile file of it, or an id" in capsys.readouterr().err
    assert not (tmp_path / "other.yaml").exists()


def test_a_profile_named_twice_is_not_its_own_duplicate(tmp_path: Path) -> None:
    """`lint FOLDER FOLDER/x.yaml` said "duplicate profile id 'x': FOLDER/x.yaml and
    FOLDER/x.yaml"; docs/matrix.md: files named beside a folder join it."""
    folder = _folder(tmp_path)
    assert lint([folder, folder / "acme.yaml", folder / ".." / "mine" / "acme.yaml"]) == []
    assert list(load_profiles([folder, folder / "acme.yaml"])) == ["acme"]


def test_a_bad_base_is_reported_once_not_once_per_profile_extending_it(tmp_path: Path) -> None:
    (tmp_path / "base1.yaml").write_text(
        "id: base1\nextends: reference\ndraft: true\nquirks:\n  send_micalg_case: weird\n",
        encoding="utf-8",
    )
    (tmp_path / "child1.yaml").write_text("id: child1\nextends: base1\n", encoding="utf-8")
    with pytest.raises(ProfileError) as raised:
        load_profiles([tmp_path])
    assert [(p.file.name, p.line) for p in raised.value.problems] == [("base1.yaml", 5)]


def test_a_function_named_twice_runs_its_cells_once() -> None:
    """`run --function sign --function sign` ran every sign cell twice into results.json."""
    spec = MatrixSpec(senders=("reference",), receivers=("reference",), functions=("sign", "sign"))
    assert spec.functions == ("sign",)
    assert spec.cells() == [("reference", "reference", "sign")]


def test_max_message_bytes_on_the_memory_transport_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It limits the SMTP hops only: on the memory transport it was silently unused."""
    argv = ["run", "--agent", "reference", "--function", "sign", "--examples", "1", "-q"]
    argv += ["--max-message-bytes", "1K", "--out", str(tmp_path / "out")]
    assert main(argv) == 2
    assert "--max-message-bytes is what the SMTP hops announce" in capsys.readouterr().err
    assert not (tmp_path / "out" / "results.json").exists()
