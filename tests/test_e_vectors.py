"""The vendor kit on bad input: `vectors import|verify --out` checked before the work, a
re-export that would lose the tester's answers, `vectors golden --dir` that does not
exist, evidence paths kept linkable by `vectors import --out`, a YAML record whose value
its tag cannot be, and the help and docs saying what the code does."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from agents_support import software_keys

from conformance.cli import main
from conformance.core.vocabulary import FUNCTIONS
from conformance.errors import UserError
from conformance.paths import REPO_DIR
from conformance.results import load_results
from conformance.vectors.export import export_vectors
from conformance.vectors.manual import import_record

# Keys in software for this module's tests and fixtures only (its exports and verifications).
pytestmark = pytest.mark.usefixtures("software_keys")
__all__ = ["software_keys"]

PRODUCT = "smm"
SIGN = "messages/reference/sign.eml"
ANSWERED = f"file,opened,signature,decrypted,content_ok,notes\n{SIGN},yes,valid,no,yes,MY NOTES\n"


def _export(out: Path) -> None:
    export_vectors(PRODUCT, out, senders=["reference"], functions=["sign"])


@pytest.fixture(scope="module")
def vectors(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("vectors")
    _export(out)
    (out / "record.csv").write_text(ANSWERED, encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def messages(tmp_path_factory: pytest.TempPathFactory, vectors: Path) -> Path:
    """A folder `vectors verify` reads: the export's message, as if the product wrote it."""
    folder = tmp_path_factory.mktemp("messages")
    shutil.copyfile(vectors / SIGN, folder / "sign.eml")
    recipient = json.loads((vectors / "manifest.json").read_text())["recipient"]
    entry = {"file": "sign.eml", "recipient": recipient, "function": "sign"}
    (folder / "manifest.json").write_text(json.dumps({"messages": [entry]}))
    return folder


def _verify(messages: Path, out: Path) -> int:
    argv = ["vectors", "verify", str(messages), "--as", "reference", "--receiver", PRODUCT]
    return main([*argv, "--out", str(out)])


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, messages: Path) -> Path:
    """A run folder: results.json with evidence paths relative to it, and the evidence."""
    out = tmp_path_factory.mktemp("top") / "run"
    assert _verify(messages, out) == 0
    return out / "results.json"


def _import(results: Path, record: Path, out: Path) -> int:
    argv = ["vectors", "import", str(results), str(record), "--as", PRODUCT]
    return main([*argv, "--out", str(out)])


# --- --out checked before the work ---------------------------------------------------------


def test_import_out_a_directory_is_refused(
    run: Path, vectors: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = run.parent / "a-folder"
    out.mkdir()
    assert _import(run, vectors / "record.csv", out) == 2
    assert f"--out {out}: a directory, not a file" in capsys.readouterr().err
    assert not out.with_suffix(".json.tmp").exists()


def test_import_out_under_a_file_is_refused(
    run: Path, vectors: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a_file = run.parent / "a-file"
    a_file.write_text("x")
    assert _import(run, vectors / "record.csv", a_file / "x.json") == 2
    assert f"--out's folder {a_file}: exists and is not a directory" in capsys.readouterr().err


def test_import_out_in_a_new_folder_is_made(run: Path, vectors: Path, tmp_path: Path) -> None:
    """Without evidence to link, a new folder is made for --out."""
    data = json.loads(run.read_text())
    for cell in data["cells"]:
        cell["evidence"] = []
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(data))
    out = tmp_path / "new" / "deeper" / "x.json"
    assert _import(bare, vectors / "record.csv", out) == 0
    assert load_results(out).cells


def test_verify_out_a_file_is_refused_before_the_work(
    messages: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    assert _verify(messages, a_file) == 2
    captured = capsys.readouterr()
    assert f"--out {a_file}: exists and is not a directory" in captured.err
    assert captured.out == ""  # refused before any message was read
    assert _verify(messages, a_file / "out") == 2
    err = capsys.readouterr().err
    assert f"--out {a_file / 'out'}: cannot create it ({a_file}: not a directory)" in err


# --- vectors import --out elsewhere: the evidence links ----------------------------------


def test_import_out_above_the_run_rebases_the_evidence(
    run: Path, vectors: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = [p for c in load_results(run).cells for p in c.evidence]
    assert before and all(p.startswith("evidence/") for p in before)
    out = run.parent.parent / "imported.json"
    assert _import(run, vectors / "record.csv", out) == 0
    after = [p for c in load_results(out).cells for p in c.evidence]
    assert after == [f"run/{p}" for p in before]
    capsys.readouterr()
    assert main(["report", str(out), "--out", str(tmp_path / "html")]) == 0
    assert "evidence path" not in capsys.readouterr().err  # every link found


def test_import_out_beside_the_run_is_refused(
    run: Path, vectors: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = run.parent.parent / "elsewhere" / "imported.json"
    assert _import(run, vectors / "record.csv", out) == 2
    err = capsys.readouterr().err
    assert f"--out {out}: the 2 evidence path(s) of {run} are relative to" in err
    assert not out.parent.exists()  # refused before anything was made


# --- re-export over the tester's record ----------------------------------------------------


def test_reexport_refuses_a_record_with_answers(
    vectors: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = (vectors / "manifest.json").read_bytes()
    argv = ["vectors", "export", "--for", PRODUCT, "--out", str(vectors)]
    assert main([*argv, "--sender", "reference", "--function", "sign"]) == 2
    assert f"{vectors / 'record.csv'}:2: holds the tester's answers" in capsys.readouterr().err
    assert (vectors / "record.csv").read_text(encoding="utf-8") == ANSWERED
    assert (vectors / "manifest.json").read_bytes() == manifest  # nothing rewritten


def test_reexport_rewrites_an_untouched_template_and_refuses_negative_answers(
    tmp_path: Path,
) -> None:
    _export(tmp_path)
    template = (tmp_path / "record.csv").read_bytes()
    _export(tmp_path)  # untouched templates: rewritten
    assert (tmp_path / "record.csv").read_bytes() == template
    negative = (tmp_path / "negative.csv").read_text(encoding="utf-8").splitlines()
    negative[3] = negative[3].rstrip(",") + ",oui,"
    (tmp_path / "negative.csv").write_text("\n".join(negative) + "\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"negative.csv:4: holds the tester's answers"):
        _export(tmp_path)


def test_reexport_takes_a_line_added_in_the_template_shape_as_no_answer(tmp_path: Path) -> None:
    """A file name and empty columns hold nothing of the tester's: rewritten, as the docs
    say; the same line with an answer is refused."""
    _export(tmp_path)
    template = (tmp_path / "record.csv").read_text(encoding="utf-8")
    (tmp_path / "record.csv").write_text(template + "extra.eml,,,,,\n", encoding="utf-8")
    _export(tmp_path)
    assert (tmp_path / "record.csv").read_text(encoding="utf-8") == template
    (tmp_path / "record.csv").write_text(template + "extra.eml,oui,,,,\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"record.csv:\d+: holds the tester's answers"):
        _export(tmp_path)


def test_reexport_refuses_a_record_a_spreadsheet_saved_with_semicolons(tmp_path: Path) -> None:
    """A French spreadsheet writes `;`: read as CSV, each row is one cell, which looked like
    an untouched template, and the answers were overwritten."""
    _export(tmp_path)
    lines = (tmp_path / "record.csv").read_text(encoding="utf-8").splitlines()
    file = lines[1].split(",")[0]
    answered = "file;opened;signature;decrypted;content_ok;notes\n" + f"{file};oui;valide;;oui;ok\n"
    (tmp_path / "record.csv").write_text(answered, encoding="utf-8")
    with pytest.raises(UserError, match=r"record.csv:1: holds the tester's answers"):
        _export(tmp_path)
    assert (tmp_path / "record.csv").read_text(encoding="utf-8") == answered


# --- vectors golden --dir ------------------------------------------------------------------


def test_golden_check_of_a_missing_dir_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nonexist"
    assert main(["vectors", "golden", "--dir", str(missing), "--profile", PRODUCT]) == 2
    captured = capsys.readouterr()
    assert f"--dir {missing}: no such directory" in captured.err
    assert "missing from" not in captured.out
    assert not missing.exists()


# --- a YAML record whose value its tag cannot be ----------------------------------------------


def test_yaml_record_with_a_bad_tagged_value_names_the_line(vectors: Path, run: Path) -> None:
    record = vectors / "tagged.yaml"
    record.write_text(
        f"- file: {SIGN}\n  opened: yes\n  signature: valid\n  decrypted: no\n"
        "  content_ok: !!int x\n",
        encoding="utf-8",
    )
    with pytest.raises(UserError, match=r"tagged.yaml:5: not YAML: .*'x' is not an integer"):
        import_record(run, record, PRODUCT)


# --- what the help and the docs say ---------------------------------------------------------


def test_export_help_names_both_expectations(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["vectors", "export", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "`expected`, what a reader following the standard shows" in help_text
    assert "`profile_expected`, what PROFILE's profile predicts" in help_text


def test_docs_list_every_function_verify_accepts() -> None:
    text = (REPO_DIR / "docs" / "vectors.md").read_text(encoding="utf-8")
    found = re.search(r"`function`: (.*?);\n", text, re.S)
    assert found is not None
    listed = set(re.findall(r"[a-z][a-z-]+", found.group(1)))
    assert set(FUNCTIONS) <= listed
