"""A cell's route (transport and hops) is part of its identity: results.json, diff,
--baseline, waivers, test ids, evidence folders, claims; old results.json still load."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import TypedDict

import pytest

from conformance.cli import main
from conformance.core.vocabulary import Function, measurement_of
from conformance.errors import UserError
from conformance.matrix.assemble import with_expectations
from conformance.matrix.evidence import EvidenceWriter
from conformance.matrix.finish import route_times
from conformance.matrix.gates import evaluate, parse_gates
from conformance.matrix.routes import parse_via, resolve_transport
from conformance.matrix.spec import MatrixSpec
from conformance.matrix.waivers import apply_waivers, load_waivers, today
from conformance.profiles.claims import shipped_claims
from conformance.pytest_plugin import cell_id, parse_cell_id
from conformance.report.diff import diff_results
from conformance.results import AgentInfo, Cell, Results, RunInfo, load_results

LATER = (today() + timedelta(days=30)).isoformat()
HOPS = ("8bit-to-qp", "footer", "postfix")


def _results(sign_qp: str = "fail", sign_plain: str = "pass") -> Results:
    """openssl -> reference sign on the plain SMTP route and through 8bit-to-qp."""

    def cell(verdict: str, via: list[str]) -> Cell:
        return Cell.model_validate(
            {
                "sender": "openssl",
                "receiver": "reference",
                "function": "sign",
                "verdict": verdict,
                "transport": "smtp",
                "via": via,
                "examples": 2,
                "duration_s": 0.5,
            }
        )

    return Results(
        run=RunInfo(
            seed=1,
            examples=2,
            started="2026-12-04T00:00:00+00:00",
            complete=True,
            suite_version="test",
            settings={
                "transport": "smtp",
                "delivery_detail": "test",
                "delivery_note": "delivered to a maildir: test",
            },
        ),
        agents=[
            AgentInfo(
                id=a,
                name=a,
                kind="client",
                homologation="none",
                engine=a,
                measurement=measurement_of(a, "client"),
            )
            for a in ("openssl", "reference")
        ],
        cells=[cell(sign_plain, []), cell(sign_qp, ["8bit-to-qp"])],
        pairs=[],
    )


def test_old_results_without_a_route_still_load_and_diff(tmp_path: Path) -> None:
    results = _results()
    data = json.loads(results.model_dump_json())
    for cell in data["cells"]:
        del cell["transport"], cell["via"]
    data["cells"] = data["cells"][:1]  # an old run had one cell per (sender, receiver, f)
    old = tmp_path / "old.json"
    old.write_text(json.dumps(data), encoding="utf-8")
    loaded = load_results(old)
    assert (loaded.cells[0].transport, loaded.cells[0].via) == ("memory", [])
    assert loaded.cell("openssl", "reference", "sign") is loaded.cells[0]
    assert diff_results(loaded, loaded) == []
    assert main(["diff", str(old), str(old)]) == 0


def test_diff_keys_cells_by_route(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old, new = _results(sign_qp="pass"), _results(sign_qp="fail")
    changes = diff_results(old, new)
    assert [(c.via, c.before, c.after, c.kind) for c in changes] == [
        (("8bit-to-qp",), "pass", "fail", "regression")
    ]
    old.dump(tmp_path / "old.json")
    new.dump(tmp_path / "new.json")
    assert main(["diff", str(tmp_path / "old.json"), str(tmp_path / "new.json")]) == 0
    out = capsys.readouterr().out
    assert "openssl -> reference sign (smtp via 8bit-to-qp): pass -> fail" in out
    # Against a memory run, no SMTP cell is "the same cell": each is only in one run.
    memory = _results()
    for cell in memory.cells:
        cell.transport = "memory"
    assert {c.kind for c in diff_results(memory, new)} == {"other"}


def test_baseline_regression_names_the_route() -> None:
    items = evaluate(_results(sign_qp="fail"), parse_gates("regression"), _results(sign_qp="pass"))
    assert [(i.where, i.detail) for i in items] == [
        ("openssl -> reference sign (smtp via 8bit-to-qp)", "pass -> fail")
    ]


def test_findings_name_the_route() -> None:
    items = evaluate(_results(), parse_gates("finding"))
    assert [i.where for i in items] == ["openssl -> reference sign (smtp via 8bit-to-qp)"]


def _waivers(tmp_path: Path, via: str | None, verdict: str = "fail") -> list[str]:
    route = f"  via: {via}\n" if via is not None else ""
    path = tmp_path / "waivers.yaml"
    path.write_text(
        f"- sender: openssl\n  receiver: reference\n  function: sign\n{route}"
        f"  verdict: {verdict}\n  reason: known\n  expires: {LATER}\n",
        encoding="utf-8",
    )
    results = _results(sign_qp="fail", sign_plain="fail")
    unused = apply_waivers(results, load_waivers(path))
    assert not unused, unused
    return [c.route for c in results.cells if c.waived]


def test_waiver_without_via_covers_every_route(tmp_path: Path) -> None:
    assert _waivers(tmp_path, None) == ["smtp", "smtp via 8bit-to-qp"]


def test_waiver_with_via_covers_that_route_only(tmp_path: Path) -> None:
    assert _waivers(tmp_path, "8bit-to-qp") == ["smtp via 8bit-to-qp"]
    assert _waivers(tmp_path, "plain") == ["smtp"]


def test_waiver_on_a_route_not_run_is_unused(tmp_path: Path) -> None:
    path = tmp_path / "waivers.yaml"
    path.write_text(
        "- sender: openssl\n  receiver: reference\n  function: sign\n  via: footer\n"
        f"  verdict: fail\n  reason: known\n  expires: {LATER}\n",
        encoding="utf-8",
    )
    unused = apply_waivers(_results(), load_waivers(path))
    assert [u.why for u in unused] == ["no such cell in this run (via footer)"]


def test_a_pair_waiver_has_no_route(tmp_path: Path) -> None:
    path = tmp_path / "waivers.yaml"
    path.write_text(
        "- sender: openssl\n  receiver: reference\n  via: footer\n"
        f"  verdict: none\n  reason: known\n  expires: {LATER}\n",
        encoding="utf-8",
    )
    with pytest.raises(UserError, match="via: a route is a cell's"):
        load_waivers(path)


def test_via_parsing() -> None:
    assert parse_via(["8bit-to-qp,footer", "postfix+footer", "footer"], HOPS) == (
        ("8bit-to-qp",),
        ("footer",),
        ("postfix", "footer"),
    )
    with pytest.raises(UserError, match=r"unknown hop 'fooder' \(known: 8bit-to-qp, footer"):
        parse_via(["fooder"], HOPS)
    with pytest.raises(UserError, match="empty hop list"):
        parse_via(["footer,"], HOPS)
    assert resolve_transport(None, (("footer",),)) == "smtp"
    assert resolve_transport(None, ()) == "memory"
    with pytest.raises(UserError, match="--via needs the smtp transport"):
        resolve_transport("memory", (("footer",),))


class _OneCell(TypedDict):
    senders: tuple[str, ...]
    receivers: tuple[str, ...]
    functions: tuple[Function, ...]


def test_each_route_is_a_variant_of_every_cell() -> None:
    base: _OneCell = {
        "senders": ("reference",),
        "receivers": ("reference",),
        "functions": ("sign",),
    }
    assert MatrixSpec(**base).routed_cells() == [("reference", "reference", "sign", ())]
    spec = MatrixSpec(**base, transport="smtp", via=(("footer",), ("postfix", "footer")))
    assert [k[3] for k in spec.routed_cells()] == [(), ("footer",), ("postfix", "footer")]
    # --via without smtp (the plugin resolves it) keeps the memory run's one route.
    assert MatrixSpec(**base, via=(("footer",),)).routes() == ((),)


def test_test_ids_and_evidence_folders_carry_the_route(tmp_path: Path) -> None:
    assert cell_id("a", "b", "sign") == "a->b:sign"  # the memory run's ids are unchanged
    text = cell_id("a", "b", "sign", ("postfix", "footer"))
    assert text == "a->b:sign@postfix+footer"
    assert parse_cell_id(text) == ("a", "b", "sign", ("postfix", "footer"))
    assert parse_cell_id("a->b:sign") == ("a", "b", "sign", ())
    plain = EvidenceWriter(tmp_path, "a", "b", "sign")
    routed = EvidenceWriter(tmp_path, "a", "b", "sign", route=("footer",))
    assert str(plain.rel) == "evidence/a/b/sign"
    assert str(routed.rel) == "evidence/a/b/sign@footer"


def test_claims_are_compared_on_the_plain_route_only() -> None:
    claims = shipped_claims()
    sender, receiver, function = next(iter(claims.cells))
    plain = Cell(sender=sender, receiver=receiver, function=function, verdict="error")
    via = plain.model_copy(update={"transport": "smtp", "via": ["footer"]})
    found = with_expectations([plain, via], claims)
    assert found[0].expected is not None
    assert found[1].expected is None and not found[1].contradiction


def test_summary_gives_the_time_per_exchange_per_route() -> None:
    lines = route_times(_results())
    assert lines[1] == "time per exchange (delivered to a maildir: test):"
    assert lines[2:] == [
        "  smtp: 0.250s per exchange (2 exchanges in 1 cells, 0.5s)",
        "  smtp via 8bit-to-qp: 0.250s per exchange (2 exchanges in 1 cells, 0.5s)",
    ]
    memory = _results()
    memory.run.settings["transport"] = "memory"
    assert route_times(memory) == []


def _with_hops(results: Results) -> Results:
    results.run.settings |= {
        "delivery": "maildir",
        "via": [["8bit-to-qp"]],
        "hops": {
            "8bit-to-qp": {
                "stands_for": "a relay whose next hop lacks 8BITMIME",
                "stands_for_fr": "un relais dont le suivant n'a pas 8BITMIME",
                "simulated": True,
                "version": None,
            }
        },
    }
    return results


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_gateways_page_shows_what_survives(tmp_path: Path, lang: str) -> None:
    from conformance.report.render import render_report

    results = _with_hops(_results())
    results.cells[1].reason = "signature invalid: digest mismatch"
    render_report(results, tmp_path, lang=lang)
    page = (tmp_path / "gateways.html").read_text(encoding="utf-8")
    assert 'data-outcome="breaks"' in page
    assert "signature invalid: digest mismatch" in page
    assert ("simulation" in page) and ("8BITMIME" in page)
    assert "Passerelles" in page if lang == "fr" else "Gateways" in page
    assert 'href="gateways.html"' in (tmp_path / "index.html").read_text(encoding="utf-8")
    # A memory run has no gateways page (and a stale one is removed).
    memory = _results()
    memory.cells = memory.cells[:1]
    memory.cells[0].transport = "memory"
    memory.run.settings["transport"] = "memory"
    render_report(memory, tmp_path, lang=lang)
    assert not (tmp_path / "gateways.html").exists()
    assert 'href="gateways.html"' not in (tmp_path / "index.html").read_text(encoding="utf-8")


def test_survival_table_for_the_terminal() -> None:
    from conformance.report.gateways import survival_lines

    assert survival_lines(_with_hops(_results())) == [
        "",
        "gateway survival (cells that pass on the plain route and through the hop):",
        "  sender   8bit-to-qp",
        "  openssl         0/1",
    ]
    assert survival_lines(_with_hops(_results(sign_qp="pass")))[-1] == "  openssl         1/1"
