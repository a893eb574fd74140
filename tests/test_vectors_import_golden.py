"""vectors import (the tester's record into results.json) and the golden corpus."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from agents_support import software_keys

from conformance.cli import main
from conformance.errors import UserError
from conformance.results import load_results
from conformance.vectors import golden
from conformance.vectors.export import export_vectors
from conformance.vectors.manual import import_record

# Keys in software for this module's tests and fixtures only.
pytestmark = pytest.mark.usefixtures("software_keys")
__all__ = ["software_keys"]

PRODUCT = "docteur-net-cps"
REAL = f"{PRODUCT}-real"
SIGN = "messages/sermentis-mms/sign.eml"
ENCRYPT = "messages/sermentis-mms/encrypt.eml"
APICRYPT = "messages/apimail-apicrypt/sign.eml"


@pytest.fixture(scope="module")
def vectors(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("vectors")
    export_vectors(
        PRODUCT, out, senders=["sermentis-mms", "apimail-apicrypt"], functions=["sign", "encrypt"]
    )
    return out


@pytest.fixture(scope="module")
def verified(tmp_path_factory: pytest.TempPathFactory, vectors: Path) -> Path:
    """A results.json to fold into: the verified row of a product (any run's file will do)."""
    tmp_path = tmp_path_factory.mktemp("verified")
    messages = tmp_path / "msgs"
    messages.mkdir()
    shutil.copyfile(vectors / SIGN, messages / "sign.eml")
    manifest = json.loads((vectors / "manifest.json").read_text())
    (messages / "manifest.json").write_text(
        json.dumps(
            {
                "messages": [
                    {"file": "sign.eml", "recipient": manifest["recipient"], "function": "sign"}
                ]
            }
        )
    )
    out = tmp_path / "verified"
    assert (
        main(
            [
                "vectors",
                "verify",
                str(messages),
                "--as",
                "sermentis-mms",
                "--receiver",
                PRODUCT,
                "--out",
                str(out),
            ]
        )
        == 0
    )
    return out / "results.json"


@pytest.fixture
def results(tmp_path: Path, verified: Path) -> Path:
    copy = tmp_path / "results.json"
    shutil.copyfile(verified, copy)
    return copy


def _record(vectors: Path, name: str, text: str) -> Path:
    path = vectors / name
    path.write_text(text, encoding="utf-8")
    return path


def test_import_csv(vectors: Path, results: Path, tmp_path: Path) -> None:
    record = _record(
        vectors,
        "rec.csv",
        (
            "file,opened,signature,decrypted,content_ok,notes\n"
            f"{SIGN},yes,valid,no,yes,\n"
            f"{ENCRYPT},oui,absente,oui,non,accents perdus\n"
            f"{APICRYPT},no,,,,format inconnu\n"
            "\n"
        ),
    )
    new = tmp_path / "new.json"
    assert (
        main(["vectors", "import", str(results), str(record), "--as", PRODUCT, "--out", str(new)])
        == 0
    )
    data = load_results(new)
    real = next(a for a in data.agents if a.id == REAL)
    assert real.observed_by_hand and real.engine == "real-product"
    # a tester's record; the verified row beside it was read by the suite
    assert real.observed == ["by-hand"]
    verified_row = next(a for a in data.agents if a.id == "sermentis-mms-real")
    assert verified_row.observed == ["machine"] and not verified_row.observed_by_hand
    cells = {(c.sender, c.function): c for c in data.cells if c.receiver == REAL}
    assert cells[("sermentis-mms", "sign")].verdict == "pass"
    assert cells[("sermentis-mms", "sign")].services["non_repudiation"]
    encrypt = cells[("sermentis-mms", "encrypt")]
    assert encrypt.verdict == "fail"
    assert encrypt.reason is not None and "content differs" in encrypt.reason
    assert "accents perdus" in encrypt.reason and "predicts pass" in encrypt.reason
    apicrypt = cells[("apimail-apicrypt", "sign")]
    assert apicrypt.verdict == "fail"
    assert apicrypt.reason is not None and apicrypt.reason.startswith("not opened")
    # the claims about docteur-net-cps apply to its real copy
    assert apicrypt.expected == "fail" and not apicrypt.contradiction
    assert encrypt.expected == "pass" and encrypt.contradiction
    assert any(c.receiver == REAL and c.function == "encrypt" for c in data.contradictions)
    assert any(p.sender == "sermentis-mms" and p.receiver == REAL for p in data.pairs)
    # the cells of the original file are kept, the simulated senders added as agents
    assert any(c.sender == "sermentis-mms-real" for c in data.cells)
    assert {"sermentis-mms", "apimail-apicrypt", PRODUCT} <= {a.id for a in data.agents}
    assert main(["report", str(new), "--out", str(tmp_path / "html")]) == 0


def test_import_yaml_and_reimport_replaces(vectors: Path, results: Path) -> None:
    first = _record(vectors, "rec1.yaml", f"- file: {SIGN}\n  opened: no\n")
    folded, missing = import_record(results, first, PRODUCT)
    assert ENCRYPT in missing
    folded.dump(results)
    second = _record(
        vectors,
        "rec2.yaml",
        (
            f"- file: {SIGN}\n  opened: yes\n  signature: valid\n  decrypted: no\n"
            "  content_ok: yes\n"
        ),
    )
    folded, _ = import_record(results, second, PRODUCT)
    mine = [c for c in folded.cells if c.receiver == REAL]
    assert [(c.sender, c.function, c.verdict) for c in mine] == [("sermentis-mms", "sign", "pass")]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "bad1.csv",
            f"file,opened\n{SIGN},yes\nmessages/x/none.eml,no\n",
            r"bad1.csv:2: column 'signature' is empty",
        ),
        (
            "bad2.csv",
            "file,opened\nmessages/x/none.eml,no\n",
            r"bad2.csv:2: unknown vector file 'messages/x/none.eml'",
        ),
        (
            "bad3.csv",
            f"file,opened\n{SIGN},maybe\n",
            r"bad3.csv:2: column 'opened': 'maybe' is not yes/no",
        ),
        (
            "bad4.csv",
            f"file,opened,signature,decrypted,content_ok\n{SIGN},yes,green,no,yes\n",
            r"bad4.csv:2: column 'signature': 'green' is not valid, invalid or absent",
        ),
        ("bad5.csv", f"file,opened,colour\n{SIGN},no,blue\n", r"bad5.csv:2: unknown column"),
        (
            "bad6.csv",
            f"file,opened\n{SIGN},no\n{SIGN},no\n",
            r"bad6.csv:3: .* is already recorded at .*bad6.csv:2",
        ),
        (
            "bad7.yaml",
            f"- file: {SIGN}\n  opened: yes\n  signature: valid\n- file: x\n  opened: [\n",
            r"bad7.yaml:\d+: not YAML",
        ),
        (
            "bad8.yaml",
            f"- file: {SIGN}\n  opened: no\n- file: {ENCRYPT}\n  opened: yes\n",
            r"bad8.yaml:3: column 'signature' is empty",
        ),
        ("bad9.txt", "anything", r"bad9.txt: expected a .csv, .yaml or .yml record"),
    ],
)
def test_bad_records_name_file_and_line(
    vectors: Path, results: Path, name: str, text: str, message: str
) -> None:
    before = results.read_bytes()
    record = _record(vectors, name, text)
    with pytest.raises(UserError, match=message):
        import_record(results, record, PRODUCT)
    assert results.read_bytes() == before  # nothing folded, no verdict invented


def test_import_refuses_vectors_of_another_product(vectors: Path, results: Path) -> None:
    record = _record(vectors, "other.csv", f"file,opened\n{SIGN},no\n")
    with pytest.raises(UserError, match="exported for 'docteur-net-cps', not 'smm'"):
        import_record(results, record, "smm")
    with pytest.raises(UserError, match="no such file"):
        import_record(results.with_name("absent.json"), record, PRODUCT)


# --- golden corpus ----------------------------------------------------------------------


def test_golden_corpus_in_sync() -> None:
    problems = golden.check()
    assert problems == [], "\n".join(problems[:20])


def test_golden_covers_profile_driven_senders_only() -> None:
    names = {p.name for p in golden.GOLDEN_DIR.iterdir() if p.is_dir()}
    assert names == set(golden.golden_profiles())
    assert not names & {"openssl", "nss", "gpgsm"}
    assert (golden.GOLDEN_DIR / "apimail-apicrypt" / "sign.json").is_file()


def test_golden_check_sees_changed_bytes_and_readings(tmp_path: Path) -> None:
    shutil.copytree(golden.GOLDEN_DIR / "smm", tmp_path / "smm")
    assert golden.check(tmp_path, ["smm"]) == []
    eml = tmp_path / "smm" / "sign.eml"
    eml.write_bytes(eml.read_bytes().replace(b"Subject: ", b"Subject: X", 1))
    reading = tmp_path / "smm" / "encrypt.json"
    data = json.loads(reading.read_text())
    data["reading"]["algorithms"]["content_encryption"] = ["rc2-40"]
    reading.write_text(json.dumps(data))
    problems = golden.check(tmp_path, ["smm"])
    assert "smm/sign: message bytes differ from" in "\n".join(problems)
    assert any("reading.algorithms.content_encryption: ['rc2-40'] ->" in p for p in problems)
    (tmp_path / "smm" / "attachments.json").unlink()
    assert any("smm/attachments: missing" in p for p in golden.check(tmp_path, ["smm"]))
    assert main(["vectors", "golden", "--check", "--dir", str(tmp_path), "--profile", "smm"]) == 1
    assert main(["vectors", "golden", "--write", "--dir", str(tmp_path), "--profile", "smm"]) == 0
    assert golden.check(tmp_path, ["smm"]) == []


def test_import_reads_the_negative_record(
    vectors: Path, results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """negative.csv gives the real product its cells of the rejection matrix; a record a
    program wrote is labelled machine-observed."""
    manifest = json.loads((vectors / "manifest.json").read_text())
    negatives = manifest["negatives"]
    refuse = [n for n in negatives if n["expected"]["osm-2008"] == "refuse"]
    warn = next(n for n in negatives if n["expected"]["osm-2008"] == "warn")
    accepted, refused = refuse[0], next(n for n in refuse if n["class"] != refuse[0]["class"])
    negative = _record(
        vectors,
        "neg.csv",
        "file,refused,notes\n"
        f"{accepted['file']},no,signature valide affichée\n"
        f"{refused['file']},oui,\n"
        f"{warn['file']},no,\n"
        f"{negatives[-1]['file']},,\n",
    )
    record = _record(vectors, "rec-neg.csv", f"file,opened\n{SIGN},no\n")
    new = tmp_path / "new.json"
    argv = ["vectors", "import", str(results), str(record), "--as", PRODUCT, "--out", str(new)]
    assert main([*argv, "--negative", str(negative), "--observed", "machine"]) == 0
    assert "rejection matrix: " in capsys.readouterr().out
    data = load_results(new)
    assert data.rejections is not None
    cases = {
        (c.case, c.producer): c
        for cell in data.rejections.cells
        if cell.receiver == REAL
        for c in cell.cases
    }
    assert len(cases) == 3  # the blank line is not recorded
    first = cases[(accepted["case"], accepted["producer"])]
    assert first.outcome == "accepts" and "signature valide affichée" in first.reason
    assert first.variant_fr == accepted["variant_fr"] != first.variant  # for French pages
    assert cases[(refused["case"], refused["producer"])].outcome == "refuses"
    assert cases[(refused["case"], refused["producer"])].passed == "refused"
    tolerated = cases[(warn["case"], warn["producer"])]
    assert tolerated.outcome == "refuses" and "warn under osm-2008" in tolerated.reason
    assert tolerated.passed == "tolerated"  # the page says tolerated, not refused
    assert first.passed is None
    verdicts = {c.cls: c.verdict for c in data.rejections.cells if c.receiver == REAL}
    assert verdicts[accepted["class"]] == "accepts"
    summary = next(s for s in data.rejections.receivers if s.receiver == REAL)
    assert accepted["class"] in summary.accepted_classes
    real = next(a for a in data.agents if a.id == REAL)
    assert real.observed == ["machine"] and not real.observed_by_hand
    assert main(["report", str(new), "--out", str(tmp_path / "html")]) == 0
    page = (tmp_path / "html" / "refusals.html").read_text("utf-8")
    assert REAL in page or "Docteur Net CPS (real product)" in page
    assert "relevé par programme" in (tmp_path / "html" / "index.html").read_text("utf-8")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("file,refused,notes\nnegative/x/y.eml,yes,\n", "neg-bad.csv:2: unknown negative vector"),
        ("file,refused,notes\n{file},maybe,\n", "neg-bad.csv:2: column 'refused': 'maybe'"),
        (  # an unknown column is listed once, as the record's, and the lines still checked
            "file,refused,extra\n{file},maybe,x\n",
            r"neg-bad.csv:2: unknown column\(s\) 'extra'; expected file, refused, notes\n"
            r".*neg-bad.csv:2: column 'refused': 'maybe'",
        ),
        ("file,refusd,notes\n", r"neg-bad.csv:1: the first line must name the columns .*'refusd'"),
        ("file,refused\n{file},yes\n{file},no\n", "neg-bad.csv:3: "),
    ],
)
def test_bad_negative_records_name_file_and_line(
    vectors: Path, results: Path, text: str, expected: str
) -> None:
    manifest = json.loads((vectors / "manifest.json").read_text())
    negative = _record(vectors, "neg-bad.csv", text.format(file=manifest["negatives"][0]["file"]))
    record = _record(vectors, "rec-neg2.csv", f"file,opened\n{SIGN},no\n")
    with pytest.raises(UserError, match=expected):
        import_record(results, record, PRODUCT, negative_path=negative)
