"""`serve` writes the judgements and their summaries from the start: a session in which the
product sent nothing used to end naming OUT/summary.md, which did not exist (nor
summary.html, nor judged.json, which the start-up banner names too), and suggesting a
`vectors verify` of a received/ that held no manifest."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import cast

from conformance.agents.factory import close_agent, make_agent
from conformance.profiles.loader import load_profile
from conformance.serve.collect import Collector
from conformance.serve.judge import MEASUREMENT, Context, Judged
from conformance.serve.session import Running, farewell
from conformance.serve.summary import JUDGED_FILE, SUMMARY_HTML, SUMMARY_MD, markdown


def _judged(subject: str) -> Judged:
    return Judged(
        file="received/0001.eml",
        recipient="y@osm-test.example",
        recipient_identity=None,
        subject=subject,
        sender="x@osm-test.example",
        sender_identity=None,
        signed=False,
        encrypted=False,
        decrypted=False,
        readable=True,
        function=None,
        verdict="plain",
        reason=None,
    )


def _collector(out: Path) -> Collector:
    context = Context(
        identities={}, trust=(), crls=(), product=load_profile("nss"), inbox="x@osm-test.example"
    )
    return Collector(out, context, make_agent(load_profile("reference")))


def test_the_named_files_exist_and_say_nothing_arrived(tmp_path: Path) -> None:
    collector = _collector(tmp_path)
    try:
        for name in (JUDGED_FILE, SUMMARY_MD, SUMMARY_HTML):
            assert (tmp_path / name).is_file(), name
        data = json.loads((tmp_path / JUDGED_FILE).read_text(encoding="utf-8"))
        assert data["messages"] == [] and data["measurement"] == MEASUREMENT
        for name in (SUMMARY_MD, SUMMARY_HTML):
            text = (tmp_path / name).read_text(encoding="utf-8")
            assert "the product has sent none yet" in text, name
            assert "message(s) judged" not in text and "<table" not in text, name
    finally:
        collector.close()
        close_agent(collector.reader)


def test_an_earlier_sessions_judgements_are_kept(tmp_path: Path) -> None:
    earlier = _judged("hello")
    (tmp_path / JUDGED_FILE).write_text(
        json.dumps({"messages": [earlier.to_json()]}), encoding="utf-8"
    )
    collector = _collector(tmp_path)
    try:
        data = json.loads((tmp_path / JUDGED_FILE).read_text(encoding="utf-8"))
        assert [m["subject"] for m in data["messages"]] == ["hello"]
        assert "1 message(s) judged." in (tmp_path / SUMMARY_MD).read_text(encoding="utf-8")
    finally:
        collector.close()
        close_agent(collector.reader)


def test_a_summary_of_judged_messages_keeps_its_table() -> None:
    text = markdown([_judged("hello")], "nss")
    assert "1 message(s) judged.\n\n| message |" in text


def test_the_farewell_of_a_session_that_received_nothing(tmp_path: Path) -> None:
    """It names the summary (which exists) and no `vectors verify` of a received/ that has
    no manifest yet."""
    collector = SimpleNamespace(handled=0, judged=[], failures=[])
    running = SimpleNamespace(
        settings=SimpleNamespace(out=tmp_path),
        collector=collector,
        manifest=SimpleNamespace(product="nss"),
    )
    said = farewell(cast(Running, running))
    assert f"received 0 message(s) from the product; 0 judgement(s), 0 readable ({tmp_path}" in said
    assert "vectors verify" not in said
    collector.judged = [_judged("hello")]
    assert "vectors verify" in farewell(cast(Running, running))
