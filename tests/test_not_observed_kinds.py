"""Why a cell was not observed, as facts (`Cell.not_observed`) the pages word in their
language: a French reader gets French, not the suite's English reason.

The English reason stays as it was (a contract); a results.json written before the
facts (no `not_observed`) still loads and its pages still quote that English reason.
The kinds set by the matrix are checked where each case is made: here the engine and
the hop missing (the matrix's cell test), elsewhere the directory missing
(test_directory.py), the route's size limit (test_audit_mail_route_limit.py) and the
suite's failed lookup (test_directory_suite_lookup_failed.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_report_sample import sample_results

from conformance.errors import MissingComponent
from conformance.matrix.test_matrix import test_cell as matrix_cell
from conformance.report import render_report
from conformance.report.i18n import Translator
from conformance.report.views import ReportModel
from conformance.results import NotObserved, Results

DETAIL = "127.0.0.1:2525 answered 552 Error: message size exceeds fixed maximum message size"
REASON = (
    "not observed: the message (10592 bytes) is over the size limit set on the suite's own "
    f"relays (--max-message-bytes 1024), not a product's: {DETAIL}"
)


class _Spec:
    transport = "smtp"
    seed = 1
    out_dir = None


class _Cast:
    """A cast whose receiver's engine is missing, or (`hop_missing`) whose engines are
    here and whose Postfix hop cannot run."""

    def __init__(self, hop_missing: str | None = None) -> None:
        self.hop_missing = hop_missing

    def seat(self, agent_id: str, role: str) -> object:
        if self.hop_missing is None and role == "receiver":
            raise MissingComponent("cmsutil is not installed: apt-get install libnss3-tools")
        return object()

    def route_missing(self, route: tuple[str, ...]) -> str | None:
        return self.hop_missing if "postfix" in route else None


def _recorded(cast: _Cast, route: tuple[str, ...] = ()) -> dict[str, Any]:
    recorded: dict[str, object] = {}
    with pytest.raises(pytest.skip.Exception):
        matrix_cell(("reference", "nss", "sign", route), cast, _Spec(), recorded.__setitem__)  # type: ignore[arg-type]
    cell = json.loads(str(recorded["osm_cell"]))
    assert isinstance(cell, dict)
    return cell


def test_the_missing_engine_is_the_receivers() -> None:
    cell = _recorded(_Cast())
    assert cell["observed"] is False
    assert cell["reason"] == "not installed here: cmsutil is not installed: apt-get install " + (
        "libnss3-tools"
    )
    assert cell["not_observed"] == {
        "kind": "engine-missing",
        "agent": "nss",
        "hop": None,
        "size": None,
        "limit": None,
        "detail": "cmsutil is not installed: apt-get install libnss3-tools",
    }


def test_a_hop_that_cannot_run_is_named() -> None:
    why = "Postfix refuses to run as a non-root user here: the Postfix hop needs root"
    cell = _recorded(_Cast(hop_missing=why), ("footer", "postfix"))
    assert (cell["observed"], cell["reason"]) == (False, f"not run: {why}")
    assert cell["not_observed"] is not None
    assert (cell["not_observed"]["kind"], cell["not_observed"]["hop"]) == ("hop-missing", "postfix")
    assert cell["not_observed"]["detail"] == why


def _not_observed(root: Path, why: NotObserved | None) -> Results:
    results = sample_results(root)
    cell = results.cell("docteur-net-cps", "openssl", "sign")
    assert cell is not None
    cell.verdict, cell.observed, cell.reason, cell.not_observed = "unsupported", False, REASON, why
    return results


def _detail(root: Path, results: Results, lang: str) -> str:
    render_report(results, root, lang=lang)
    pv = ReportModel(results, Translator(lang)).pairs[("docteur-net-cps", "openssl")]
    html = (root / "index.html").read_text("utf-8").replace("&#39;", "'")
    start = html.index(f'<section class="detail" id="{pv.id}"')
    return html[start : html.index("</section>", start)]


SIZE = NotObserved(kind="route-size-limit", size=10592, limit=1024, detail=DETAIL)


@pytest.mark.parametrize(
    ("lang", "sentence"),
    [
        (
            "fr",
            "(motif de la suite : le message (10592 octets) dépasse la taille maximale fixée "
            "sur les relais de la suite (--max-message-bytes 1024) : une limite du testeur, "
            "pas d'un produit : ",
        ),
        (
            "en",
            "(the suite's reason: the message (10592 bytes) is over the size limit set on the "
            "suite's own relays (--max-message-bytes 1024): the tester's limit, not a "
            "product's: ",
        ),
    ],
)
def test_the_page_words_the_kind_in_its_language(tmp_path: Path, lang: str, sentence: str) -> None:
    detail = _detail(tmp_path, _not_observed(tmp_path, SIZE), lang)
    assert sentence + f'<q lang="en">{DETAIL}</q>)' in detail
    assert "not observed: the message" not in detail  # the English reason is not quoted


def test_every_kind_is_worded_in_both_languages(tmp_path: Path) -> None:
    results = _not_observed(tmp_path, None)
    cell = results.cell("docteur-net-cps", "openssl", "sign")
    assert cell is not None
    kinds = {
        "engine-missing": NotObserved(kind="engine-missing", agent="openssl"),
        "hop-missing": NotObserved(kind="hop-missing", hop="postfix"),
        "directory-missing": NotObserved(kind="directory-missing"),
        "store-missing": NotObserved(kind="store-missing", detail="dovecot did not start"),
        "route-size-limit": SIZE,
        "suite-lookup-failed": NotObserved(kind="suite-lookup-failed", agent="openssl"),
    }
    for lang in ("fr", "en"):
        model = ReportModel(results, Translator(lang))
        worded = {kind: model.not_observed(why, cell) for kind, why in kinds.items()}
        assert len(set(worded.values())) == len(kinds), worded
        assert "{" not in "".join(worded.values())
        assert worded["engine-missing"].startswith(model.agent_name("openssl"))
        assert "postfix" in worded["hop-missing"]


def test_a_results_json_written_before_the_kind_quotes_the_english_reason(
    tmp_path: Path,
) -> None:
    data = json.loads(_not_observed(tmp_path, SIZE).model_dump_json())
    for cell in data["cells"]:
        del cell["not_observed"]  # as a file written before it
    old = Results.model_validate(data)
    found = old.cell("docteur-net-cps", "openssl", "sign")
    assert found is not None and found.not_observed is None and not found.observed
    detail = _detail(tmp_path, old, "fr")
    assert f'(motif de la suite : <q lang="en">{REASON}</q>)' in detail


def test_the_gateways_page_words_a_hop_that_could_not_run(tmp_path: Path) -> None:
    results = sample_results(tmp_path)
    plain = results.cell("docteur-net-cps", "openssl", "sign")
    assert plain is not None
    why = "Postfix refuses to run as a non-root user here: the Postfix hop needs root"
    results.run.settings.update(transport="smtp", via=[["postfix"]])
    results.cells.append(
        plain.model_copy(
            update={
                "via": ["postfix"],
                "transport": "smtp",
                "verdict": "unsupported",
                "observed": False,
                "reason": f"not run: {why}",
                "not_observed": NotObserved(kind="hop-missing", hop="postfix", detail=why),
            }
        )
    )
    render_report(results, tmp_path, lang="fr")
    page = (tmp_path / "gateways.html").read_text("utf-8").replace("&#39;", "'")
    assert (
        "(motif de la suite : l'étape postfix de la route ne peut pas tourner ici : "
        f'<q lang="en">{why}</q>)'
    ) in page
    assert f"not run: {why}" not in page
