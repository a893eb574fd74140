"""Where each agent's private keys were, in results.json and on its product sheet: gpgsm and
gpgsm-cps differ only there, and a simulated product said to hold a CPS card runs with
software keys when the run keeps the card's keys in software."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_report_sample import sample_results

from conformance.matrix.assemble import agent_info
from conformance.profiles.loader import load_profile, load_profiles
from conformance.report import render_report
from conformance.token import TOKEN_ENV, softhsm

PROFILES = load_profiles()
ADAPTER = Path(__file__).resolve().parent.parent / "examples" / "adapters" / "fictimail.yaml"


@pytest.mark.parametrize(
    ("agent", "keys"),
    [
        ("gpgsm", "software"),
        ("gpgsm-cps", "card"),
        ("openssl", "software"),
        ("reference", "software"),
        ("apimail-apicrypt", None),
    ],
)
def test_what_results_say_of_the_keys(agent: str, keys: str | None) -> None:
    assert agent_info(PROFILES[agent], {}).keys == keys


def test_an_adapters_keys_are_not_known() -> None:
    assert agent_info(load_profile(ADAPTER), {}).keys is None


@pytest.mark.skipif(not softhsm.available(), reason="SoftHSM2 is not installed")
def test_a_card_is_a_card_only_when_the_run_uses_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    smm = PROFILES["smm"]
    assert smm.engine.type == "builtin" and smm.engine.keys == "card"
    monkeypatch.setenv(TOKEN_ENV, "softhsm")
    assert agent_info(smm, {}).keys == "card"
    monkeypatch.setenv(TOKEN_ENV, "software")
    assert agent_info(smm, {}).keys == "software"
    assert agent_info(PROFILES["gpgsm-cps"], {}).keys == "card"  # it does not run then


def test_the_product_sheet_says_where_the_keys_are(tmp_path: Path) -> None:
    results = sample_results(tmp_path)
    first, second = results.agents[0], results.agents[1]
    first.keys, second.keys = "card", None
    render_report(results, tmp_path)
    sheet = (tmp_path / "products" / f"{first.id}.html").read_text("utf-8")
    assert "Clés privées" in sheet and "sur la carte CPS (SoftHSM2 en tient lieu ici)" in sheet
    other = (tmp_path / "products" / f"{second.id}.html").read_text("utf-8")
    assert "Clés privées" not in other  # not known: not said
