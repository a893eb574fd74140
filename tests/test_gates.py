"""The CI gates of `run --fail-on` and the waivers file: each gate on crafted results, the
waivers' validation (FILE:LINE), and one real small run end to end."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.core.vocabulary import Measurement
from conformance.matrix.gates import GATE_EXIT, evaluate, parse_gates, report
from conformance.matrix.waivers import (
    WaiverError,
    apply_waivers,
    expired,
    load_waivers,
    today,
)
from conformance.paths import REPO_DIR
from conformance.report.render import render_report
from conformance.results import (
    AgentInfo,
    Cell,
    Contradiction,
    Pair,
    RejectionCaseResult,
    RejectionCell,
    Rejections,
    RejectionVerdict,
    Results,
    RunInfo,
    Verdict,
    load_results,
)

LATER = (today() + timedelta(days=30)).isoformat()
EARLIER = (today() - timedelta(days=1)).isoformat()


def _agent(agent_id: str, engine: str, measurement: Measurement) -> AgentInfo:
    return AgentInfo(
        id=agent_id,
        name=agent_id,
        kind="client",
        homologation="none",
        engine=engine,
        measurement=measurement,
    )


def crafted(*, accepts: bool = True, sign: Verdict = "fail") -> Results:
    """openssl (a real engine) and two simulated profiles: a failing real cell, a failing
    simulated one, a non-conformant real message, contradictions, a false accept."""
    cells = [
        Cell(sender="openssl", receiver="sim-a", function="sign", verdict=sign, reason="bad"),
        Cell(
            sender="openssl",
            receiver="sim-a",
            function="encrypt",
            verdict="pass",
            nonconformant=["MIME-001"],
        ),
        Cell(
            sender="sim-a",
            receiver="sim-b",
            function="sign",
            verdict="fail",
            expected="pass",
            contradiction=True,
            nonconformant=["ALG-002"],
        ),
    ]
    pairs = [
        Pair(sender="openssl", receiver="sim-a", interop="partial"),
        Pair(sender="sim-a", receiver="sim-b", interop="none", expected="full", contradiction=True),
    ]
    contradictions = [
        Contradiction(
            sender="sim-a", receiver="sim-b", function=None, expected="full", observed="none"
        ),
        Contradiction(
            sender="sim-a", receiver="sim-b", function="sign", expected="pass", observed="fail"
        ),
        Contradiction(
            sender="openssl",
            receiver="sim-a",
            function="encrypt",
            expected="digest sha256",
            observed="digest sha1",
        ),
    ]
    outcome: RejectionVerdict = "accepts" if accepts else "refuses"
    rcell = RejectionCell.model_validate(
        {
            "receiver": "openssl",
            "class": "altered",
            "verdict": outcome,
            "cases": [
                RejectionCaseResult(
                    case="altered-content",
                    producer="reference",
                    outcome=outcome,
                    expected="refuse",
                    reason="delivered",
                ),
                RejectionCaseResult(
                    case="altered-signature-value",
                    producer="reference",
                    outcome="refuses",
                    expected="refuse",
                ),
            ],
        }
    )
    sim_rcell = RejectionCell.model_validate(
        {
            "receiver": "sim-a",
            "class": "altered",
            "verdict": "accepts",
            "cases": [
                RejectionCaseResult(
                    case="altered-content",
                    producer="reference",
                    outcome="accepts",
                    expected="refuse",
                )
            ],
        }
    )
    return Results(
        run=RunInfo(
            seed=1,
            examples=1,
            started="2026-12-04T00:00:00+00:00",
            complete=True,
            suite_version="test",
        ),
        agents=[
            _agent("openssl", "openssl", "real-engine"),
            _agent("sim-a", "builtin", "simulated"),
            _agent("sim-b", "builtin", "simulated"),
        ],
        cells=cells,
        pairs=pairs,
        contradictions=contradictions,
        rejections=Rejections(policy="osm-2008", classes=["altered"], cells=[rcell, sim_rcell]),
    )


def waivers_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "waivers.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def open_items(results: Results, gate: str, baseline: Results | None = None) -> list[str]:
    return [
        f"{i.where}: {i.detail}"
        for i in evaluate(results, parse_gates(gate), baseline)
        if i.waived is None
    ]


def test_gate_names() -> None:
    assert parse_gates("finding, contradiction") == ["contradiction", "finding"]
    with pytest.raises(ValueError, match="unknown gate findings"):
        parse_gates("findings")
    with pytest.raises(ValueError, match="none"):
        parse_gates(",")


def test_finding_counts_real_implementations_only() -> None:
    found = open_items(crafted(), "finding")
    assert found == [
        "openssl -> sim-a sign: fail: bad",
        "openssl case altered-content (reference): accepts: delivered",
    ]
    # the same verdicts with no real side: a prediction, not a finding
    assert open_items(crafted(sign="pass", accepts=False), "finding") == []
    text, failed = report(evaluate(crafted(), ["finding"]), ["finding"])
    assert failed and "finding: FAIL: 2 item(s), 0 waived" in text


def test_non_conformant_counts_real_senders() -> None:
    assert open_items(crafted(), "non-conformant") == ["openssl -> sim-a encrypt: breaks MIME-001"]


def test_contradictions_all_three_kinds() -> None:
    assert len(open_items(crafted(), "contradiction")) == 3


def test_regression_needs_and_uses_the_baseline() -> None:
    old = crafted(sign="pass", accepts=False)
    assert open_items(crafted(sign="pass", accepts=False), "regression", old) == []
    assert open_items(crafted(), "regression", old) == [
        "openssl -> sim-a sign: pass -> fail",
        "openssl rejection altered: refuses -> accepts (altered-content)",
    ]
    # an improvement is no regression
    assert open_items(old, "regression", crafted()) == []
    with pytest.raises(ValueError, match="baseline"):
        evaluate(crafted(), ["regression"])


def test_an_intermittent_acceptance_is_no_regression_yet_a_finding() -> None:
    """openssl accepted the altered message once and refused it when it was replayed (as
    its random-key decrypt does): not the product's regression, still a real acceptance."""
    old = crafted(sign="pass", accepts=False)
    new = crafted(sign="pass")
    assert new.rejections is not None
    new.rejections.cells[0].cases[0].repeated = False
    assert open_items(new, "regression", old) == []
    assert open_items(new, "finding") == [
        "openssl case altered-content (reference): accepts: delivered"
    ]
    # accepted again on replay: the regression it was
    new.rejections.cells[0].cases[0].repeated = True
    assert open_items(new, "regression", old) == [
        "openssl rejection altered: refuses -> accepts (altered-content)"
    ]


def test_waivers_cover_their_items_and_are_recorded(tmp_path: Path) -> None:
    path = waivers_file(
        tmp_path,
        f"""\
- sender: openssl
  receiver: sim-a
  function: sign
  verdict: fail
  reason: "ticket 12: the vendor's fix ships in 4.2"
  expires: {LATER}
- {{receiver: openssl, case: altered-content, verdict: accepts, reason: known, expires: {LATER}}}
- {{sender: openssl, receiver: sim-a, function: encrypt, verdict: non-conformant,
    reason: bare LF, expires: {LATER}}}
- {{sender: sim-a, receiver: sim-b, verdict: none, reason: pair, expires: {LATER}}}
- {{sender: sim-a, receiver: sim-b, function: sign, verdict: fail, reason: c, expires: {LATER}}}
""",
    )
    results = crafted()
    assert apply_waivers(results, load_waivers(path)) == []
    old = crafted(sign="pass", accepts=False)
    for gate in ("finding", "non-conformant", "regression"):
        assert open_items(results, gate, old) == [], gate
    # a profile's declaration contradicted by its own message is never waived
    assert open_items(results, "contradiction") == [
        "openssl -> sim-a encrypt: expected digest sha256, observed digest sha1"
    ]
    text, failed = report(evaluate(results, ["finding"]), ["finding"])
    assert not failed and "finding: ok: 0 item(s), 2 waived" in text
    # recorded in results.json, and a rejection cell is waived when all its accepts are
    results.dump(tmp_path / "results.json")
    again = load_results(tmp_path / "results.json")
    sign = again.cell("openssl", "sim-a", "sign")
    assert sign is not None and sign.waived[0].reason.startswith("ticket 12")
    assert sign.waived[0].where.endswith("waivers.yaml:1")
    assert again.rejections is not None
    assert again.rejections.cells[0].waived and not again.rejections.cells[1].waived
    # applying again replaces, never doubles
    apply_waivers(again, load_waivers(path))
    assert len(again.cells[0].waived) == 1


def test_unused_waivers_say_why(tmp_path: Path) -> None:
    path = waivers_file(
        tmp_path,
        f"""\
- {{sender: openssl, receiver: sim-a, function: sign, verdict: partial, reason: r,
    expires: {LATER}}}
- {{sender: openssl, receiver: nss, function: sign, verdict: fail, reason: r, expires: {LATER}}}
- {{receiver: sim-b, case: altered-content, verdict: accepts, reason: r, expires: {LATER}}}
- {{sender: sim-a, receiver: sim-b, function: encrypt, verdict: non-conformant, reason: r,
    expires: {LATER}}}
""",
    )
    unused = [str(u) for u in apply_waivers(crafted(), load_waivers(path))]
    assert len(unused) == 4
    assert "waivers.yaml:1: unused waiver" in unused[0] and "it is fail in this run" in unused[0]
    assert "no such cell in this run" in unused[1]
    assert "no such rejection case" in unused[2]
    assert "no such cell" in unused[3]


def test_waivers_file_errors_name_file_and_line(tmp_path: Path) -> None:
    path = waivers_file(
        tmp_path,
        f"""\
- sender: openssl
  receiver: sim-a
  function: sing
  verdict: fail
  reason: r
  expires: {LATER}
- receiver: openssl
  case: no-such-case
  verdict: accepts
  reason: r
  expires: {LATER}
- receiver: openssl
  case: altered-content
  verdict: fail
  reason: r
  expires: tomorrow
- sender: a
  receiver: b
  verdict: fail
  reson: r
  expires: {LATER}
""",
    )
    with pytest.raises(WaiverError) as caught:
        load_waivers(path)
    text = str(caught.value)
    assert "waivers.yaml:3: waiver 1: function: 'sing' is not one of" in text
    assert "waivers.yaml:8: waiver 2: case: unknown rejection case 'no-such-case'" in text
    assert "waivers.yaml:16: waiver 3: expires:" in text
    assert "waivers.yaml:20: waiver 4: reson: unknown field (did you mean 'reason'?)" in text
    assert "waivers.yaml:17: waiver 4: reason: missing required field" in text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sender: a\n", ":1: expected a list of waivers"),
        ("- [unclosed\n", "YAML syntax error"),
        (
            f"- {{receiver: a, case: altered-content, verdict: fail, reason: r, "
            f"expires: {LATER}}}\n",
            ":1: waiver 1: verdict: a rejection case waives 'accepts', not 'fail'",
        ),
        (
            f"- {{sender: a, receiver: b, verdict: fail, reason: r, expires: {LATER}}}\n",
            "without function the waiver is for the pair",
        ),
        (
            f"- {{receiver: b, verdict: fail, reason: r, expires: {LATER}}}\n",
            "give sender (and function)",
        ),
        (
            f"- {{sender: a, receiver: b, verdict: none, reason: r, expires: {LATER}}}\n" * 2,
            ":2: duplicate of the waiver at line 1",
        ),
        (
            f"- {{sender: a, receiver: b, verdict: none, reason: '  ', expires: {LATER}}}\n",
            "reason",
        ),
    ],
)
def test_waivers_file_inconsistencies(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(WaiverError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        load_waivers(waivers_file(tmp_path, text))


def test_expiry(tmp_path: Path) -> None:
    path = waivers_file(
        tmp_path,
        f"- {{sender: a, receiver: b, verdict: none, reason: r, expires: {EARLIER}}}\n"
        f"- {{sender: a, receiver: c, verdict: none, reason: r, expires: {today()}}}\n",
    )
    loaded = load_waivers(path)
    assert [w.where.rsplit(":", 1)[1] for w in expired(loaded, today())] == ["1"]
    assert expired(loaded, date.fromisoformat(EARLIER)) == []
    assert load_waivers(waivers_file(tmp_path, "")) == []


def test_report_marks_waived_cells(tmp_path: Path) -> None:
    path = waivers_file(
        tmp_path,
        f"- {{sender: openssl, receiver: sim-a, function: sign, verdict: fail, "
        f"reason: <b>ticket 12</b>, expires: {LATER}}}\n"
        f"- {{receiver: openssl, case: altered-content, verdict: accepts, reason: known case, "
        f"expires: {LATER}}}\n",
    )
    results = crafted()
    apply_waivers(results, load_waivers(path))
    index = render_report(results, tmp_path / "fr").read_text("utf-8")
    assert 'class="waived-flag">dérogation<' in index
    assert "&lt;b&gt;ticket 12&lt;/b&gt;" in index and f"jusqu&#39;au {LATER}" in index
    refusals = (tmp_path / "fr" / "refusals.html").read_text("utf-8")
    assert "known case" in refusals and "waived-flag" in refusals
    english = render_report(crafted(), tmp_path / "en", lang="en").read_text("utf-8")
    assert 'class="waived-flag"' not in english  # no waiver, no mark


# --- the command line ----------------------------------------------------------------------


def test_run_refuses_bad_gate_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = ["--out", str(tmp_path / "out"), "--no-rejections", "--sender", "reference"]
    assert main(["run", "--fail-on", "regression", *out]) == 2
    assert "needs --baseline" in capsys.readouterr().err
    with pytest.raises(SystemExit) as caught:
        main(["run", "--fail-on", "findings", *out])
    assert caught.value.code == 2
    stale = waivers_file(
        tmp_path, f"- {{sender: a, receiver: b, verdict: none, reason: why, expires: {EARLIER}}}\n"
    )
    assert main(["run", "--waivers", str(stale), *out]) == GATE_EXIT
    err = capsys.readouterr().err
    assert f"waivers.yaml:1: waiver expired on {EARLIER}" in err and "renew" in err
    assert not (tmp_path / "out" / "results.json").exists()  # refused before the run


def test_run_help_documents_gates_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = capsys.readouterr().out
    for word in ("--fail-on", "--waivers", "--baseline", "non-conformant", "exit codes", "130"):
        assert word in text
    assert "\n  4    a --fail-on gate" in text  # the epilog's table kept as written
    assert max(len(line) for line in text.splitlines()) <= 100  # the description filled


def test_a_real_run_fails_then_passes_with_waivers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """OpenSSL (a real engine) to the Apicrypt model: a finding (it does not read S/MIME)
    and a non-conformant message (OpenSSL writes bare LF)."""
    monkeypatch.setenv("OSM_CONFORMANCE_TOKEN", "software")
    out = tmp_path / "out"
    argv = ["run", "-q", "--jobs", "1", "--examples", "1", "--no-rejections", "--out", str(out)]
    argv += ["--sender", "openssl", "--receiver", "apimail-apicrypt", "--function", "sign"]
    gate = ["--fail-on", "finding,non-conformant"]
    assert main([*argv, *gate]) == GATE_EXIT
    printed = capsys.readouterr().out
    assert "finding: FAIL: 1 item(s)" in printed and "non-conformant: FAIL: 1 item(s)" in printed
    cell = load_results(out / "results.json").cells[0]
    path = waivers_file(
        tmp_path,
        f"""\
- sender: openssl
  receiver: apimail-apicrypt
  function: sign
  verdict: {cell.verdict}
  reason: Apicrypt does not read S/MIME
  expires: {LATER}
- sender: openssl
  receiver: apimail-apicrypt
  function: sign
  verdict: non-conformant
  reason: OpenSSL writes bare LF
  expires: {LATER}
- sender: openssl
  receiver: apimail-apicrypt
  function: encrypt
  verdict: fail
  reason: not in this run
  expires: {LATER}
""",
    )
    baseline = tmp_path / "baseline.json"
    (out / "results.json").replace(baseline)
    more = ["--waivers", str(path), "--baseline", str(baseline)]
    assert main([*argv, *more, "--fail-on", "finding,non-conformant,regression"]) == 0
    captured = capsys.readouterr()
    assert "finding: ok: 0 item(s), 1 waived" in captured.out
    assert "regression: ok: 0 item(s), 0 waived" in captured.out
    assert "waivers.yaml:13: unused waiver" in captured.err and "no such cell" in captured.err
    data = json.loads((out / "results.json").read_text("utf-8"))
    assert [w["verdict"] for w in data["cells"][0]["waived"]] == [cell.verdict, "non-conformant"]
    assert data["run"]["settings"]["waivers"] == str(path.resolve())
    assert "dérogation" in (out / "index.html").read_text("utf-8")


def test_the_documented_example_loads(tmp_path: Path) -> None:
    text = (REPO_DIR / "docs" / "matrix.md").read_text("utf-8")
    example = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    loaded = load_waivers(waivers_file(tmp_path, example))
    assert [w.waiver.target() for w in loaded] == [
        "openssl -> apimail-apicrypt sign",
        "sermentis-mms -> mmua pair",
        "openssl -> reference sign via 8bit-to-qp",
        "my-product case from-mismatch-header",
    ]


def test_a_product_observed_outside_the_matrix_is_real() -> None:
    """vectors verify / import: the real product's cells and false accepts are findings."""
    results = crafted(sign="pass", accepts=False)
    results.agents.append(
        AgentInfo(
            id="sim-b-real",
            name="b",
            kind="client",
            homologation="none",
            engine="real-product",
            measurement="real-vectors",
            observed=["machine"],
        )
    )
    results.cells.append(
        Cell(sender="sim-a", receiver="sim-b-real", function="sign", verdict="partial")
    )
    assert open_items(results, "finding") == ["sim-a -> sim-b-real sign: partial"]


def test_the_plugin_refuses_a_bad_waivers_file_before_the_matrix(tmp_path: Path) -> None:
    import subprocess
    import sys

    bad = waivers_file(tmp_path, "- {sender: a, receiver: b, verdict: none}\n")
    argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--pyargs"]
    argv += ["conformance.matrix.test_matrix", "--osm-matrix", f"--osm-waivers={bad}"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 4  # pytest's usage error
    assert "waivers.yaml:1: waiver 1: reason: missing required field" in done.stderr
