"""A French check report names its references and its policy in French; the JSON does not change.

An audit of the French pages found « OSM: the sender's address », « CPS: test cards use idNat
8997... » and « osm-2008: OSM homologation (2008) » on the French validator reports.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conformance.check.catalogue import all_rules, rule_ids
from conformance.check.i18n import REFERENCES_FR, Words
from conformance.check.policy import load_policy, parse_policy, policy_names
from conformance.cli import main
from conformance.errors import UserError
from conformance.paths import REPO_DIR

VECTOR = REPO_DIR / "vectors" / "golden" / "smm" / "sign.eml"
# The wrong sender makes HDR-008 an ERROR: the text report shows its reference too.
SENDER = ["--sender", "someone@else.example"]
ENGLISH = [
    "the sender's address",
    "test cards use idNat",
    "idNat in the subject serialNumber",
    "signature key",
    "OSM homologation (2008)",
]
FRENCH = [
    "OSM : l'adresse de l'expéditeur",
    "CPS : les cartes de test portent un idNat 8997...",
    "CPS : idNat dans le serialNumber du sujet",
    "OSM/CPS : clé de signature / RFC 5280 4.2.1.3",
    "osm-2008 : Homologation OSM (2008)",
]
# An English word of a reference (a document's identifier has none: RFC 8551 2.2, GIP-CPS,
# EFAIL (2018), HPRIM Médecin 3.0).
_WORD = re.compile(r"\b[a-z]{3,}\b")


def _check(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    main(["check", str(VECTOR), *SENDER, *args])
    return capsys.readouterr().out


def _unescape(html: str) -> str:
    return html.replace("&#39;", "'").replace("&amp;", "&")


def test_every_reference_in_words_has_its_french() -> None:
    worded = {r.id: r.reference for r in all_rules() if _WORD.search(r.reference)}
    assert {"HDR-008", "CERT-009"} <= set(worded)
    assert set(REFERENCES_FR) == set(worded)
    for rule_id, reference in REFERENCES_FR.items():
        assert reference.en == worded[rule_id], rule_id  # the rule's, not a stale copy
        assert reference.fr != reference.en and " : " in reference.fr, rule_id


def test_the_french_report_names_no_english_reference(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    page = tmp_path / "fr.html"
    text = _check(capsys, "--lang", "fr", "--html", str(page))
    html = _unescape(page.read_text(encoding="utf-8"))
    for english in ENGLISH:
        assert english not in html and english not in text, english
    for french in FRENCH:
        assert french in html, french
    assert "référence : OSM : l'adresse de l'expéditeur" in text


def test_the_english_report_keeps_its_references(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    page = tmp_path / "en.html"
    text = _check(capsys, "--lang", "en", "--html", str(page))
    html = _unescape(page.read_text(encoding="utf-8"))
    for english in ENGLISH:
        assert english in html, english
    assert "osm-2008: OSM homologation (2008)" in html
    assert "reference: OSM: the sender's address" in text
    assert not any(french in html or french in text for french in FRENCH)


def test_the_json_is_not_translated(capsys: pytest.CaptureFixture[str]) -> None:
    french = _check(capsys, "--lang", "fr", "--json")
    english = _check(capsys, "--lang", "en", "--json")
    assert french == english
    references = {c["id"]: c["reference"] for c in json.loads(french)["checks"]}
    assert references["HDR-008"] == "OSM: the sender's address"
    assert references["CERT-009"] == "CPS: test cards use idNat 8997..."
    assert not any(f in french for f in FRENCH)


def test_a_check_citing_a_reference_of_its_own_keeps_it() -> None:
    """Only the rule's own reference is put in French (the runner's parse failure cites
    its own, under MIME-004)."""
    words = Words("fr")
    assert words.reference("HDR-008", "OSM: the sender's address") == REFERENCES_FR["HDR-008"].fr
    assert words.reference("HDR-008", "RFC 5322 / RFC 2045") == "RFC 5322 / RFC 2045"
    assert Words("en").reference("HDR-008", "OSM: the sender's address") == (
        "OSM: the sender's address"
    )


def test_every_shipped_policy_has_a_french_title() -> None:
    for name in policy_names():
        policy = load_policy(name, rule_ids())
        assert policy.title_fr and policy.title_fr != policy.title, name
        assert (policy.title_in("fr"), policy.title_in("en")) == (policy.title_fr, policy.title)


def test_an_empty_french_title_is_a_clear_error() -> None:
    import yaml

    from conformance.check import policy as policy_module

    path = Path(policy_module.__file__).parent / "policies" / "modern.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["title_fr"] = " "
    with pytest.raises(UserError, match="title_fr"):
        parse_policy(data, "test.yaml", rule_ids())
