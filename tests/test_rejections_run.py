"""The rejection matrix runner: cells, verdicts, evidence, seeds, `run` and JUnit.

Two deliberately lax receivers show that the matrix finds false accepts where,
and only where, a receiver skips a check: a profile with its receiver checks
switched off, and a command adapter that verifies nothing (tests/lax_adapter.py,
`openssl cms -verify -noverify -nosigs` reporting every service).
"""

from __future__ import annotations

import json
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest

from conformance.cli import main
from conformance.matrix.cast import Cast
from conformance.matrix.test_rejections import receiver_of
from conformance.paths import PROFILES_DIR, REPO_DIR
from conformance.profiles.loader import load_profiles
from conformance.rejections.model import CLASSES, RejectionCase, load_cases
from conformance.rejections.run import (
    RejectionSettings,
    cell_verdict,
    rejection_seed,
    run_rejection_cell,
)
from conformance.replay_note import NOT_REPEATED
from conformance.results import RejectionCaseResult, RejectionCell, load_results

LAX = "lax-profile"
ADAPTER = "lax-adapter"
# The checks the lax profile switches off, and the cases only those checks refuse.
SWITCHED_OFF = {
    "require_chain: true": "require_chain: false",
    "check_revocation: true": "check_revocation: false",
    "check_sender_address: true": "check_sender_address: false",
    "check_validity: true": "check_validity: false",
    "check_key_usage: true": "check_key_usage: false",
}
GUARDED = {
    "defective-revoked",
    "defective-expired",
    "defective-not-yet-valid",
    "defective-unknown-root",
    "defective-unknown-critical-extension",
    "defective-wrong-extended-key-usage",  # check_key_usage
    "defective-no-signature-key-usage",  # check_key_usage
    "defective-path-length-exceeded",  # require_chain
    "defective-ca-without-key-cert-sign",  # require_chain
    "wrong-signer-issued-by-end-entity",
}
GUARDED_CLASSES = {"from-mismatch"}  # check_sender_address: every case of the class
# (Without nonRepudiation in its key usage a certificate gives no non-repudiation
# whatever the receiver checks: defective-no-nonrepudiation stays refused.)


@pytest.fixture(autouse=True)
def _software_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OSM_CONFORMANCE_TOKEN", "software")


def lax_profiles(directory: Path) -> Path:
    """The reference agent with its receiver checks off, and the lax adapter's profile."""
    directory.mkdir(parents=True, exist_ok=True)
    text = (PROFILES_DIR / "reference.yaml").read_text(encoding="utf-8")
    text = text.replace("id: reference\n", f"id: {LAX}\n")
    text = text.replace("name: Reference agent (osm-conformance)", "name: Lax profile")
    for before, after in SWITCHED_OFF.items():
        assert text.count(before) == 1, before
        text = text.replace(before, after)
    (directory / f"{LAX}.yaml").write_text(text, encoding="utf-8")
    adapter = REPO_DIR / "tests" / "lax_adapter.py"
    (directory / f"{ADAPTER}.yaml").write_text(
        f"id: {ADAPTER}\nextends: osm-2008-base\n"
        "identity: {name: Lax adapter, vendor: tests, kind: client, platforms: [linux]}\n"
        "homologation: {status: none}\n"
        f"engine: {{type: command, argv: [{sys.executable}, {adapter}], timeout_s: 30}}\n"
        "provenance:\n"
        "  identity: {assumed: true, reason: a test adapter}\n"
        "  homologation: {assumed: true, reason: a test adapter}\n"
        "  engine: {source: project-design}\n",
        encoding="utf-8",
    )
    return directory


@pytest.fixture(scope="module")
def cast() -> Iterator[Cast]:
    with tempfile.TemporaryDirectory(prefix="osm-rej-") as tmp:
        profiles = load_profiles([PROFILES_DIR, lax_profiles(Path(tmp) / "profiles")])
        chosen = {k: profiles[k] for k in ("reference", LAX, ADAPTER)}
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("OSM_CONFORMANCE_TOKEN", "software")
            found = Cast(chosen, workdir=Path(tmp))
            yield found
            found.close()


def outcomes(cast: Cast, agent_id: str, out: Path | None = None) -> dict[str, str]:
    """case id -> outcome (every producer agreeing), over every class."""
    found: dict[str, set[str]] = {}
    settings = RejectionSettings(policy="osm-2008", variants=1, seed=3, out_dir=out)
    for cls in CLASSES:
        cell = run_rejection_cell(receiver_of(cast, agent_id), cls, cast.pki, settings)
        assert cell.verdict != "error", (agent_id, cls, cell.reason)
        assert cell.verdict == cell_verdict([c.outcome for c in cell.cases])
        for case in cell.cases:
            found.setdefault(case.case, set()).add(case.outcome)
    return {case: "accepts" if "accepts" in o else o.pop() for case, o in found.items()}


def shipped() -> dict[str, RejectionCase]:
    return {c.id: c for c in load_cases()}


def test_the_lax_profile_accepts_exactly_what_its_switched_off_checks_guard(cast: Cast) -> None:
    reference = outcomes(cast, "reference")
    lax = outcomes(cast, LAX)
    assert set(reference) == set(lax) == set(shipped())
    assert "accepts" not in reference.values(), reference
    cases = shipped()
    expected = {c for c in lax if c in GUARDED or cases[c].cls in GUARDED_CLASSES} - {
        c for c in lax if cases[c].expectation("osm-2008") == "warn"
    }
    accepted = {c for c, o in lax.items() if o == "accepts"}
    assert accepted == expected
    for case, outcome in lax.items():
        if case not in expected:
            assert outcome == reference[case], case


# The content key encrypted to another key, or cut short: OpenSSL's `cms -decrypt` then
# goes on with a random content key (its countermeasure to Bleichenbacher's attack), and
# the CBC padding of what that decrypts is valid about once in 256 tries, when it exits 0
# with garbage (the openssl agent: 5 of 700 wrong-key and 1 of 700 truncated-key
# receptions). A lax adapter then claims it; either outcome is openssl's.
OPENSSL_GARBLES_AT_RANDOM = {"not-for-me-wrong-key", "not-for-me-truncated-key"}


def test_the_lax_adapter_accepts_every_signed_attack(cast: Cast, tmp_path: Path) -> None:
    """It claims every service of whatever openssl opens: only what openssl itself
    cannot decrypt is refused (not for it; AES-GCM whose tag fails; RC2 and DES, which
    OpenSSL 3 decrypts only with its legacy provider, so either outcome is allowed)."""
    found = outcomes(cast, ADAPTER, out=tmp_path)
    cases = shipped()
    must_refuse = {c for c in cases if cases[c].expectation("osm-2008") != "warn"}
    openssl_refuses = {c for c in cases if cases[c].cls == "not-for-me"} | {"efail-gcm-altered"}
    either = {"downgrade-rc2-40", "downgrade-des"} | OPENSSL_GARBLES_AT_RANDOM
    assert openssl_refuses >= OPENSSL_GARBLES_AT_RANDOM
    expected = must_refuse - openssl_refuses - either
    assert {c for c, o in found.items() if o == "accepts"} - either == expected
    assert all(found[c] == "refuses" for c in openssl_refuses - either)
    # Each false accept keeps its hostile message and what the adapter said.
    messages = list(tmp_path.rglob("*.hostile.eml"))
    assert {p.parent.parent.name for p in messages} == {ADAPTER}
    said = list((tmp_path / "evidence" / "rejections" / ADAPTER).rglob("*.status.json"))
    assert said and all(json.loads(p.read_text())["services"]["integrity"] for p in said[:1])


def test_a_false_accept_is_searched_for_shrunk_and_replayed(cast: Cast) -> None:
    """The lax profile refuses the basic variant of an altered message; drawn variants
    that it also refuses leave the case `refuses`, with every try counted (hypothesis
    stops early when a case has fewer distinct variants)."""
    settings = RejectionSettings(variants=3, seed=11)
    cell = run_rejection_cell(receiver_of(cast, LAX), "altered", cast.pki, settings)
    assert cell.verdict == "refuses", cell.reason
    assert all(2 <= c.examples <= 3 and c.seed is None for c in cell.cases)
    assert any(c.examples == 3 for c in cell.cases)
    adapter = run_rejection_cell(receiver_of(cast, ADAPTER), "wrong-signer", cast.pki, settings)
    assert adapter.verdict == "accepts" and adapter.reason
    first = adapter.cases[0]
    assert first.outcome == "accepts" and first.examples == 1  # the basic variant sufficed
    assert first.claimed and first.case in adapter.reason
    # accepted again when replayed: recorded as repeated, the cell not intermittent
    assert first.repeated is True and not adapter.intermittent
    assert all(c.repeated is None for c in cell.cases)  # nothing accepted, nothing replayed
    assert rejection_seed(1, "a", "c", "p") == rejection_seed(1, "a", "c", "p")
    assert rejection_seed(1, "a", "c", "p") != rejection_seed(2, "a", "c", "p")


def _answered_once_by(monkeypatch: pytest.MonkeyPatch, call: int, by: Any) -> None:
    """The `call`-th attempt of the run (1: the first case's basic variant, 2: its first
    drawn variant) is received by `by` instead of the cell's receiver."""
    from conformance.rejections import run as run_module

    real = run_module.attempt
    calls = 0

    def swapped(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == call:
            args = (*args[:2], by, *args[3:])
        return real(*args, **kwargs)

    monkeypatch.setattr(run_module, "attempt", swapped)


def test_an_acceptance_not_repeated_on_replay_stands_and_says_so(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A receiver that accepts a drawn variant once and refuses it when replayed (openssl
    decrypting with a random key when the content key is not for it, about 1 time in
    256) accepts: what it did once is observed; hypothesis calls the search flaky, and
    before the cell was an error."""
    lax, strict = receiver_of(cast, ADAPTER), receiver_of(cast, "reference")
    _answered_once_by(monkeypatch, 2, lax)  # the first drawn variant, by the lax adapter
    settings = RejectionSettings(variants=3, seed=11)
    got = run_rejection_cell(strict, "wrong-signer", cast.pki, settings)
    assert got.verdict == "accepts", got.reason
    first = got.cases[0]
    assert first.outcome == "accepts" and first.seed is not None
    assert first.reason is not None and first.reason.endswith(f"({NOT_REPEATED})")
    assert all(c.outcome == "refuses" for c in got.cases[1:])
    # the search's replay recorded as data, and the cell intermittent (diff, gates)
    assert first.repeated is False and got.intermittent
    assert all(c.repeated is None for c in got.cases[1:])


def test_the_replay_is_received_for_real_once_the_shrink_budget_is_spent(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the shrinking budget spent at the first acceptance, hypothesis's replay of the
    variant kept is still handed to the receiver: an acceptance it does not repeat is
    recorded as not repeated, never assumed repeated."""
    lax, strict = receiver_of(cast, ADAPTER), receiver_of(cast, "reference")
    _answered_once_by(monkeypatch, 2, lax)  # the first drawn variant, by the lax adapter
    settings = RejectionSettings(variants=3, seed=11, shrink_budget=1)
    first = run_rejection_cell(strict, "wrong-signer", cast.pki, settings).cases[0]
    assert first.outcome == "accepts" and first.repeated is False, first.reason
    assert first.reason is not None and first.reason.endswith(f"({NOT_REPEATED})")


def test_an_acceptance_repeated_after_the_shrink_budget_is_said_repeated(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other side of the budget's replay: a variant accepted again stays a plain
    acceptance, not one said not to repeat."""
    lax, strict = receiver_of(cast, ADAPTER), receiver_of(cast, "reference")
    _answered_once_by(monkeypatch, 1, strict)  # the basic variant refused: the search runs
    settings = RejectionSettings(variants=3, seed=11, shrink_budget=1)
    first = run_rejection_cell(lax, "wrong-signer", cast.pki, settings).cases[0]
    assert first.outcome == "accepts" and first.seed is not None
    assert first.repeated is True, first.reason


def test_a_basic_acceptance_is_replayed_once_and_says_when_it_did_not_repeat(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The basic variant accepted once, refused when replayed (openssl's random-key
    decrypt can do that on the basic variant too): accepts, saying it was not repeated;
    accepted both times: accepts, nothing said."""
    from conformance.rejections import run as run_module

    real = run_module.attempt
    lax, strict = receiver_of(cast, ADAPTER), receiver_of(cast, "reference")
    receivers: list[Any] = []

    def scripted(*args: Any, **kwargs: Any) -> Any:
        if receivers:
            args = (*args[:2], receivers.pop(0), *args[3:])
        return real(*args, **kwargs)

    monkeypatch.setattr(run_module, "attempt", scripted)
    settings = RejectionSettings(variants=3, seed=11)
    receivers[:] = [lax, strict]  # the first case's basic variant, then its replay
    flaky_cell = run_rejection_cell(strict, "wrong-signer", cast.pki, settings)
    flaky = flaky_cell.cases[0]
    assert flaky.outcome == "accepts" and flaky.examples == 1 and flaky.seed is None
    assert flaky.reason is not None and flaky.reason.endswith(f"({NOT_REPEATED})")
    assert flaky.repeated is False and flaky_cell.intermittent
    receivers[:] = [lax, lax]
    steady_cell = run_rejection_cell(strict, "wrong-signer", cast.pki, settings)
    steady = steady_cell.cases[0]
    assert steady.outcome == "accepts" and steady.reason is not None
    assert NOT_REPEATED not in steady.reason
    assert steady.repeated is True and not steady_cell.intermittent


def test_cell_verdict_order() -> None:
    assert cell_verdict(["refuses", "accepts", "error"]) == "accepts"
    assert cell_verdict(["refuses", "error"]) == "error"
    assert cell_verdict(["refuses", "not-applicable"]) == "refuses"
    assert cell_verdict(["not-applicable"]) == cell_verdict([]) == "not-applicable"


def test_a_broken_hostile_maker_is_an_error_not_a_verdict(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("producer failed")

    monkeypatch.setattr("conformance.rejections.run.make_hostile", broken)
    cell = run_rejection_cell(
        receiver_of(cast, "reference"), "altered", cast.pki, RejectionSettings()
    )
    assert cell.verdict == "error" and "producer failed" in (cell.reason or "")


def _run(tmp_path: Path, *extra: str) -> Path:
    out = tmp_path / "out"
    argv = ["run", "--quiet", "--jobs", "1", "--examples", "1", "--function", "sign"]
    argv += ["--sender", "reference", "--receiver", "reference", "--out", str(out), *extra]
    assert main(argv) == 0
    return out


def test_run_includes_the_rejection_matrix_with_its_policy(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    out = _run(tmp_path, "--policy", "modern", "--variants", "1", "--junit-xml", str(junit))
    results = load_results(out / "results.json")
    assert results.run.settings["policy"] == "modern" and results.run.settings["rejections"]
    assert results.run.settings["hypothesis_version"] == hypothesis.__version__
    found = results.rejections
    assert found is not None and found.policy == "modern"
    assert [c.cls for c in found.cells] == list(CLASSES)
    assert {c.receiver for c in found.cells} == {"reference"}
    assert found.duration_s is not None and found.duration_s > 0
    assert [s.receiver for s in found.receivers] == ["reference"]
    summary = found.receivers[0]
    assert summary.refuses + summary.accepts + summary.not_applicable + summary.error == 9
    assert set(summary.accepted_classes) == {c.cls for c in found.cells if c.verdict == "accepts"}
    assert found.accepting() == set(), found.receivers  # reference applies the policy too
    assert {i.id for i in found.cases} == set(shipped())
    for cell in found.cells:
        for case in cell.cases:
            assert case.expected == shipped()[case.case].expectation("modern")
            for rel in case.evidence:
                assert (out / rel).is_file(), rel
    assert (out / "refusals.html").is_file()
    # JUnit: one test case per rejection cell, carrying the cell.
    names = {}
    for testcase in ET.parse(junit).getroot().iter("testcase"):
        props = {p.get("name"): p.get("value") for p in testcase.iter("property")}
        if "osm_rejection" in props:
            names[str(testcase.get("name"))] = RejectionCell.model_validate_json(
                str(props["osm_rejection"])
            )
    assert sorted(names) == sorted(f"test_rejection_cell[reference:{c}]" for c in CLASSES)
    assert all(found.cell("reference", c.cls) == c for c in names.values())


def test_no_rejections_skips_it(tmp_path: Path) -> None:
    out = _run(tmp_path, "--no-rejections")
    results = load_results(out / "results.json")
    assert results.rejections is None and results.run.settings["rejections"] is False
    assert len(results.cells) == 1


def test_run_refuses_bad_rejection_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--policy", "lenient", "--out", str(tmp_path)])
    assert "invalid choice" in capsys.readouterr().err
    assert main(["run", "--variants", "0", "--out", str(tmp_path)]) != 0
    assert "--variants" in capsys.readouterr().err


def test_case_results_round_trip() -> None:
    result = RejectionCaseResult(case="c", producer="reference", outcome="accepts", expected="x")
    cell = RejectionCell(receiver="r", cls="altered", verdict="accepts", cases=[result])
    assert RejectionCell.model_validate_json(cell.model_dump_json()) == cell
    assert json.loads(cell.model_dump_json())["class"] == "altered"


def test_a_variant_that_breaks_again_after_the_shrink_budget_is_said_repeated(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A harness error in making a drawn variant, made again on hypothesis's replay once the
    budget is spent: it happened again, and the case does not say otherwise."""
    from conformance.rejections import hostile
    from conformance.rejections import run as run_module

    real = hostile.make_hostile

    def breaks_when_drawn(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("data") is not None:
            raise RuntimeError("cannot make this draw")
        return real(*args, **kwargs)

    monkeypatch.setattr(run_module, "make_hostile", breaks_when_drawn)
    settings = RejectionSettings(variants=3, seed=11, shrink_budget=1)
    first = run_rejection_cell(receiver_of(cast, "reference"), "wrong-signer", cast.pki, settings)
    case = first.cases[0]
    assert case.outcome == "error" and case.reason is not None, case
    assert "cannot make this draw" in case.reason and NOT_REPEATED not in case.reason
