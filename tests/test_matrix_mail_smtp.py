"""The matrix over real SMTP on loopback (`run --transport smtp --via`): the 8-bit-to-QP
finding on a detached signature and not on an opaque one, read from results.json; the
memory default unchanged; a gateway's refusal a finding; a hop that cannot run skipped
with its reason; diff and the gates keyed on the route."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conformance.cli import main
from conformance.mail import dovecot
from conformance.matrix.gates import GATE_EXIT
from conformance.paths import PROFILES_DIR
from conformance.report.diff import diff_results
from conformance.results import load_results

# openssl's 5th generated example of `sign` under the default seed is an 8-bit letter
# ("Cher confrère,"): 6 examples reach it (the cell's seed depends on the sender's id,
# so the opaque copy of openssl below draws the very same examples).
EXAMPLES = "6"


@pytest.fixture(autouse=True)
def _software_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OSM_CONFORMANCE_TOKEN", "software")


def _run(out: Path, *extra: str) -> int:
    argv = ["run", "-q", "--jobs", "1", "--no-rejections", "--out", str(out)]
    argv += ["--sender", "openssl", "--sender", "reference", "--receiver", "reference"]
    argv += ["--function", "sign", *extra]
    return main(argv)


def _cells(out: Path) -> dict[tuple[str, str], dict[str, Any]]:
    data = json.loads((out / "results.json").read_text("utf-8"))
    return {(c["sender"], "+".join(c["via"])): c for c in data["cells"]}


def test_8bit_to_qp_breaks_a_detached_signature_not_an_opaque_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    detached = tmp_path / "detached"
    code = _run(detached, "--via", "8bit-to-qp", "--examples", EXAMPLES, "--fail-on", "finding")
    assert code == GATE_EXIT  # the finding is openssl's, a real engine, through the hop
    printed = capsys.readouterr().out
    assert "finding: FAIL: 1 item(s)" in printed
    assert "openssl -> reference sign (smtp via 8bit-to-qp): partial" in printed
    cells = _cells(detached)
    assert set(cells) == {
        ("openssl", ""),
        ("openssl", "8bit-to-qp"),
        ("reference", ""),
        ("reference", "8bit-to-qp"),
    }
    assert {c["transport"] for c in cells.values()} == {"smtp"}
    # On the plain route every signature verifies; through the relay without 8BITMIME,
    # openssl's detached signature over 8-bit text (it keeps the text as it is) breaks.
    assert cells[("openssl", "")]["verdict"] == "pass"
    broken = cells[("openssl", "8bit-to-qp")]
    assert broken["sent"]["signature_format"] == ["multipart-signed"]
    assert broken["verdict"] == "partial"
    assert "message-digest" in broken["reason"]
    assert "8bit" in broken["counterexample"]["description"]
    assert all(
        p.startswith("evidence/openssl/reference/sign@8bit-to-qp/") for p in broken["evidence"]
    )
    # reference writes its text quoted-printable before signing: nothing 8-bit to convert.
    assert cells[("reference", "8bit-to-qp")]["verdict"] == "pass"
    settings = json.loads((detached / "results.json").read_text("utf-8"))["run"]["settings"]
    assert settings["transport"] == "smtp" and settings["via"] == [["8bit-to-qp"]]
    assert settings["delivery"] == ("imap" if dovecot.missing() is None else "maildir")
    assert settings["hops"]["8bit-to-qp"]["simulated"] is True
    page = (detached / "gateways.html").read_text("utf-8")
    assert 'data-outcome="breaks"' in page and 'data-outcome="survives"' in page

    # The same openssl, sending opaque signed-data: same seed, same examples, 8-bit
    # letter included; the signed content travels inside base64 and survives.
    opaque_profile = tmp_path / "openssl.yaml"
    text = (PROFILES_DIR / "openssl.yaml").read_text("utf-8")
    opaque_profile.write_text(
        text.replace("    format: multipart-signed", "    format: opaque", 1), "utf-8"
    )
    opaque = tmp_path / "opaque"
    assert _run(opaque, "--profiles", str(opaque_profile), "--via", "8bit-to-qp",
                "--examples", EXAMPLES) == 0  # fmt: skip
    cells = _cells(opaque)
    assert cells[("openssl", "8bit-to-qp")]["sent"]["signature_format"] == ["opaque"]
    assert cells[("openssl", "8bit-to-qp")]["verdict"] == "pass"
    assert cells[("openssl", "8bit-to-qp")]["examples"] == int(EXAMPLES)

    # diff keys on the route: the cell through the hop improved, the plain one did not move.
    changes = diff_results(
        load_results(detached / "results.json"), load_results(opaque / "results.json")
    )
    assert [(c.sender, c.via, c.kind) for c in changes] == [
        ("openssl", ("8bit-to-qp",), "improvement")
    ]
    assert main(["diff", str(detached / "results.json"), str(opaque / "results.json")]) == 0
    assert "openssl -> reference sign (smtp via 8bit-to-qp): partial -> pass" in (
        capsys.readouterr().out
    )


def test_memory_stays_the_default(tmp_path: Path) -> None:
    assert _run(tmp_path, "--examples", "1", "--junit-xml", str(tmp_path / "j.xml")) == 0
    cells = _cells(tmp_path)
    assert set(cells) == {("openssl", ""), ("reference", "")}
    assert {c["transport"] for c in cells.values()} == {"memory"}
    settings = json.loads((tmp_path / "results.json").read_text("utf-8"))["run"]["settings"]
    assert settings["transport"] == "memory" and settings["via"] == []
    assert "delivery" not in settings
    assert not (tmp_path / "gateways.html").exists()
    assert 'name="test_cell[openssl-&gt;reference:sign]"' in (tmp_path / "j.xml").read_text()


def test_an_unknown_hop_is_refused_before_any_cell(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(tmp_path, "--via", "8bit-to-qp,fooder") == 2
    err = capsys.readouterr().err
    assert "unknown hop 'fooder'" in err and "8bit-to-qp" in err
    assert _run(tmp_path, "--transport", "memory", "--via", "footer") == 2
    assert "--via needs the smtp transport" in capsys.readouterr().err
    assert not (tmp_path / "results.json").exists()


def test_the_testers_size_limit_is_not_the_products_failure(tmp_path: Path) -> None:
    """The hops' SIZE follows --max-message-bytes: a signed letter over it is refused 552,
    on every route; the limit is the tester's, on the suite's own relays, so the cell is
    not observed (`unsupported`, the refusal named), not the products' `fail`: no finding
    for openssl, a real engine (tests/test_audit_mail_route_limit.py: a gateway that grows
    a message over it is a finding)."""
    argv = ["--via", "footer", "--examples", "1", "--max-message-bytes", "2k"]
    assert _run(tmp_path, *argv, "--fail-on", "finding") == 0
    cells = _cells(tmp_path)
    for cell in cells.values():
        assert cell["verdict"] == "unsupported" and cell["observed"] is False
        assert cell["reason"].startswith("not observed: the message (") and "552" in cell["reason"]
        assert "(--max-message-bytes 2048), not a product's" in cell["reason"]
        assert cell["not_observed"]["kind"] == "route-size-limit"
        assert cell["not_observed"]["limit"] == 2048
    results = json.loads((tmp_path / "results.json").read_text("utf-8"))
    assert results["run"]["settings"]["max_message_bytes"] == 2048
    # Nothing of the products seen: no pair says they do not interoperate.
    assert {p["interop"] for p in results["pairs"]} == {"not-observed"}
    page = (tmp_path / "index.html").read_text("utf-8")
    assert "not observed here" in page or "non observé ici" in page


def test_a_postfix_route_that_cannot_run_is_skipped_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where Postfix cannot run (not installed, not root), its cells say why and are
    skipped, as an engine not installed is; the plain route's cells run."""
    from conformance.matrix import mailstores

    reason = "Postfix refuses to run as a non-root user here"
    monkeypatch.setattr(mailstores, "missing_postfix", lambda: reason)
    assert _run(tmp_path, "--via", "postfix", "--examples", "1", "--sender", "openssl") == 0
    cells = _cells(tmp_path)
    for sender in ("openssl", "reference"):
        assert cells[(sender, "postfix")]["verdict"] == "unsupported"
        assert cells[(sender, "postfix")]["reason"] == f"not run: {reason}"
        assert cells[(sender, "postfix")]["not_observed"]["kind"] == "hop-missing"
        assert cells[(sender, "postfix")]["not_observed"]["hop"] == "postfix"
        assert cells[(sender, "")]["verdict"] == "pass"


def test_the_real_postfix_hop(tmp_path: Path) -> None:
    """Through the real Postfix, relaying to a hop without 8BITMIME: Postfix's own MIME
    conversion breaks openssl's detached signature over the 8-bit letter, as the simulated
    8bit-to-qp gateway does, and reference's (quoted-printable before signing) survives."""
    from conformance.matrix.routes import missing_postfix

    missing = missing_postfix()
    if missing is not None:
        pytest.skip(f"not run: {missing}")
    assert _run(tmp_path, "--via", "postfix", "--examples", EXAMPLES) == 0
    cells = _cells(tmp_path)
    assert cells[("reference", "postfix")]["verdict"] == "pass"
    assert cells[("openssl", "")]["verdict"] == "pass"
    broken = cells[("openssl", "postfix")]
    assert broken["verdict"] == "partial", broken["reason"]
    assert "message-digest" in broken["reason"]
    assert "8bit" in broken["counterexample"]["description"]
    hop = json.loads((tmp_path / "results.json").read_text("utf-8"))["run"]["settings"]["hops"]
    assert hop["postfix"]["simulated"] is False and hop["postfix"]["version"]
