"""`osm-conformance check`: exit codes, --json shape, --html escaping, the catalogue,
the policies, and docs/check-rules.md kept in sync with the code."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from check_support import signed_letter

from conformance.check.catalogue import GROUPS, all_rules, rule_ids
from conformance.check.i18n import Words
from conformance.check.policy import load_policy, parse_policy, policy_names
from conformance.check.render import catalogue_markdown, html_page
from conformance.check.runner import check_saved_file
from conformance.cli import main
from conformance.errors import UserError
from conformance.paths import REPO_DIR
from conformance.pki.model import load_pki

PKI = load_pki()


@pytest.fixture
def good(tmp_path: Path) -> Path:
    path = tmp_path / "good.eml"
    path.write_bytes(signed_letter())
    return path


def _run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main(["check", *map(str, args)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_exit_0_on_a_good_message_and_prints_the_table(
    good: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trust = PKI.trust_paths()[0]
    code, out, _ = _run(
        capsys, good, "--trust", trust, *[x for c in PKI.crl_paths() for x in ("--crl", c)]
    )
    assert code == 0
    assert out.splitlines()[0] == "Verdict : conforme"
    assert "SUCCÈS         CMS-009   partie 1.2   La signature se vérifie" in out
    code, out, _ = _run(capsys, good, "--lang", "en")  # the test PKI's anchors and CRLs
    assert code == 0
    assert out.splitlines()[0] == "Verdict: conformant"
    assert "SUCCESS  CMS-009   part 1.2   Signature verifies" in out


def test_exit_1_when_an_error_rule_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "revoked.eml"
    path.write_bytes(signed_letter("defect-revoked"))
    args: list[str | Path] = [path, "--trust", PKI.trust_paths()[0]]
    for crl in PKI.crl_paths():
        args += ["--crl", crl]
    code, out, _ = _run(capsys, *args, "--lang", "en")
    assert code == 1
    assert out.splitlines()[0] == "Verdict: 1 error, 0 warnings"
    assert any(line.split()[:2] == ["ERROR", "CERT-003"] for line in out.splitlines())


def test_warnings_only_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "sha1-cert.eml"
    path.write_bytes(signed_letter("defect-sha1"))
    code, out, _ = _run(capsys, path)
    assert code == 0 and "AVERTISSEMENT" in out
    assert out.splitlines()[0].startswith("Verdict : conforme (")
    code, _, _ = _run(capsys, path, "--policy", "modern")
    assert code == 1
    # Anchors without CRLs: revocation is not checked, so the verdict is incomplete.
    code, out, _ = _run(capsys, path, "--trust", PKI.trust_paths()[0], "--lang", "en")
    assert code == 3
    assert out.splitlines()[0].startswith("Verdict: incomplete (not checked: CERT-003; ")


@pytest.mark.parametrize(
    "args",
    [
        ["/no/such/message.eml"],
        ["MSG", "--trust", "/no/such/root.pem"],
        ["MSG", "--crl", "/no/crl"],
        ["MSG", "--identity", "/no/such/dir"],
        ["MSG", "--policy", "lenient"],
        [],
        ["MSG", "--markdown"],
    ],
)
def test_usage_errors_exit_2(
    args: list[str], good: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [str(good) if a == "MSG" else a for a in args]
    try:
        code = main(["check", *args])
    except SystemExit as exc:  # argparse's own usage errors
        code = int(exc.code or 0)
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip()


def test_json_shape(good: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, good, "--json")
    data = json.loads(out)
    assert code == 0
    assert set(data) >= {"message", "checks", "policy", "format", "verdict", "trust"}
    assert data["policy"] == "osm-2008" and data["format"] == 2
    assert data["verdict"]["status"] == "conformant"
    part = data["message"]["parts"][0]
    assert set(part) >= {"path", "content_type", "params", "transfer_encoding", "size"}
    assert part["path"] == "1" and part["content_type"] == "multipart/signed"
    assert part["params"]["micalg"] == "sha-256"
    assert [p["path"] for p in data["message"]["parts"]] == ["1", "1.1", "1.2"]
    for check in data["checks"]:
        assert set(check) == {"id", "status", "title", "found", "expected", "reference", "part"}
        assert check["status"] in ("SUCCESS", "ERROR", "WARNING", "INFO")
    assert {c["id"] for c in data["checks"]} >= {"HDR-001", "SMIME-006", "CMS-009", "CERT-004"}


def test_html_is_self_contained_and_escapes_the_subject(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "xss.eml"
    path.write_bytes(signed_letter(subject="<script>alert(1)</script> & co"))
    out_file = tmp_path / "report.html"
    code, _, _ = _run(capsys, path, "--html", out_file)
    html = out_file.read_text(encoding="utf-8")
    assert code == 0
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html
    assert "http://" not in html and "https://" not in html and "<link" not in html
    assert "CMS-009" in html


def test_docs_in_sync_with_the_code() -> None:
    doc = REPO_DIR / "docs" / "check-rules.md"
    assert doc.read_text(encoding="utf-8") == catalogue_markdown(), (
        "docs/check-rules.md is stale: run "
        "`osm-conformance check --catalogue --markdown > docs/check-rules.md`"
    )


def test_catalogue_command(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--catalogue")
    assert code == 0
    assert len(out.splitlines()) == len(all_rules())
    code, out, _ = _run(capsys, "--catalogue", "--markdown")
    assert out == catalogue_markdown()


def test_rule_ids_are_stable_and_documented() -> None:
    rules = all_rules()
    ids = [r.id for r in rules]
    assert len(ids) == len(set(ids))
    assert {r.group for r in rules} == set(GROUPS)
    for r in rules:
        assert r.title and r.reference and r.description, r.id
    # Ids are never renumbered: the first ones of each group keep their meaning.
    titles = {r.id: r.title for r in rules}
    assert titles["HDR-001"] == "From present"
    assert titles["SMIME-006"] == "micalg equals the digest used"
    assert titles["CERT-012"] == "Public key algorithm identifier standard"


def test_every_rule_has_a_french_title_and_every_string_both_languages() -> None:
    from conformance.check.i18n import TEXT, TITLES_FR

    assert set(TITLES_FR) == rule_ids()
    assert all(len(pair) == 2 and all(pair) for pair in TEXT.values())


def test_policies_cover_every_rule_and_differ() -> None:
    assert set(policy_names()) >= {"osm-2008", "modern"}
    old, new = load_policy("osm-2008", rule_ids()), load_policy("modern", rule_ids())
    assert old.grade("digest", "sha1") == "WARNING" and new.grade("digest", "sha1") is None
    assert old.grade("content_cipher", "des-ede3-cbc") == "SUCCESS"
    assert new.grade("content_cipher", "des-ede3-cbc") is None
    assert (old.severity("ENC-005"), new.severity("ENC-005")) == ("WARNING", "ERROR")
    assert (old.severity("CERT-010"), new.severity("CERT-010")) == ("WARNING", "ERROR")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["severity"].pop("HDR-001"), "no severity for rule(s) HDR-001"),
        (lambda d: d["severity"].update({"HDR-999": "ERROR"}), "unknown rule id(s) HDR-999"),
        (lambda d: d["severity"].update({"HDR-001": "FATAL"}), "severity.HDR-001"),
        (lambda d: d["algorithms"]["digest"].update({"sha1": "MAYBE"}), "algorithms.digest.sha1"),
        (lambda d: d.update({"min_rsa_bits": "big"}), "min_rsa_bits"),
    ],
)
def test_bad_policy_is_a_clear_error(change: object, message: str) -> None:
    import copy

    import yaml

    from conformance.check import policy as policy_module

    path = Path(policy_module.__file__).parent / "policies" / "modern.yaml"
    data = copy.deepcopy(yaml.safe_load(path.read_text(encoding="utf-8")))
    change(data)  # type: ignore[operator]
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_policy(data, "test.yaml", rule_ids())


# English words that French details never hold (found and expected, outside quoted values).
_ENGLISH = re.compile(r"\b(the|of|with|not|no|is|does|valid|at least|one|bits? of)\b")
# What a detail quotes as written: a header's value, a name, an address, a media type, a
# parameter, an identifier.
_QUOTED = re.compile(
    r"(From|To|Date|Message-ID|MIME-Version): .*|Common Name: .*|\S+@\S+|\S*[/=-]\S*"
)


@pytest.mark.parametrize("sender", ["pro01", "defect-revoked", "defect-sha1", "defect-weak-key"])
def test_what_a_rule_found_and_expected_is_in_the_chosen_language(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], sender: str
) -> None:
    """`check --lang fr` gives each rule's details in French (the rule writes both), the
    English ones unchanged with --lang en; the HTML page likewise, and the JSON stays English."""
    path = tmp_path / "message.eml"
    path.write_bytes(signed_letter(sender))
    report = check_saved_file(path.read_bytes(), trust=PKI.trust_paths(), crls=PKI.crl_paths())
    words = Words("fr")
    english = []
    for check in report.checks:
        for which in ("found", "expected"):
            text, lang = words.detail(check, which)
            assert lang in (None, "fr")
            if lang == "fr":
                assert Words("en").detail(check, which) == (getattr(check, which), "en")
            if _ENGLISH.search(_QUOTED.sub("", text)):
                english.append((check.id, which, text))
    assert english == []
    _, french, _ = _run(capsys, path, "--lang", "fr")
    _, in_english, _ = _run(capsys, path, "--lang", "en")
    assert "CRLF seulement" in french and "CRLF only" in in_english
    assert "CRLF only" not in french
    html = html_page(report, "fr")
    assert "CRLF seulement" in html and "CRLF only" not in html
    data = json.dumps(report.to_json())
    assert "CRLF only" in data and "seulement" not in data
