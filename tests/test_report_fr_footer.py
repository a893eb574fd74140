"""The run's header and footer: a French page names the suite's engine in French, and every
date of the run is written the same way (the header wrote `16:25:22+00:00`, the footer
`2026-12-05T16:25:22+00:00`)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance.report.i18n import Translator
from conformance.report.render import render_report
from conformance.report.views import ReportModel
from conformance.results import AgentInfo, Results, RunInfo

STARTED = "2026-12-05T16:25:22+00:00"
FINISHED = "2026-12-05T16:28:19+00:00"
SUITE_ENGINE = "osm-conformance 0.1.0 engine, profile smm"
TOOL = "OpenSSL 3.0.19 27 Jan 2026"


def _results() -> Results:
    agents = [
        AgentInfo(
            id="smm",
            name="S.M.M.",
            kind="client",
            homologation="osm",
            engine="builtin",
            measurement="simulated",
        ),
        AgentInfo(
            id="openssl",
            name="OpenSSL",
            kind="library",
            homologation="none",
            engine="openssl",
            measurement="real-engine",
        ),
    ]
    run = RunInfo(
        seed=1,
        examples=1,
        started=STARTED,
        finished=FINISHED,
        validation_time=FINISHED,
        complete=True,
        suite_version="0.1.0",
        engines={"smm": SUITE_ENGINE, "openssl": TOOL},
    )
    return Results(run=run, agents=agents, cells=[], pairs=[])


def test_the_suite_engine_is_named_in_the_page_language() -> None:
    fr = ReportModel(_results(), Translator("fr")).engine_versions()
    assert fr == [("openssl", TOOL), ("smm", "moteur d'osm-conformance 0.1.0, profil smm")]
    en = ReportModel(_results(), Translator("en")).engine_versions()
    assert en == [("openssl", TOOL), ("smm", SUITE_ENGINE)]


def test_an_engine_version_of_another_shape_is_shown_as_written() -> None:
    results = _results()
    results.run.engines["smm"] = "osm-conformance 0.0.9 engine, profile smm"  # another suite
    fr = dict(ReportModel(results, Translator("fr")).engine_versions())
    assert fr["smm"] == "osm-conformance 0.0.9 engine, profile smm"


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_header_and_footer_write_the_run_dates_alike(lang: str, tmp_path: Path) -> None:
    index = render_report(_results(), tmp_path / lang, lang=lang)
    page = index.read_text(encoding="utf-8")
    header = page[page.index('<dl class="run-summary">') : page.index("</header>")]
    footer = page[page.index("<footer>") :]
    shown = '<time datetime="{0}">{1}</time>'
    started = shown.format(STARTED, STARTED.replace("T", " "))
    assert started in header and started in footer
    assert footer.count(shown.format(FINISHED, FINISHED.replace("T", " "))) == 2  # and validation
    assert not re.search(r">\d{4}-\d\d-\d\dT", page)  # no date printed in its ISO form
    english = "osm-conformance 0.1.0 engine, profile smm"
    assert (english in footer) == (lang == "en")
